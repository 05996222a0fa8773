import { describe, expect, it } from 'vitest';
import type { WrittenRow } from '@syncline/protocol';
import { PendingMutations, type RejectedEvent } from './pending-mutations.ts';
import { baseRowsFrom, getRow, type BaseRows } from './table-rows.ts';

const order = (status: string, version: number, extra: Record<string, string> = {}): WrittenRow => ({
  table: 'public.order',
  key: 'o1',
  row: { id: 'o1', status, ...extra, version },
  version,
});

function setup() {
  const pending = new PendingMutations({ base: baseRowsFrom([order('new', 1)]), now: () => 'NOW' });
  return pending;
}

const status = (view: BaseRows) => getRow(view, 'order', 'o1')?.row['status'];

describe('PendingMutations', () => {
  it('view = base + pending ops, memoised', () => {
    const p = setup();
    p.add(1, { ops: [{ type: 'set', table: 'order', id: 'o1', key: 'status', value: 'accepted' }] });
    const v = p.view();
    expect(status(v)).toBe('accepted');
    expect(p.view()).toBe(v);
    expect(status(p.base)).toBe('new');
  });

  it('replays in mutationId order even when added out of order', () => {
    const p = setup();
    p.add(2, { ops: [{ type: 'set', table: 'order', id: 'o1', key: 'status', value: 'second' }] });
    p.add(1, { ops: [{ type: 'set', table: 'order', id: 'o1', key: 'status', value: 'first' }] });
    expect(p.mutations.map((m) => m.mutationId)).toEqual([1, 2]);
    expect(status(p.view())).toBe('second');
    expect(() => p.add(1, { ops: [] })).toThrow();
  });

  it('rebases: a server change under a pending mutation keeps the local op on top', () => {
    const p = setup();
    p.add(1, { ops: [{ type: 'set', table: 'order', id: 'o1', key: 'status', value: 'accepted' }] });
    p.applyServerRows([order('new', 2, { title: 'Books' })]);
    expect(getRow(p.view(), 'order', 'o1')).toEqual({
      row: { id: 'o1', status: 'accepted', title: 'Books', version: 2 },
      version: 2,
    });
    p.confirm(1, [order('accepted', 3, { title: 'Books' })]);
    expect(p.size).toBe(0);
    expect(p.view()).toBe(p.base);
    expect(getRow(p.view(), 'order', 'o1')).toEqual({ row: order('accepted', 3, { title: 'Books' }).row, version: 3 });
  });

  it('an older answer never overwrites a newer streamed row', () => {
    const p = setup();
    p.add(1, { ops: [{ type: 'set', table: 'order', id: 'o1', key: 'status', value: 'accepted' }] });
    p.applyServerRows([order('cancelled', 3)]); // someone else wrote after us, stream got here first
    p.confirm(1, [order('accepted', 2)]);
    expect(status(p.view())).toBe('cancelled');
    expect(getRow(p.base, 'order', 'o1')?.version).toBe(3);
  });

  it('a late stream row older than the answer is skipped', () => {
    const p = setup();
    p.add(1, { ops: [{ type: 'set', table: 'order', id: 'o1', key: 'status', value: 'accepted' }] });
    p.confirm(1, [order('accepted', 3)]);
    p.applyServerRows([order('other', 2)]);
    expect(status(p.view())).toBe('accepted');
  });

  it('a streamed delete is not undone by a late answer (tombstone)', () => {
    const p = setup();
    p.add(1, { ops: [{ type: 'insert', table: 'order', row: { id: 'o9', status: 'new' } }] });
    p.add(2, { ops: [{ type: 'set', table: 'order', id: 'o1', key: 'status', value: 'x' }] });
    p.applyServerRows([{ table: 'public.order', key: 'o9', row: null, version: 1 }]);
    p.applyServerRows([{ table: 'public.order', key: 'o1', row: null, version: 1 }]);
    p.confirm(1, [{ table: 'public.order', key: 'o9', row: { id: 'o9', status: 'new', version: 1 }, version: 1 }]);
    p.confirm(2, [order('x', 2)]);
    expect(getRow(p.view(), 'order', 'o9')).toBeUndefined();
    expect(getRow(p.view(), 'order', 'o1')).toEqual({ row: order('x', 2).row, version: 2 });
  });

  it('no flicker: an observer never sees the old value between optimistic and confirmed', () => {
    const p = setup();
    const seen: unknown[] = [];
    p.on('change', () => seen.push(status(p.view())));
    p.add(1, { ops: [{ type: 'set', table: 'order', id: 'o1', key: 'status', value: 'accepted' }] });
    p.acknowledge([{ clientId: 'c1', mutationId: 1 }], 'c1'); // ack first: no rows yet, stays on screen
    expect(p.get(1)?.status).toBe('acknowledged');
    expect(status(p.view())).toBe('accepted');
    p.applyServerRows([order('new', 2, { title: 'unrelated' })]);
    p.confirm(1, [order('accepted', 3, { title: 'unrelated' })]);
    expect(seen).toEqual(['accepted', 'accepted', 'accepted']);
    expect(seen).not.toContain('new');
  });

  it('rejection rolls back, rebases later mutations and emits the event with current', () => {
    const p = setup();
    const rejected: RejectedEvent[] = [];
    p.on('rejected', (e) => rejected.push(e));
    p.add(1, {
      ops: [{ type: 'set', table: 'order', id: 'o1', key: 'status', value: 'accepted', expectedVersion: 1 }],
    });
    p.add(2, { ops: [{ type: 'set', table: 'order', id: 'o1', key: 'note', value: 'hi' }] });
    const current = order('cancelled', 4);
    p.reject(1, { status: 409, code: 'CONFLICT', message: 'stale' }, current);
    expect(rejected).toEqual([
      { mutationId: 1, body: expect.anything(), error: { status: 409, code: 'CONFLICT', message: 'stale' }, current },
    ]);
    expect(getRow(p.view(), 'order', 'o1')?.row).toEqual({ id: 'o1', status: 'new', note: 'hi', version: 1 });
    p.applyServerRows([current]); // the stream brings the real row
    expect(getRow(p.view(), 'order', 'o1')?.row).toEqual({ id: 'o1', status: 'cancelled', note: 'hi', version: 4 });
  });

  it('mutators show their registered prediction, recomputed on rebase', () => {
    const p = setup();
    p.registerMutator('orders.bump', (view, args) => {
      const cur = getRow(view, 'order', 'o1');
      return cur
        ? [
            {
              type: 'set',
              table: 'order',
              id: 'o1',
              key: 'status',
              value: `${String(cur.row['status'])}+${String(args)}`,
            },
          ]
        : [];
    });
    p.add(1, { mutator: 'orders.bump', args: 'a' });
    p.add(2, { mutator: 'unknown', args: 1 });
    expect(status(p.view())).toBe('new+a');
    p.applyServerRows([order('shipped', 2)]);
    expect(status(p.view())).toBe('shipped+a');
  });

  it('set-now shows one value per mutation across replays', () => {
    let t = 0;
    const p = new PendingMutations({ base: baseRowsFrom([order('new', 1)]), now: () => `t${++t}` });
    p.add(1, { ops: [{ type: 'set-now', table: 'order', id: 'o1', key: 'at' }] });
    const at = getRow(p.view(), 'order', 'o1')?.row['at'];
    p.applyServerRows([order('new', 2)]);
    expect(getRow(p.view(), 'order', 'o1')?.row['at']).toBe(at);
  });

  it('orders the answer against the stream by cursor, even when a key is re-inserted', () => {
    const c = (n: number) => '0e2cfb40' + n.toString(16).padStart(16, '0');
    const p = setup();
    p.add(1, { ops: [{ type: 'set', table: 'order', id: 'o1', key: 'status', value: 'mine' }] });
    // server order: ours (c10, v2), foreign delete (c20), foreign re-insert (c30, v1)
    p.applyServerRows([{ table: 'public.order', key: 'o1', row: null, version: 2 }], c(20));
    p.applyServerRows([order('again', 1)], c(30));
    p.confirm(1, [order('mine', 2)], c(10)); // a late answer: older than what the stream brought
    expect(getRow(p.view(), 'order', 'o1')).toEqual({ row: order('again', 1).row, version: 1 });

    const q = setup();
    q.add(1, { ops: [{ type: 'set', table: 'order', id: 'o1', key: 'status', value: 'mine' }] });
    q.confirm(1, [order('mine', 2)], c(10)); // the answer overtook the stream
    q.applyServerRows([order('older', 2)], c(5)); // a change from before ours, delivered late
    q.acknowledge([{ clientId: 'c1', mutationId: 1 }], 'c1', c(10));
    expect(status(q.view())).toBe('mine');
    q.applyServerRows([order('later', 3)], c(11));
    expect(status(q.view())).toBe('later');
  });
});
