/**
 * What a client is told when its access to a subscription is taken away: a
 * delete for every row of that subscription, then FORBIDDEN. The keys come
 * from the instance's own filter, read as the server (the user may no longer
 * be able to read them), right after the revocation.
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
        const changes = res.rows.map((r) => ({
          op: 'delete' as const,
          key: collection.keyOf(r),
          row: null,
          version: Number(r['version'] ?? 0),
        }));
        if (changes.length > 0) conn.changes(headCursor(), [{ subId, instanceId: instance.id, changes }], new Map());
      }
    } catch (err) {
      logger.error({ err, collection: instance.collection.name }, 'could not list rows to revoke');
    }
  }
  if (!conn.subscriptions.has(subId))
    conn.error({ code: 'FORBIDDEN', message: 'access to this subscription was revoked', subscription: subId });
}
