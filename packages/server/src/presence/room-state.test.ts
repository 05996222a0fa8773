import { describe, expect, it } from 'vitest';
import { type MetaRecord, RoomState } from './room-state.ts';

const meta = (ref: string, sub: string, state: unknown = {}, node = 'n1'): MetaRecord => ({
  ref,
  sub,
  key: '',
  state: state as MetaRecord['state'],
  onlineAt: 1,
  node,
});

describe('RoomState', () => {
  it('lists users with one meta per connection, and diffs by ref', () => {
    const r = new RoomState('lobby');
    r.upsert(meta('a1', 'alice'));
    r.upsert(meta('a2', 'alice', { tab: 2 }));
    r.upsert(meta('b1', 'bob'));
    expect(r.state(10).members['alice']?.map((m) => m.ref)).toEqual(['a1', 'a2']);
    expect(r.takeDiff(10)).toMatchObject({ type: 'diff', message: { count: 2 } });
    r.upsert(meta('b1', 'bob', { typing: true }));
    r.remove('a2');
    expect(r.takeDiff(10)?.message).toEqual({
      room: 'lobby',
      joins: { bob: [{ ref: 'b1', state: { typing: true }, onlineAt: 1 }] },
      leaves: { alice: [{ ref: 'a2', state: { tab: 2 }, onlineAt: 1 }] },
      count: 2,
    });
    expect(r.takeDiff(10)).toBe(null);
  });

  it('a storm of joins and leaves between two flushes is one diff; a meta that came and went is not in it', () => {
    const r = new RoomState('lobby');
    r.upsert(meta('x', 'xena'));
    r.takeDiff(10);
    for (let i = 0; i < 100; i++) r.upsert(meta(`u${i}`, `user${i}`));
    for (let i = 0; i < 100; i++) r.remove(`u${i}`);
    r.upsert(meta('y', 'yan'));
    r.remove('x');
    r.upsert(meta('x', 'xena', { back: true }));
    const d = r.takeDiff(10)?.message as { joins: object; leaves: object };
    expect(Object.keys(d.joins).sort()).toEqual(['xena', 'yan']);
    expect(d.leaves).toEqual({});
  });

  it('past the cap: counts only, and the whole state again once under it', () => {
    const r = new RoomState('big');
    for (let i = 0; i < 3; i++) r.upsert(meta(`u${i}`, `user${i}`));
    expect(r.state(2)).toEqual({ room: 'big', members: {}, count: 3, truncated: true });
    expect(r.takeDiff(2)).toEqual({
      type: 'diff',
      message: { room: 'big', joins: {}, leaves: {}, count: 3, truncated: true },
    });
    r.remove('u2');
    expect(r.takeDiff(2)).toMatchObject({ type: 'state', message: { count: 2 } });
  });

  it('an upsert of the same state from the same node changes nothing', () => {
    const r = new RoomState('lobby');
    r.upsert(meta('a', 'alice', { s: 1 }));
    r.takeDiff(10);
    r.upsert(meta('a', 'alice', { s: 1 }));
    expect(r.takeDiff(10)).toBe(null);
  });
});
