import { describe, expect, it } from 'vitest';
import type { WriteOp, WrittenRow } from '@syncline/protocol';
import { PendingMutations } from '../mutations/pending-mutations.ts';
import { baseRowsFrom, getRow } from '../mutations/table-rows.ts';
import { inverseOps, UndoManager, type UndoState } from './undo-manager.ts';

const base = baseRowsFrom([
  { table: 'public.order', key: 'o1', row: { id: 'o1', status: 'new', note: 'n', version: 1 }, version: 1 },
]);

/** A tiny app: every mutation goes through pending and is recorded for undo. */
function app() {
  const pending = new PendingMutations({ base, now: () => 'NOW' });
  const undo = new UndoManager({ maxHistory: 3 });
  let id = 0;
  const submit = (body: { ops: WriteOp[] }) => {
    const viewBefore = pending.view();
    const mutationId = ++id;
    pending.add(mutationId, body);
    undo.record(mutationId, body.ops, viewBefore);
    return mutationId;
  };
  const confirm = (mutationId: number, rows: WrittenRow[]) => {
    pending.confirm(mutationId, rows);
    undo.confirmed(mutationId, rows);
  };
  const row = () => getRow(pending.view(), 'order', 'o1')?.row;
  return { pending, undo, submit, confirm, row };
}

describe('inverseOps', () => {
  it('inverts each op type from the state it changed, last op first', () => {
    const ops: WriteOp[] = [
      { type: 'insert', table: 'order', row: { id: 'o2', status: 'new' } },
      { type: 'set', table: 'order', id: 'o1', key: 'status', value: 'a' },
      { type: 'set', table: 'order', id: 'o1', key: 'status', value: 'b' },
      { type: 'set-now', table: 'order', id: 'o1', key: 'at' },
      { type: 'update', table: 'order', id: 'o1', values: { note: 'm', extra: 1 } },
      { type: 'delete', table: 'order', id: 'o1' },
      { type: 'set', table: 'order', id: 'ghost', key: 'a', value: 1 },
    ];
    expect(inverseOps(ops, base)).toEqual([
      { type: 'insert', table: 'order', row: { id: 'o1', status: 'b', note: 'm', extra: 1, at: null } },
      { type: 'update', table: 'order', id: 'o1', values: { note: 'n', extra: null } },
      { type: 'update', table: 'order', id: 'o1', values: { at: null } },
      { type: 'set', table: 'order', id: 'o1', key: 'status', value: 'a' },
      { type: 'set', table: 'order', id: 'o1', key: 'status', value: 'new' },
      { type: 'delete', table: 'order', id: 'o2' },
    ]);
  });
});

describe('UndoManager', () => {
  it('undo and redo round-trip through new mutations', () => {
    const a = app();
    const states: UndoState[] = [];
    a.undo.on('change', (s) => states.push(s));
    a.submit({ ops: [{ type: 'set', table: 'order', id: 'o1', key: 'status', value: 'a' }] });
    a.submit({ ops: [{ type: 'update', table: 'order', id: 'o1', values: { note: 'x' } }] });
    expect(a.row()).toMatchObject({ status: 'a', note: 'x' });
    const body = a.undo.undo(a.pending.view());
    a.submit(body!);
    expect(a.row()).toMatchObject({ status: 'a', note: 'n' });
    expect(a.undo.canRedo).toBe(true);
    a.submit(a.undo.undo(a.pending.view())!);
    expect(a.row()).toMatchObject({ status: 'new', note: 'n' });
    expect(a.undo.canUndo).toBe(false);
    a.submit(a.undo.redo(a.pending.view())!);
    expect(a.row()).toMatchObject({ status: 'a', note: 'n' });
    a.submit(a.undo.redo(a.pending.view())!);
    expect(a.row()).toMatchObject({ status: 'a', note: 'x' });
    expect(a.undo.canRedo).toBe(false);
    expect(a.undo.redo(a.pending.view())).toBeUndefined();
    expect(states[0]).toEqual({ canUndo: true, canRedo: false });
  });

  it('a new local mutation clears redo', () => {
    const a = app();
    a.submit({ ops: [{ type: 'set', table: 'order', id: 'o1', key: 'status', value: 'a' }] });
    a.submit(a.undo.undo(a.pending.view())!);
    expect(a.undo.canRedo).toBe(true);
    a.submit({ ops: [{ type: 'set', table: 'order', id: 'o1', key: 'status', value: 'c' }] });
    expect(a.undo.canRedo).toBe(false);
    expect(a.undo.canUndo).toBe(true);
  });

  it('insert and delete undo each other', () => {
    const a = app();
    a.submit({ ops: [{ type: 'delete', table: 'order', id: 'o1' }] });
    expect(a.row()).toBeUndefined();
    a.submit(a.undo.undo(a.pending.view())!);
    expect(a.row()).toEqual({ id: 'o1', status: 'new', note: 'n' });
    a.submit(a.undo.redo(a.pending.view())!);
    expect(a.row()).toBeUndefined();
  });

  it('keeps at most maxHistory entries, dropping the oldest', () => {
    const a = app();
    for (const v of ['1', '2', '3', '4'])
      a.submit({ ops: [{ type: 'set', table: 'order', id: 'o1', key: 'status', value: v }] });
    for (let i = 0; i < 3; i++) a.submit(a.undo.undo(a.pending.view())!);
    expect(a.row()?.['status']).toBe('1');
    expect(a.undo.canUndo).toBe(false);
  });

  it('undo expects the version its mutation produced, so a foreign change since answers 409', () => {
    const a = app();
    const id = a.submit({ ops: [{ type: 'set', table: 'order', id: 'o1', key: 'status', value: 'a' }] });
    a.confirm(id, [
      { table: 'public.order', key: 'o1', row: { id: 'o1', status: 'a', note: 'n', version: 2 }, version: 2 },
    ]);
    const body = a.undo.undo(a.pending.view());
    expect(body?.ops).toEqual([
      { type: 'set', table: 'order', id: 'o1', key: 'status', value: 'new', expectedVersion: 2 },
    ]);
  });

  it('only the first inverse op of a row carries expectedVersion; unconfirmed mutations carry none', () => {
    const a = app();
    const id = a.submit({
      ops: [
        { type: 'set', table: 'order', id: 'o1', key: 'status', value: 'a' },
        { type: 'set', table: 'order', id: 'o1', key: 'note', value: 'b' },
      ],
    });
    const v = (status: string, note: string, version: number): WrittenRow => ({
      table: 'public.order',
      key: 'o1',
      row: { id: 'o1', status, note, version },
      version,
    });
    a.confirm(id, [v('a', 'n', 2), v('a', 'b', 3)]);
    const ops = a.undo.undo(a.pending.view())!.ops;
    expect(ops.map((o) => ('expectedVersion' in o ? o.expectedVersion : undefined))).toEqual([3, undefined]);
    a.submit({ ops });
    // the undo is still pending: redo has no version to expect
    expect(a.undo.redo(a.pending.view())!.ops.every((o) => !('expectedVersion' in o))).toBe(true);
  });

  it('a rejected mutation leaves the undo stack', () => {
    const a = app();
    const id = a.submit({ ops: [{ type: 'set', table: 'order', id: 'o1', key: 'status', value: 'a' }] });
    a.undo.rejected(id);
    expect(a.undo.canUndo).toBe(false);
  });
});
