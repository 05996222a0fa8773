import type { Change, WrittenRow } from '@syncline/protocol';
import { describe, expect, it } from 'vitest';
import { Subscription } from '../store/subscription.ts';
import { OwnRows } from './own-rows.ts';

const cur = (n: number) => `0/${n.toString(16).padStart(8, '0')}`;
const row = (key: string, n: number) => ({ key, row: { id: key, n }, version: n });
const answer = (key: string, n: number): WrittenRow => ({ table: 'public.item', key, row: { id: key, n }, version: n });

/** A tracker over one live subscription `s` (holding k at version 1); placements go into it. */
function setup() {
  const placed: Array<{ key: string; change: Change | undefined; fresh: boolean; applied: boolean }> = [];
  const target: { sub?: Subscription } = {};
  const own = new OwnRows('c1', {
    tableOf: () => 'public.item',
    place: (_id, key, change, fresh) => {
      const applied = change !== undefined && fresh && target.sub?.applyOwn(change) === true;
      placed.push({ key, change, fresh, applied });
    },
  });
  const sub = (target.sub = new Subscription('s', 'items', undefined, () => undefined, own));
  sub.receiveSnapshot({ subscription: 's', rows: [row('k', 1)], cursor: cur(10), done: true });
  const coverUpdate = (cursor: number, mutationId = 1) =>
    own.streamMessage({
      cursor: cur(cursor),
      mutations: [{ clientId: 'c1', mutationId }],
      covered: [{ subscription: 's', op: 'update', key: 'k', version: 2 }],
    });
  return { own, sub, placed, coverUpdate };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('own rows that come with the answer', () => {
  it('land in the subscription once the answer is here, and the store is held for them until then', async () => {
    const { own, sub, placed, coverUpdate } = setup();
    coverUpdate(11);
    expect(own.holding.has('s')).toBe(true);
    await settle();
    expect(placed).toEqual([]); // the answer is still on its way
    own.answered(1, [answer('k', 2)]);
    await settle();
    expect(placed.map((p) => p.applied)).toEqual([true]);
    expect(sub.get('k')).toEqual({ id: 'k', n: 2 });
    expect(own.landed('s')).toBe('release');
    expect(own.holding.has('s')).toBe(false);
  });

  it('an answer that came first is kept for the cover that follows it', async () => {
    const { own, sub, coverUpdate } = setup();
    own.answered(1, [answer('k', 2)]);
    coverUpdate(11);
    await settle();
    expect(sub.get('k')).toEqual({ id: 'k', n: 2 });
  });

  it('are dropped when the stream changed the row after the message that covered them', async () => {
    const { own, sub, placed, coverUpdate } = setup();
    coverUpdate(11);
    sub.apply([{ subscription: 's', op: 'delete', key: 'k', row: null, version: 2 }], cur(12));
    own.answered(1, [answer('k', 2)]);
    await settle();
    expect(placed.map((p) => [p.fresh, p.applied])).toEqual([[false, false]]);
    expect(sub.get('k')).toBeUndefined();
  });

  it("a server snapshot after the cover supersedes the answer; a copy that is not the server's does not", async () => {
    const server = setup();
    server.coverUpdate(11);
    server.sub.receiveSnapshot({ subscription: 's', rows: [], cursor: cur(12), done: true }); // deleted since
    server.own.answered(1, [answer('k', 2)]);
    await settle();
    expect(server.placed.map((p) => p.applied)).toEqual([false]);
    expect(server.sub.rows()).toEqual([]);

    const copy = setup();
    copy.coverUpdate(11);
    copy.sub.restore([row('k', 1)], cur(12)); // the leading tab's copy: it awaits the row too
    copy.own.answered(1, [answer('k', 2)]);
    await settle();
    expect(copy.placed.map((p) => p.applied)).toEqual([true]);
  });

  it('a follower places nothing itself, and takes over what the leader still awaited', async () => {
    const leader = setup();
    leader.coverUpdate(11);
    leader.sub.apply([{ subscription: 's', op: 'update', key: 'k', row: { id: 'k', n: 5 }, version: 5 }], cur(13));
    const copy = leader.own.awaitedFor('s');
    expect(copy.awaited).toHaveLength(1);
    expect(copy.touched).toEqual({ k: cur(13) });

    const follower = setup();
    follower.own.follow();
    follower.own.adopt('s', copy.awaited, copy.touched);
    await settle();
    expect(follower.placed).toEqual([]);
    // The leader went away before the answer: we hold the store for it, and place it when our
    // outbox gets the answer; the stream's later change (which the leader saw) still wins.
    expect(follower.own.lead(['s'])).toEqual([]);
    follower.own.answered(1, [answer('k', 2)]);
    await settle();
    expect(follower.placed.map((p) => [p.fresh, p.applied])).toEqual([[false, false]]);
    expect(follower.own.landed('s')).toBe('whole');
  });

  it('forgets everything of a subscription that is gone', async () => {
    const { own, placed, coverUpdate } = setup();
    coverUpdate(11);
    own.forget('s');
    own.answered(1, [answer('k', 2)]);
    await settle();
    expect(placed).toEqual([]);
    expect(own.holding.size).toBe(0);
    expect(own.awaitedFor('s')).toEqual({ awaited: [], touched: {} });
  });
});
