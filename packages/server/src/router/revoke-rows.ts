/**
 * What a client is told when its access to a subscription is taken away: a
 * delete for every row it had, then FORBIDDEN — and nothing it did not have
 * (not even the key of a row added by the revoking transaction).
 *
 * The keys come from the instance's own filter, read as the server (the user
 * may no longer read them) after the revocation, corrected by the log: a key
 * whose first change since then is an insert was not the client's; one whose
 * first change is a delete or update was, even if it is gone now.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { CollectionInstance } from '../collections/collection-instance.ts';
import { wireTypes } from '../capture/pg-values.ts';
import type { SyncConnection } from '../transport/sync-connection.ts';
import { quoteIdent, quoteTable } from '../util/quote-ident.ts';

export async function sendRevocation(
  pool: pg.Pool,
  logger: Logger,
  conn: SyncConnection,
  subId: string,
  instance: CollectionInstance,
  wasLive: boolean,
  headCursor: () => string,
  maxRows: number,
  /** First change per key of this instance since the revocation (from the log). */
  firstOpsSince: () => Map<string, 'insert' | 'update' | 'delete'>,
): Promise<void> {
  if (wasLive) {
    const { collection, bound } = instance;
    const where = bound.toSql(1);
    const cols = [...collection.table.primaryKey, 'version'].map(quoteIdent).join(', ');
    try {
      const res = await pool.query({
        text: `SELECT ${cols} FROM ${quoteTable(collection.table.qualified)} WHERE ${where.text} LIMIT ${maxRows}`,
        values: where.values,
        types: wireTypes,
      });
      // Re-subscribed under the same id meanwhile: that subscription gets its own answer.
      if (!conn.closed && !conn.subscriptions.has(subId)) {
        const had = new Map<string, number>(res.rows.map((r) => [collection.keyOf(r), Number(r['version'] ?? 0)]));
        for (const [key, op] of firstOpsSince()) {
          if (op === 'insert')
            had.delete(key); // added after the revocation: never the client's
          else if (!had.has(key)) had.set(key, 0); // the client had it; it is gone now
        }
        const changes = [...had].map(([key, version]) => ({ op: 'delete' as const, key, row: null, version }));
        if (changes.length > 0) conn.changes(headCursor(), [{ subId, instanceId: instance.id, changes }], new Map());
      }
    } catch (err) {
      logger.error({ err, collection: instance.collection.name }, 'could not list rows to revoke');
    }
  }
  if (!conn.subscriptions.has(subId))
    conn.error({ code: 'FORBIDDEN', message: 'access to this subscription was revoked', subscription: subId });
}
