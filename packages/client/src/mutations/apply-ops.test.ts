import { describe, expect, it } from 'vitest';
import type { WriteOp } from '@syncline/protocol';
import { applyOps, primaryKeyOf } from './apply-ops.ts';
import { baseRowsFrom, getRow, normaliseTable, toWrittenRows } from './table-rows.ts';

const ctx = { now: () => '2030-01-01T00:00:00.000Z' };
const base = baseRowsFrom([
  { table: 'public.order', key: 'o1', row: { id: 'o1', status: 'new', total: '10', version: 3 }, version: 3 },
  { table: 'public.user', key: 'u1', row: { id: 'u1', name: 'Alice', version: 1 }, version: 1 },
]);

describe('applyOps', () => {
  it('normalises bare table names to public', () => {
    expect(normaliseTable('order')).toBe('public.order');
    expect(normaliseTable('app.order')).toBe('app.order');
  });

  it('inserts with the key from the id column and version 0', () => {
    const view = applyOps(base, [{ type: 'insert', table: 'order', row: { id: 'o2', status: 'new' } }], ctx);
    expect(getRow(view, 'order', 'o2')).toEqual({ row: { id: 'o2', status: 'new' }, version: 0 });
    expect(getRow(base, 'order', 'o2')).toBeUndefined();
  });

  it('computes composite keys like the server', () => {
    const keyOf = primaryKeyOf({ 'public.member': ['team', 'user'] });
    const view = applyOps(base, [{ type: 'insert', table: 'member', row: { team: 't', user: 5 } }], { ...ctx, keyOf });
    expect(getRow(view, 'public.member', '["t",5]')).toBeDefined();
  });

  it('set, set-now, update and delete change a copy', () => {
    const ops: WriteOp[] = [
      { type: 'set', table: 'order', id: 'o1', key: 'status', value: 'accepted', expectedVersion: 99 },
      { type: 'set-now', table: 'public.order', id: 'o1', key: 'updated_at' },
      { type: 'update', table: 'order', id: 'o1', values: { total: '12', note: 'x' } },
      { type: 'delete', table: 'user', id: 'u1' },
    ];
    const view = applyOps(base, ops, ctx);
    expect(getRow(view, 'order', 'o1')).toEqual({
      row: { id: 'o1', status: 'accepted', total: '12', note: 'x', updated_at: ctx.now(), version: 3 },
      version: 3,
    });
    expect(getRow(view, 'user', 'u1')).toBeUndefined();
    expect(view.has('public.user')).toBe(false);
    // base untouched
    expect(getRow(base, 'order', 'o1')?.row['status']).toBe('new');
    expect(getRow(base, 'user', 'u1')).toBeDefined();
  });

  it('ops on unknown ids are no-ops and return the same view', () => {
    const ops: WriteOp[] = [
      { type: 'set', table: 'order', id: 'nope', key: 'status', value: 'x' },
      { type: 'update', table: 'order', id: 'nope', values: { a: 1 } },
      { type: 'set-now', table: 'order', id: 'nope', key: 'at' },
      { type: 'delete', table: 'ghost', id: 1 },
    ];
    expect(applyOps(base, ops, ctx)).toBe(base);
  });

  it('shares untouched tables', () => {
    const view = applyOps(base, [{ type: 'set', table: 'order', id: 'o1', key: 'status', value: 'a' }], ctx);
    expect(view.get('public.user')).toBe(base.get('public.user'));
    expect(view.get('public.order')).not.toBe(base.get('public.order'));
  });

  it('numeric ids match string keys', () => {
    const b = baseRowsFrom([{ table: 'public.t', key: '7', row: { id: 7, a: 1 }, version: 1 }]);
    const view = applyOps(b, [{ type: 'set', table: 't', id: 7, key: 'a', value: 2 }], ctx);
    expect(toWrittenRows(view)).toEqual([{ table: 'public.t', key: '7', row: { id: 7, a: 2 }, version: 1 }]);
  });
});
