/**
 * Snapshot → live handoff for one instance (see snapshot-job.ts for the merge):
 *
 *   startSnapshot ─► querySnapshot ─► job.merge (rows ⊕ unseen buffered txs)
 *                 ─► every waiter: snapshot parts at the head cursor, then live,
 *                    with a guard while the snapshot is ahead of the stream
 *   buffer overflow or TRUNCATE meanwhile ─► query again (at most 5 times)
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { SnapshotRow } from '@syncline/protocol';
import type { CollectionInstance, SnapshotGuard, Subscriber } from '../collections/collection-instance.ts';
import type { DbSessionOptions } from '../auth/user-transaction.ts';
import { SnapshotJob } from '../collections/snapshot-job.ts';
import { querySnapshot } from '../collections/snapshot-query.ts';
import { SynclineError } from '../util/errors.ts';
import type { RouterStats } from './router-stats.ts';

const MAX_ATTEMPTS = 5;

export interface HandoffContext {
  pool: pg.Pool;
  db: DbSessionOptions;
  logger: Logger;
  stats: RouterStats;
  maxSnapshotBuffer: number;
  maxSnapshotRows: number;
  snapshotPartRows: number;
  /** The stream head now: its cursor and LSN. */
  head(): { cursor: string; lsn: bigint };
  dropIfIdle(instance: CollectionInstance): void;
  /** A snapshot query finished after `ms`. */
  onSnapshot?(ms: number): void;
}

export function startSnapshot(
  ctx: HandoffContext,
  instance: CollectionInstance,
  waiters: Subscriber[],
  attempt = 1,
): void {
  const job = new SnapshotJob(ctx.maxSnapshotBuffer);
  job.waiters.push(...waiters);
  instance.snapshot = job;
  ctx.stats.snapshotQueries++;
  const t0 = performance.now();
  querySnapshot(ctx.pool, ctx.db, instance, ctx.maxSnapshotRows).then(
    (result) => {
      ctx.onSnapshot?.(performance.now() - t0);
      if (instance.snapshot !== job) return; // superseded (slot recreated)
      instance.snapshot = null;
      if (job.invalid) {
        if (job.waiters.length > 0 && attempt < MAX_ATTEMPTS) startSnapshot(ctx, instance, job.waiters, attempt + 1);
        else
          failWaiters(
            ctx,
            instance,
            job.waiters,
            new SynclineError('INTERNAL', 'collection changed too fast to snapshot; retry'),
          );
        return;
      }
      const rows = job.merge(
        result.rows.map((r) => instance.collection.toWire(r)),
        result.xids,
      );
      const head = ctx.head();
      const guard = result.walLsn > head.lsn ? { until: result.walLsn, xids: result.xids } : null;
      for (const w of job.waiters) goLive(ctx, instance, w, rows, head.cursor, guard);
      ctx.dropIfIdle(instance);
    },
    (err: unknown) => {
      if (instance.snapshot !== job) return;
      instance.snapshot = null;
      ctx.logger.error({ err, collection: instance.collection.name }, 'snapshot failed');
      const e = err instanceof SynclineError ? err : new SynclineError('INTERNAL', 'snapshot failed');
      failWaiters(ctx, instance, job.waiters, e);
    },
  );
}

function goLive(
  ctx: HandoffContext,
  instance: CollectionInstance,
  w: Subscriber,
  rows: SnapshotRow[],
  cursor: string,
  guard: SnapshotGuard | null,
): void {
  const s = w.conn.subscriptions.get(w.subId);
  if (!s || s.instance !== instance || s.phase !== 'snapshot' || w.conn.closed) return;
  const part = ctx.snapshotPartRows;
  for (let i = 0; i === 0 || i < rows.length; i += part) {
    const table = instance.collection.table.qualified;
    w.conn.snapshot({
      subscription: w.subId,
      table,
      rows: rows.slice(i, i + part),
      cursor,
      done: i + part >= rows.length,
    });
  }
  s.phase = 'live';
  s.subscriber.guard = guard;
  instance.subscribers.add(s.subscriber);
}

function failWaiters(ctx: HandoffContext, instance: CollectionInstance, waiters: Subscriber[], e: SynclineError): void {
  for (const w of waiters) {
    const s = w.conn.subscriptions.get(w.subId);
    if (!s || s.instance !== instance) continue;
    w.conn.subscriptions.delete(w.subId);
    w.conn.error({ code: e.code, message: e.message, subscription: w.subId });
  }
  ctx.dropIfIdle(instance);
}
