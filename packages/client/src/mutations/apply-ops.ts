/**
 * Applies write ops to a view of rows, locally and optimistically, the way the
 * server would: copy-on-write (the input is never changed; untouched tables
 * are shared). Deliberate differences from the server, which answers anyway:
 *
 * - `set`/`set-now`/`update`/`delete` of a row the view does not hold are no-ops;
 * - `expectedVersion` is not checked (a stale one comes back as a 409 and rolls back);
 * - an `insert` over an existing key replaces the row (the server will refuse it
 *   with a unique violation, and the rollback restores the row);
 * - versions do not move: an updated row keeps its base version, an inserted one
 *   has version 0 until the server's row replaces it.
 */
import type { JsonValue, Row, WriteOp } from '@syncline/protocol';
import { keyOfId, normaliseTable, RowsEditor, type BaseRows } from './table-rows.ts';

export interface ApplyContext {
  /** The value `set-now` writes in the view (the server uses its own `now()`). */
  now(): JsonValue;
  /** The key of an inserted row; default `String(row.id)` (see `primaryKeyOf`). Undefined skips the insert. */
  keyOf?: KeyOf;
}

export type KeyOf = (table: string, row: Readonly<Record<string, unknown>>) => string | undefined;

/** The server's key rule: the single primary key column's text, or a JSON array for composite keys. */
export function primaryKeyOf(primaryKeys: Readonly<Record<string, readonly string[]>> = {}): KeyOf {
  return (table, row) => {
    const pk = primaryKeys[normaliseTable(table)] ?? primaryKeys[table] ?? ['id'];
    if (pk.length === 1) {
      const v = row[pk[0] as string];
      return v === undefined || v === null ? undefined : String(v as string | number);
    }
    return JSON.stringify(pk.map((c) => row[c] ?? null));
  };
}

export const defaultKeyOf: KeyOf = primaryKeyOf();

/** The table and key an op targets (inserts: from the row via keyOf). */
export function opTarget(op: WriteOp, keyOf: KeyOf = defaultKeyOf): { table: string; key: string } | undefined {
  const table = normaliseTable(op.table);
  if (op.type === 'insert') {
    const key = keyOf(table, op.row);
    return key === undefined ? undefined : { table, key };
  }
  return { table, key: keyOfId(op.id) };
}

export function applyOps(view: BaseRows, ops: readonly WriteOp[], ctx: ApplyContext): BaseRows {
  const edit = new RowsEditor(view);
  for (const op of ops) applyOp(edit, op, ctx);
  return edit.done();
}

/** One op onto an editor; exported for callers that need the state between ops (undo). */
export function applyOp(edit: RowsEditor, op: WriteOp, ctx: ApplyContext): void {
  const target = opTarget(op, ctx.keyOf);
  if (!target) return;
  const { table, key } = target;
  if (op.type === 'insert') {
    edit.set(table, key, { row: { ...(op.row as Row) }, version: 0 });
    return;
  }
  const current = edit.get(table, key);
  if (!current) return; // unknown row: the server will answer (404 rolls back)
  switch (op.type) {
    case 'delete':
      edit.delete(table, key);
      return;
    case 'set':
      edit.set(table, key, { row: { ...current.row, [op.key]: op.value as JsonValue }, version: current.version });
      return;
    case 'set-now':
      edit.set(table, key, { row: { ...current.row, [op.key]: ctx.now() }, version: current.version });
      return;
    case 'update':
      edit.set(table, key, { row: { ...current.row, ...(op.values as Row) }, version: current.version });
      return;
  }
}
