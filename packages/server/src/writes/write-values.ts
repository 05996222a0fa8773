/**
 * Client values checked against the table's real column types before any SQL
 * runs, so a bad value is a BAD_REQUEST naming the op and field, not a
 * Postgres error. Values become bound parameters in Postgres's text form.
 */
import { codecFor } from '../collections/filter/codecs.ts';
import { PG_TYPE } from '../capture/pg-values.ts';
import type { TableInfo } from '../collections/table-info.ts';
import { SynclineError } from '../util/errors.ts';

export interface WriteValueLimits {
  /** Longest string (or JSON text) one field may hold. */
  maxValueBytes: number;
}

export function opError(
  code: 'BAD_REQUEST' | 'FORBIDDEN' | 'NOT_FOUND',
  op: number,
  message: string,
  field?: string,
): SynclineError {
  return new SynclineError(code, `op ${op}${field ? ` (${field})` : ''}: ${message}`, {
    details: { op, ...(field ? { field } : {}) },
  });
}

/** The SQL parameter for one field, or an error naming op and field. */
export function encodeValue(
  table: TableInfo,
  op: number,
  column: string,
  value: unknown,
  limits: WriteValueLimits,
): string | null {
  const col = table.columns.find((c) => c.name === column);
  if (!col) throw opError('BAD_REQUEST', op, `unknown column "${column}" in ${table.qualified}`, column);
  if (value === null) return null;
  if (col.typeOid === PG_TYPE.json || col.typeOid === PG_TYPE.jsonb) {
    const text = JSON.stringify(value);
    if (text === undefined) throw opError('BAD_REQUEST', op, 'not a JSON value', column);
    if (Buffer.byteLength(text) > limits.maxValueBytes)
      throw opError('BAD_REQUEST', op, `value longer than ${limits.maxValueBytes} bytes`, column);
    return text;
  }
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    throw opError(
      'BAD_REQUEST',
      op,
      `expected a scalar for a ${col.typeOid === PG_TYPE.bool ? 'boolean' : 'column'} value, got ${Array.isArray(value) ? 'an array' : typeof value}`,
      column,
    );
  }
  if (typeof value === 'string' && Buffer.byteLength(value) > limits.maxValueBytes) {
    throw opError('BAD_REQUEST', op, `value longer than ${limits.maxValueBytes} bytes`, column);
  }
  try {
    // Validate with the column's codec, but send the client's own text: normalising would
    // change what is stored (numeric '12.50' would lose its scale).
    codecFor(col.typeOid).fromBind(value);
    return typeof value === 'string' ? value : String(value);
  } catch (e) {
    throw opError('BAD_REQUEST', op, e instanceof Error ? e.message : 'invalid value', column);
  }
}

/** A row id as the primary key's column values (composite keys as a JSON array). */
export function keyValues(
  table: TableInfo,
  op: number,
  id: string | number,
  limits: WriteValueLimits,
): Array<string | null> {
  const pk = table.primaryKey;
  if (pk.length === 1) return [encodeValue(table, op, pk[0] as string, id, limits)];
  let parts: unknown;
  try {
    parts = JSON.parse(String(id));
  } catch {
    parts = null;
  }
  if (!Array.isArray(parts) || parts.length !== pk.length) {
    throw opError('BAD_REQUEST', op, `id must be a JSON array of ${pk.length} values (${pk.join(', ')})`, 'id');
  }
  return pk.map((c, i) => encodeValue(table, op, c, parts[i], limits));
}
