/**
 * Snapshot → live handoff for one instance (see snapshot-job.ts for the merge):
 *
 *   joinSnapshot ─► the instance's snapshot in flight, or startSnapshot
 *   startSnapshot ─► querySnapshot ─► job.merge (rows ⊕ unseen buffered txs)
 *                 ─► every waiter: snapshot parts at the head cursor, then live,
 *                    with a guard while the snapshot is ahead of the stream
 *   buffer overflow or TRUNCATE meanwhile ─► query again (at most 5 times)
 *   the query fails (TOO_LARGE, an error) ─► every waiter's subscription ends with it
 *
 * Waiters go live and end through ConnectionSubscriptions, never by writing the
 * connection's subscriptions here.
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
import type { ConnectionSubscriptions } from './connection-subscriptions.ts';

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
  subscriptions: ConnectionSubscriptions;
  dropIfIdle(instance: CollectionInstance): void;
  /** A snapshot query finished after `ms`. */
  onSnapshot?(ms: number): void;
}

/** Adds a subscriber to the instance's snapshot in flight (coalesced), or starts one. */
export function joinSnapshot(ctx: HandoffContext, instance: CollectionInstance, subscriber: Subscriber): void {
  if (instance.snapshot) {
    ctx.stats.snapshotsCoalesced++;
    instance.snapshot.waiters.push(subscriber);
    return;
  }
  instance.identity = subscriber.conn.identity; // freshest claims for the query
  startSnapshot(ctx, instance, [subscriber]);
}

function startSnapshot(ctx: HandoffContext, instance: CollectionInstance, waiters: Subscriber[], attempt = 1): void {
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
  if (!ctx.subscriptions.isWaiting(w, instance)) return;
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
  ctx.subscriptions.goLive(w, guard);
}

function failWaiters(ctx: HandoffContext, instance: CollectionInstance, waiters: Subscriber[], e: SynclineError): void {
  for (const w of waiters)
    if (ctx.subscriptions.isWaiting(w, instance))
      ctx.subscriptions.endSubscriber(w, { kind: 'error', code: e.code, message: e.message });
  ctx.dropIfIdle(instance);
}
