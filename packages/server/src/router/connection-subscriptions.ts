/**
 * The lifecycle of a connection's subscriptions, and the only writer of
 * `conn.subscriptions`. Whatever ends a subscription goes through `end`, which
 * gives back everything it held.
 *
 *   admit ─► snapshot ─► goLive ─► live            (a snapshot: waiter, then subscriber)
 *         └────────────► goLive ─► live            (a cursor: replayed, then subscriber)
 *
 *   end (unsubscribe, resync, snapshot failed, revoked, disconnect), in any phase:
 *     conn.subscriptions − id,  instance.subscribers − it,  snapshot waiters − it,
 *     access watch − it,  instance dropped when nobody else holds it
 *
 * A subscription that ended is never written again: every later step (a snapshot
 * finishing, a replay ending) first checks it is still the connection's current one,
 * so a subscription re-created under the same id is left alone.
 */
import type { ErrorCode, ResyncReason } from '@syncline/protocol';
import type { CollectionInstance, SnapshotGuard, Subscriber } from '../collections/collection-instance.ts';
import type { BoundFilter } from '../collections/filter/compile-filter.ts';
import type { TableInfo } from '../collections/table-info.ts';
import type { ConnSubscription, SyncConnection } from '../transport/sync-connection.ts';
import type { AccessWatches } from './access-watches.ts';

/** What the client is told as its subscription ends; nothing for an unsubscribe it asked for. */
export type EndNotice = { kind: 'resync'; reason: ResyncReason } | { kind: 'error'; code: ErrorCode; message: string };

export const resync = (reason: ResyncReason): EndNotice => ({ kind: 'resync', reason });

export interface Admission {
  conn: SyncConnection;
  id: string;
  instance: CollectionInstance;
  params: Record<string, unknown>;
  /** An `exists` access rule bound to this subscriber: watched until the subscription ends. */
  access: { key: string; table: TableInfo; bound: BoundFilter } | null;
  /** `snapshot`: waits for its instance's snapshot; `live`: resumes from a cursor. */
  phase: ConnSubscription['phase'];
}

export class ConnectionSubscriptions {
  constructor(
    private readonly watches: AccessWatches,
    /** Frees an instance nobody subscribes to and no snapshot runs for (the router's table of instances). */
    private readonly dropIfIdle: (instance: CollectionInstance) => void,
  ) {}

  /**
   * Adds a subscription under a free id: end the one it replaces first, before looking up
   * its instance (ending it may free that very instance).
   */
  admit(a: Admission): ConnSubscription {
    if (a.conn.subscriptions.has(a.id)) throw new Error(`subscription ${a.id} is still open`);
    const subscriber: Subscriber = { conn: a.conn, subId: a.id, guard: null };
    const watch = a.access ? this.watches.watch(a.access.key, a.access.table, a.access.bound, subscriber) : null;
    const s: ConnSubscription = { id: a.id, instance: a.instance, phase: a.phase, subscriber, params: a.params, watch };
    writable(a.conn).set(a.id, s);
    return s;
  }

  /** Whether this subscriber's subscription is still the one its connection holds under its id. */
  isCurrent(subscriber: Subscriber): boolean {
    return !subscriber.conn.closed && subscriber.conn.subscriptions.get(subscriber.subId)?.subscriber === subscriber;
  }

  /** Whether this waiter still waits for `instance`'s snapshot (not ended, not replaced, not live). */
  isWaiting(subscriber: Subscriber, instance: CollectionInstance): boolean {
    const s = subscriber.conn.subscriptions.get(subscriber.subId);
    return this.isCurrent(subscriber) && s?.instance === instance && s.phase === 'snapshot';
  }

  /** From snapshot or replay to live: it gets every routed change from now on. */
  goLive(subscriber: Subscriber, guard: SnapshotGuard | null): void {
    if (!this.isCurrent(subscriber)) return;
    const s = subscriber.conn.subscriptions.get(subscriber.subId) as ConnSubscription;
    s.phase = 'live';
    subscriber.guard = guard;
    s.instance.subscribers.add(subscriber);
  }

  /**
   * The one end path. Returns the subscription that ended, or null if there was none.
   * State is released before the notice is sent: sending may close a slow connection,
   * whose own end must find this one already gone.
   */
  end(conn: SyncConnection, subId: string, notice?: EndNotice): ConnSubscription | null {
    const s = conn.subscriptions.get(subId);
    if (!s) return null;
    writable(conn).delete(subId);
    s.instance.subscribers.delete(s.subscriber);
    const waiters = s.instance.snapshot?.waiters;
    const i = waiters?.indexOf(s.subscriber) ?? -1;
    if (waiters && i >= 0) waiters.splice(i, 1);
    if (s.watch) this.watches.unwatch(s.watch, s.subscriber);
    this.dropIfIdle(s.instance);
    if (notice?.kind === 'resync') conn.resync({ subscription: subId, reason: notice.reason });
    else if (notice?.kind === 'error') conn.error({ code: notice.code, message: notice.message, subscription: subId });
    return s;
  }

  /** Ends this subscriber's subscription, if it is still current (a snapshot waiter or a live subscriber). */
  endSubscriber(subscriber: Subscriber, notice?: EndNotice): void {
    if (subscriber.conn.subscriptions.get(subscriber.subId)?.subscriber === subscriber)
      this.end(subscriber.conn, subscriber.subId, notice);
  }

  /** Ends the live subscriptions of an instance; a snapshot in flight keeps its waiters. */
  endLive(instance: CollectionInstance, notice: EndNotice): void {
    for (const s of [...instance.subscribers]) this.endSubscriber(s, notice);
  }

  /** Ends every subscription of an instance, waiting or live: its snapshot is abandoned. */
  endInstance(instance: CollectionInstance, notice: EndNotice): void {
    const waiters = instance.snapshot?.waiters ?? [];
    instance.snapshot = null;
    for (const w of [...waiters]) this.endSubscriber(w, notice);
    this.endLive(instance, notice);
    this.dropIfIdle(instance);
  }

  /** Ends every subscription of a connection (it closed, or UNSUBSCRIBE_ALL). */
  endAll(conn: SyncConnection): void {
    for (const id of [...conn.subscriptions.keys()]) this.end(conn, id);
  }
}

/** The connection exposes its subscriptions read-only; this module alone writes them. */
function writable(conn: SyncConnection): Map<string, ConnSubscription> {
  return conn.subscriptions as Map<string, ConnSubscription>;
}
