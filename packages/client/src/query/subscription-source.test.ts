import { describe, expect, it } from 'vitest';
import type { Row } from '@syncline/protocol';
import { Subscription } from '../store/subscription.ts';
import { createQuery } from './live-query.ts';
import { SUBSCRIPTION_TABLE, subscriptionSource } from './subscription-source.ts';
import { edit, FakeSource, tableOf } from './test-source.ts';

function liveSub(rows: Record<string, Row>): Subscription {
  const sub = new Subscription('s1', 'items_open', undefined, () => undefined);
  sub.restore(
    Object.entries(rows).map(([key, row]) => ({ key, row, version: 1 })),
    'c1',
  );
  return sub;
}

describe('a live query over a subscription', () => {
  it("shows the subscription's keys with the optimistic view's values, and re-runs only for its own changes", () => {
    const sub = liveSub({ a: { id: 'a', n: 1 }, b: { id: 'b', n: 2 } });
    const view = new FakeSource(
      new Map([
        ['public.item', tableOf({ a: { id: 'a', n: 1 }, b: { id: 'b', n: 2 }, z: { id: 'z', n: 9 } })],
        ['public.other', tableOf({ o: { id: 'o' } })],
      ]),
    );
    const known: { table?: string } = {};
    const q = createQuery(
      subscriptionSource(view, sub, () => known.table),
      SUBSCRIPTION_TABLE,
    ).orderBy('n');
    const results: Array<readonly Row[]> = [];
    q.subscribe((rows) => results.push(rows));
    // Before the table is known: the subscription's rows as stored.
    expect(results.at(-1)).toEqual([
      { id: 'a', n: 1 },
      { id: 'b', n: 2 },
    ]);

    known.table = 'item';
    view.set(edit(view.rows, 'item', {})); // same rows: nothing to tell
    // A pending update shows, a pending delete hides, a row of the table outside the subscription stays out.
    view.set(edit(edit(view.rows, 'public.item', { a: { id: 'a', n: 10 } }), 'public.item', { b: null }));
    expect(results.at(-1)).toEqual([{ id: 'a', n: 10 }]);
    const seen = results.length;
    view.set(edit(view.rows, 'public.other', { o: { id: 'o', x: 1 } }));
    view.set(edit(view.rows, 'public.item', { z: { id: 'z', n: 99 } }));
    expect(results).toHaveLength(seen); // another table, or a row it does not hold: no new result

    // The server moves a row in; it shows once the table view has it.
    sub.apply([{ subscription: 's1', op: 'insert', key: 'z', row: { id: 'z', n: 99 }, version: 1 }], 'c2');
    sub.emitChange('changes', []);
    expect(results.at(-1)).toEqual([
      { id: 'a', n: 10 },
      { id: 'z', n: 99 },
    ]);
  });
});
