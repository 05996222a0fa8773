/**
 * One write op inside the mutation's transaction. Rows are locked and read
 * before they change, so `expectedVersion` and the write rules see the row as
 * it is; every statement is parameterised (identifiers come from the catalog).
 */
import type pg from 'pg';
import type { Row, WriteOp, WrittenRow } from '@syncline/protocol';
import { wireTypes } from '../capture/pg-values.ts';
import type { Identity } from '../auth/token-verifier.ts';
import { SynclineError } from '../util/errors.ts';
import { quoteIdent, quoteTable } from '../util/quote-ident.ts';
import type { TableWriter } from './write-rules.ts';
import { encodeValue, keyValues, opError, type WriteValueLimits } from './write-values.ts';

export interface OpContext {
  client: pg.PoolClient;
  identity: Identity;
  limits: WriteValueLimits;
}

export async function applyOp(ctx: OpContext, writer: TableWriter, op: WriteOp, i: number): Promise<WrittenRow> {
  const { table } = writer;
  const t = quoteTable(table.qualified);
  if (op.type === 'insert') {
    if (!writer.allows('insert')) throw opError('FORBIDDEN', i, `inserts into ${table.qualified} are not allowed`);
    const cols = Object.keys(op.row);
    if (cols.length === 0) throw opError('BAD_REQUEST', i, 'row has no columns', 'row');
    const values = cols.map((c) => {
      const v = encodeValue(table, i, c, op.row[c], ctx.limits);
      if (!writer.writable.has(c)) throw opError('FORBIDDEN', i, `column "${c}" may not be written`, c);
      return v;
    });
    const sql = `INSERT INTO ${t} (${cols.map(quoteIdent).join(', ')}) VALUES (${cols.map((_, n) => `$${n + 1}`).join(', ')}) RETURNING *`;
    const row = (await ctx.client.query<Row>({ text: sql, values, types: wireTypes })).rows[0] as Row;
    if (!writer.admits('insert', ctx.identity, row, null))
      throw opError('FORBIDDEN', i, `not allowed to insert this row into ${table.qualified}`);
    return written(writer, row);
  }

  const kind = op.type === 'delete' ? 'delete' : 'update';
  if (!writer.allows(kind)) throw opError('FORBIDDEN', i, `${kind}s of ${table.qualified} are not allowed`);
  const key = keyValues(table, i, op.id, ctx.limits);
  const where = table.primaryKey.map((c, n) => `${quoteIdent(c)} = $${n + 1}`).join(' AND ');
  const oldRows = await ctx.client.query<Row>({
    text: `SELECT * FROM ${t} WHERE ${where} FOR UPDATE`,
    values: key,
    types: wireTypes,
  });
  const old = oldRows.rows[0];
  if (!old) throw opError('NOT_FOUND', i, `no row ${JSON.stringify(op.id)} in ${table.qualified}`, 'id');
  if (op.expectedVersion !== undefined && Number(old['version']) !== op.expectedVersion) {
    throw new SynclineError(
      'CONFLICT',
      `op ${i}: ${table.qualified} ${JSON.stringify(op.id)} is at version ${String(old['version'])}, not ${op.expectedVersion}`,
      {
        details: { op: i },
        body: { current: { table: table.qualified, ...rowOf(writer, old) } },
      },
    );
  }

  if (op.type === 'delete') {
    if (!writer.admits('delete', ctx.identity, null, old))
      throw opError('FORBIDDEN', i, `not allowed to delete this row of ${table.qualified}`);
    await ctx.client.query({ text: `DELETE FROM ${t} WHERE ${where}`, values: key });
    const w = rowOf(writer, old);
    return { table: table.qualified, key: w.key, row: null, version: w.version };
  }

  const assignments: string[] = [];
  const values: Array<string | null> = [...key];
  const assign = (column: string, value: unknown, now = false) => {
    const v = now ? null : encodeValue(table, i, column, value, ctx.limits);
    if (now && !table.columns.some((c) => c.name === column))
      throw opError('BAD_REQUEST', i, `unknown column "${column}" in ${table.qualified}`, column);
    if (!writer.writable.has(column) || table.primaryKey.includes(column))
      throw opError('FORBIDDEN', i, `column "${column}" may not be written`, column);
    if (now) assignments.push(`${quoteIdent(column)} = now()`);
    else {
      values.push(v);
      assignments.push(`${quoteIdent(column)} = $${values.length}`);
    }
  };
  if (op.type === 'set') assign(op.key, op.value);
  else if (op.type === 'set-now') assign(op.key, null, true);
  else {
    const cols = Object.keys(op.values);
    if (cols.length === 0) throw opError('BAD_REQUEST', i, 'values is empty', 'values');
    for (const c of cols) assign(c, op.values[c]);
  }
  const sql = `UPDATE ${t} SET ${assignments.join(', ')} WHERE ${where} RETURNING *`;
  const row = (await ctx.client.query<Row>({ text: sql, values, types: wireTypes })).rows[0] as Row;
  if (!writer.admits('update', ctx.identity, row, old))
    throw opError('FORBIDDEN', i, `not allowed to make this change to ${table.qualified}`);
  return written(writer, row);
}

function rowOf(writer: TableWriter, row: Row): { key: string; row: Row; version: number } {
  const pk = writer.table.primaryKey;
  const key = pk.length === 1 ? String(row[pk[0] as string]) : JSON.stringify(pk.map((c) => row[c] ?? null));
  return { key, row, version: Number(row['version'] ?? 0) };
}

function written(writer: TableWriter, row: Row): WrittenRow {
  return { table: writer.table.qualified, ...rowOf(writer, row) };
}
