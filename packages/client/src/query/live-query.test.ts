import type { Row } from '@syncline/protocol';
import { describe, expect, it, vi } from 'vitest';
import { createQuery } from './live-query.ts';
import { edit, FakeSource, tableOf } from './test-source.ts';

interface Order extends Row {
  id: number;
  status: string;
  total: number;
}

const o = (id: number, status: string, total: number): Order => ({ id, status, total });

function setup() {
  const orders = tableOf({
    '1': o(1, 'open', 30),
    '2': o(2, 'done', 10),
    '3': o(3, 'open', 20),
    '4': o(4, 'open', 20),
  });
  const users = tableOf({ u1: { id: 'u1', name: 'Ann' } });
  const source = new FakeSource(
    new Map([
      ['public.order', orders],
      ['public.user', users],
    ]),
  );
  return { source };
}

const ids = (rows: readonly Row[]): unknown[] => rows.map((r) => r['id']);

describe('createQuery: one-off', () => {
  it('returns the table (normalised name) in key order', () => {
    const { source } = setup();
    expect(ids(createQuery(source, 'order').run())).toEqual([1, 2, 3, 4]);
    expect(ids(createQuery(source, 'public.order').run())).toEqual([1, 2, 3, 4]);
    expect(createQuery(source, 'missing').run()).toEqual([]);
  });

  it('chains where (AND), orderBy, limit; results are frozen', () => {
    const { source } = setup();
    const q = createQuery<Order>(source, 'order')
      .where((r) => r.status === 'open')
      .where((r) => r.total >= 20);
    expect(ids(q.run())).toEqual([1, 3, 4]);
    expect(ids(q.orderBy('total').run())).toEqual([3, 4, 1]);
    expect(ids(q.orderBy('total', 'desc').run())).toEqual([1, 3, 4]);
    expect(ids(q.orderBy('total').limit(2).run())).toEqual([3, 4]);
    expect(q.limit(0).run()).toEqual([]);
    expect(Object.isFrozen(q.run())).toBe(true);
    expect(() => (q.run() as Order[]).push(o(9, 'x', 0))).toThrow(TypeError);
  });

  it('builders are immutable', () => {
    const { source } = setup();
    const all = createQuery<Order>(source, 'order');
    all.where((r) => r.status === 'done').limit(1);
    expect(ids(all.run())).toEqual([1, 2, 3, 4]);
  });

  it('breaks ties by later orderBy terms, then by key (numeric keys numerically)', () => {
    const source = new FakeSource(
      new Map([['public.t', tableOf({ '10': { id: 10, v: 1 }, '9': { id: 9, v: 1 }, '2': { id: 2, v: 0 } })]]),
    );
    expect(ids(createQuery(source, 't').orderBy('v').run())).toEqual([2, 9, 10]);
    expect(ids(createQuery(source, 't').orderBy('v', 'desc').run())).toEqual([9, 10, 2]);
    expect(ids(createQuery(source, 't').orderBy('v', 'desc').orderBy('id', 'desc').run())).toEqual([10, 9, 2]);
    const byFn = createQuery<{ id: number; v: number }>(source, 't').orderBy((a, b) => a.v - b.v, 'desc');
    expect(ids(byFn.run())).toEqual([9, 10, 2]);
  });

  it('sorts nulls and missing columns last ascending, mixed types deterministically', () => {
    const source = new FakeSource(
      new Map([
        [
          'public.t',
          tableOf({ a: { id: 'a', v: null }, b: { id: 'b' }, c: { id: 'c', v: 'x' }, d: { id: 'd', v: 3 } }),
        ],
      ]),
    );
    expect(ids(createQuery(source, 't').orderBy('v').run())).toEqual(['d', 'c', 'a', 'b']);
    expect(ids(createQuery(source, 't').orderBy('v', 'desc').run())).toEqual(['b', 'a', 'c', 'd']);
  });

  it('rejects bad limits', () => {
    const { source } = setup();
    expect(() => createQuery(source, 'order').limit(-1)).toThrow(RangeError);
    expect(() => createQuery(source, 'order').limit(1.5)).toThrow(RangeError);
  });
});

describe('createQuery: live', () => {
  function live() {
    const { source } = setup();
    const pred = vi.fn((r: Order) => r.status === 'open');
    const q = createQuery<Order>(source, 'order').where(pred).orderBy('total').limit(2);
    const seen: (readonly Order[])[] = [];
    const off = q.subscribe((rows) => seen.push(rows));
    return { source, pred, q, seen, off };
  }

  it('delivers the initial result at once', () => {
    const { seen, q } = live();
    expect(seen.map(ids)).toEqual([[3, 4]]);
    expect(q.current).toBe(seen[0]);
    expect(Object.isFrozen(q.current)).toBe(true);
  });

  it('does no work when another table changes', () => {
    const { source, pred, seen } = live();
    pred.mockClear();
    source.set(edit(source.rows, 'public.user', { u2: { id: 'u2', name: 'Bob' } }));
    source.set(source.rows); // same view fired again
    expect(pred).not.toHaveBeenCalled();
    expect(seen).toHaveLength(1);
  });

  it('re-filters only the changed rows and does not notify when the result is unchanged', () => {
    const { source, pred, seen, q } = live();
    const before = q.current;
    pred.mockClear();
    source.set(edit(source.rows, 'public.order', { '2': o(2, 'done', 5) })); // non-matching row stays out
    source.set(edit(source.rows, 'public.order', { '1': o(1, 'open', 40) })); // matching, but beyond the limit
    expect(pred).toHaveBeenCalledTimes(2);
    expect(seen).toHaveLength(1);
    expect(q.current).toBe(before);
  });

  it('notifies when a shown row changes, a row enters or leaves the filter, or a row is deleted', () => {
    const { source, seen } = live();
    source.set(edit(source.rows, 'public.order', { '3': o(3, 'open', 25) })); // shown row changes, reorders
    expect(seen.map(ids).at(-1)).toEqual([4, 3]);
    expect(seen.at(-1)?.[1]?.total).toBe(25);
    source.set(edit(source.rows, 'public.order', { '2': o(2, 'open', 1) })); // enters
    expect(seen.map(ids).at(-1)).toEqual([2, 4]);
    source.set(edit(source.rows, 'public.order', { '2': o(2, 'done', 1) })); // leaves
    expect(seen.map(ids).at(-1)).toEqual([4, 3]);
    source.set(edit(source.rows, 'public.order', { '4': null })); // deleted
    expect(seen.map(ids).at(-1)).toEqual([3, 1]);
    source.set(edit(source.rows, 'public.order', { '5': o(5, 'open', 20) })); // inserted, tie on total → by key
    expect(seen.map(ids).at(-1)).toEqual([5, 3]);
    expect(seen).toHaveLength(6);
  });

  it('a new VersionedRow holding the same row object changes nothing', () => {
    const { source, seen } = live();
    const t = new Map(source.rows.get('public.order'));
    const v = t.get('3');
    if (!v) throw new Error('fixture');
    t.set('3', { row: v.row, version: v.version + 1 });
    source.set(new Map(source.rows).set('public.order', t));
    expect(seen).toHaveLength(1);
  });

  it('handles the table appearing and disappearing', () => {
    const { source, seen } = live();
    const without = new Map(source.rows);
    without.delete('public.order');
    source.set(without);
    expect(seen.at(-1)).toEqual([]);
    source.set(edit(without, 'public.order', { '7': o(7, 'open', 1) }));
    expect(seen.map(ids).at(-1)).toEqual([7]);
  });

  it('shares one source listener among subscribers and removes it after the last leaves', () => {
    const { source, q, seen, off } = live();
    const other: unknown[][] = [];
    const off2 = q.subscribe((rows) => other.push(ids(rows)));
    expect(other).toEqual([[3, 4]]);
    expect(source.listeners.size).toBe(1);
    off();
    off(); // idempotent
    expect(source.listeners.size).toBe(1);
    source.set(edit(source.rows, 'public.order', { '4': null }));
    expect(seen).toHaveLength(1);
    expect(other).toEqual([
      [3, 4],
      [3, 1],
    ]);
    off2();
    expect(source.listeners.size).toBe(0);
  });

  it('current follows the view when nobody is subscribed', () => {
    const { source, q, off } = live();
    off();
    source.set(edit(source.rows, 'public.order', { '4': null }));
    expect(ids(q.current)).toEqual([3, 1]);
  });

  it('a listener that throws on the initial call is not left subscribed', () => {
    const { source } = setup();
    const q = createQuery(source, 'order');
    expect(() =>
      q.subscribe(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(source.listeners.size).toBe(0);
  });

  it('recovers after a predicate throws', () => {
    const { source } = setup();
    let fail = false;
    const q = createQuery<Order>(source, 'order').where((r) => {
      if (fail && r.id === 9) throw new Error('bad row');
      return r.status === 'open';
    });
    const seen: unknown[][] = [];
    q.subscribe((rows) => seen.push(ids(rows)));
    fail = true;
    expect(() => source.set(edit(source.rows, 'public.order', { '9': o(9, 'open', 1) }))).toThrow('bad row');
    fail = false;
    source.set(edit(source.rows, 'public.order', { '8': o(8, 'open', 1) }));
    expect(seen.at(-1)).toEqual([1, 3, 4, 8, 9]);
  });
});
