/**
 * Reads an instance's rows in a REPEATABLE READ transaction together with
 * `pg_current_snapshot()`, so the handoff knows exactly which transactions the
 * rows already contain. It runs as the subscriber (claims, role: RLS applies).
 * The filter arrives as parameterised SQL: values are bound, never spliced.
 */
import type pg from 'pg';
import type { Row } from '@syncline/protocol';
import type { CollectionInstance } from './collection-instance.ts';
import type { XidSnapshot } from './xid-snapshot.ts';
import { parseXidSnapshot } from './xid-snapshot.ts';
import type { DbSessionOptions } from '../auth/user-transaction.ts';
import { withUserTransaction } from '../auth/user-transaction.ts';
import { parseLsn } from '../capture/lsn.ts';
import { wireTypes } from '../capture/pg-values.ts';
import { quoteIdent, quoteTable } from '../util/quote-ident.ts';
import { SynclineError } from '../util/errors.ts';

export interface SnapshotResult {
  rows: Row[];
  xids: XidSnapshot;
  /**
   * WAL insert position read after the snapshot was taken. Every transaction the
   * snapshot saw has a commit LSN at or below it; the stream may not have
   * delivered them all yet.
   */
  walLsn: bigint;
}

export async function querySnapshot(
  pool: pg.Pool,
  db: DbSessionOptions,
  instance: CollectionInstance,
  maxRows: number,
): Promise<SnapshotResult> {
  const { collection, bound } = instance;
  const where = bound.toSql(1);
  const cols = collection.columns ? collection.columns.map(quoteIdent).join(', ') : '*';
  const text = `SELECT ${cols} FROM ${quoteTable(collection.table.qualified)} WHERE ${where.text} LIMIT ${maxRows + 1}`;
  const result = await withUserTransaction(pool, instance.identity, db, 'READ ONLY', async (client) => {
    // The transaction's snapshot is fixed by its first statement (setting the claims); read it before the rows.
    const snap = await client.query<{ s: string }>('SELECT pg_current_snapshot()::text AS s');
    const res = await client.query<Row>({ text, values: where.values, types: wireTypes });
    const wal = await client.query<{ l: string }>('SELECT pg_current_wal_insert_lsn()::text AS l');
    return { rows: res.rows, xids: parseXidSnapshot(snap.rows[0]?.s ?? ''), walLsn: parseLsn(wal.rows[0]?.l ?? '0/0') };
  });
  if (result.rows.length > maxRows) {
    throw new SynclineError(
      'TOO_LARGE',
      `collection ${collection.name} has more than ${maxRows} rows for these params`,
    );
  }
  return result;
}
