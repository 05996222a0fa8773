import { describe, expect, it } from 'vitest';
import type { Change } from '@syncline/protocol';
import { Subscription } from './subscription.ts';

const cur = (n: number) => `0/${n.toString(16).padStart(8, '0')}`;
const row = (key: string, n: number) => ({ key, row: { id: key, n }, version: n });
const own = (key: string, n: number): Change => ({
  collection: 's',
  op: 'update',
  key,
  row: { id: key, n },
  version: n,
});

function live(): Subscription {
  const sub = new Subscription('s', 'items', undefined, () => undefined);
  sub.receiveSnapshot({ subscription: 's', rows: [row('k', 1)], cursor: cur(10), done: true });
  return sub;
}

describe('own rows that come with the answer', () => {
  it('are dropped when the stream changed the row after the message that covered them', () => {
    const sub = live();
    sub.expectOwn('k'); // covered by an ack at 11
    sub.apply([{ collection: 's', op: 'delete', key: 'k', row: null, version: 2 }], cur(12));
    expect(sub.applyOwn(own('k', 2), cur(11))).toBe(false);
    expect(sub.get('k')).toBeUndefined();
    // Nothing awaited any more: a later own row is judged by versions alone.
    expect(sub.applyOwn(own('k', 1), cur(13))).toBe(true);
  });

  it("a server snapshot after the cover supersedes the answer; a copy that is not the server's does not", () => {
    const sub = live();
    sub.expectOwn('k');
    sub.receiveSnapshot({ subscription: 's', rows: [], cursor: cur(12), done: true }); // server: deleted since
    expect(sub.applyOwn(own('k', 2), cur(11))).toBe(false);
    expect(sub.rows()).toEqual([]);

    const follower = live();
    follower.expectOwn('k');
    follower.restore([row('k', 1)], cur(12)); // the leading tab's copy: it awaits the row too
    expect(follower.replicateOwn('k', own('k', 2), true)).toBe(true); // the leader placed it: so do we
    expect(follower.get('k')).toEqual({ id: 'k', n: 2 });
    expect(follower.replicateOwn('k', own('k', 3), false)).toBe(false); // the leader dropped it: so do we
    expect(follower.get('k')).toEqual({ id: 'k', n: 2 });
  });
});
