/**
 * The client's subscriptions by who holds them:
 *
 *   held      a caller of this tab has the handle (subscribe() → handle.unsubscribe())
 *   restored  rebuilt from the store at open, not claimed yet: readable at once, streaming
 *   parked    nobody holds it (restored, or the tab that used it closed): it keeps
 *             streaming for a while so a reload resumes it, then ends
 *   remote    (the leader) a follower tab holds it: kept while one does
 *
 * The only place subscriptions are added and removed; each one's events reach
 * the view, the store and the follower tabs from here.
 */
import type { SubscriptionParams } from './subscription-handle.ts';
import type { SubscriptionHandle } from './subscription-handle.ts';
import { Subscription } from './subscription.ts';
import { SyncError } from './sync-error.ts';
import type { Row } from '@syncline/protocol';
import { toFollowers, type ClientParts } from '../client-parts.ts';
import type { Timers } from '../connection/timers.ts';
import type { SubscribeOptions } from '../sync-client-options.ts';
import type { Upstream } from '../upstream/upstream.ts';
import { randomId } from '../random-id.ts';

// Mirrors subscriptionIdSchema in @syncline/protocol (not imported: it would pull zod into the bundle).
export const SUBSCRIPTION_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

export class SubscriptionSet {
  /** Subscriptions this client's callers hold (the leader also keeps other tabs' and stored ones). */
  readonly held = new Set<string>();
  /** Rebuilt from storage and not yet claimed by a subscribe() call. */
  readonly restored = new Map<string, Subscription>();
  /** Expiry timers of subscriptions nobody holds (see park()). */
  private readonly parked = new Map<string, unknown>();
  private idCounter = 0;
  /** Set while loading stored subscriptions on takeover: followers already have newer rows. */
  quiet = false;

  constructor(
    private readonly parts: ClientParts,
    private readonly upstream: () => Upstream,
    private readonly timers: Timers,
    private readonly unclaimedTtlMs: number,
  ) {}

  /** Subscribes (or claims a stored one of the same id and params). Row type R is the caller's claim, not checked. */
  subscribe<R extends Row = Row>(options: SubscribeOptions): SubscriptionHandle<R> {
    const { registry } = this.parts;
    const id = options.id ?? `s${++this.idCounter}-${randomId().slice(0, 8)}`;
    if (!SUBSCRIPTION_ID.test(id)) throw new TypeError(`invalid subscription id: ${id}`);
    const existing = registry.get(id);
    if (existing && !this.held.has(id)) {
      // Stored (or kept for another tab): claim it when it is the same subscription.
      this.restored.delete(id);
      if (existing.collection === options.collection && sameParams(existing.params, options.params)) {
        this.held.add(id);
        this.upstream().claim(existing);
        return existing as unknown as SubscriptionHandle<R>;
      }
      if (this.parts.tabs()?.hasRemoteInterest(id)) throw new Error(`subscription id in use by another tab: ${id}`);
      this.unsubscribe(id); // stored under this id with other params: start over
    }
    if (registry.byId.has(id)) throw new Error(`subscription id already in use: ${id}`);
    const sub = this.add(id, options.collection, options.params);
    this.held.add(id);
    this.upstream().subscribe(sub);
    return sub as unknown as SubscriptionHandle<R>;
  }

  add(id: string, collection: string, params: SubscriptionParams | undefined): Subscription {
    const sub = new Subscription(id, collection, params, (subId) => this.release(subId), this.parts.ownRows);
    this.parts.registry.byId.set(id, sub);
    this.watch(sub);
    return sub;
  }

  /** Loads the stored subscriptions this client does not have yet; each is parked until claimed. */
  async restore(): Promise<void> {
    const { persisted, registry } = this.parts;
    if (!persisted) return;
    for (const { sub: stored, rows } of await persisted.load()) {
      const params = stored.params === null ? undefined : (stored.params as SubscriptionParams);
      if (registry.byId.has(stored.id)) continue; // taking over: ours is newer than the store's
      const sub = this.add(stored.id, stored.collection, params);
      sub.restore(rows, stored.cursor, stored.table);
      this.restored.set(sub.id, sub);
      this.park(sub.id);
    }
  }

  /** Drops a subscription this tab's callers do not hold (restored and never claimed: the store is newer). */
  forgetUnheld(id: string): void {
    if (this.held.has(id)) return;
    this.parts.registry.byId.delete(id);
    this.restored.delete(id);
  }

  /**
   * Nobody holds this subscription now (stored and not claimed yet, or the tab
   * that used it closed): it keeps streaming for a while, so a reload that asks
   * for it again resumes from its cursor, then ends — stored subscriptions of ids
   * an app no longer uses must not pile up.
   */
  park(id: string): void {
    if (this.parked.has(id)) return;
    const timer = this.timers.setTimeout(() => {
      this.parked.delete(id);
      if (!this.parts.registry.byId.has(id) || this.held.has(id) || this.parts.tabs()?.hasRemoteInterest(id)) return;
      this.unsubscribe(id);
    }, this.unclaimedTtlMs);
    this.parked.set(id, timer);
  }

  /** A caller let go of its handle; with other tabs still on it, the leader keeps it. */
  release(id: string): void {
    this.held.delete(id);
    const tabs = this.parts.tabs();
    if (tabs?.role === 'leader' && tabs.hasRemoteInterest(id)) return;
    this.unsubscribe(id);
  }

  unsubscribe(id: string): void {
    const { registry, ownRows } = this.parts;
    const sub = registry.get(id);
    if (!sub) return;
    registry.byId.delete(id);
    this.restored.delete(id);
    this.held.delete(id);
    // Own rows still to come for it have nowhere to go: a new subscription of this id starts from the server.
    ownRows.forget(id);
    sub.dispose(new SyncError('UNSUBSCRIBED', `subscription ${id} was unsubscribed`, id));
    this.parts.rebuildView(); // its rows leave the view unless another subscription holds them
    this.upstream().unsubscribe(id);
  }

  /** Leader: a subscription's whole state for a follower, with the own rows still to come into it. */
  copyOf(sub: Subscription, cursor: string) {
    const rows = [...sub.rowsByKey()].map(([key, r]) => ({ key, row: r.row, version: r.version }));
    return {
      rows,
      cursor,
      ...(sub.table !== undefined ? { table: sub.table } : {}),
      ...this.parts.ownRows.awaitedFor(sub.id),
    };
  }

  close(): void {
    for (const timer of this.parked.values()) this.timers.clearTimeout(timer);
    this.parked.clear();
  }

  private watch(sub: Subscription): void {
    const { parts } = this;
    sub.on('change', (e) => {
      if (e.cause !== 'changes') parts.rebuildView(); // snapshots and resyncs (changes edit the view as they come)
      if (e.cause === 'snapshot' && sub.cursor !== undefined) {
        if (sub.table !== undefined) parts.writes.noteSnapshot(sub.table, sub.cursor);
        parts.persisted?.snapshotCommitted(sub);
        // A whole copy costs O(rows): only built when a follower is there to take it.
        if (!this.quiet && parts.tabs()?.hasFollowers) {
          toFollowers(parts, { t: 'reset', id: sub.id, ...this.copyOf(sub, sub.cursor) });
        }
      }
      if (e.cause === 'resync') toFollowers(parts, { t: 'resync', id: sub.id });
    });
    sub.on('status', (e) => {
      // Only live subscriptions make up the view: one that failed or resyncs leaves it, one live again joins.
      parts.rebuildView();
      if (e.status === 'error' && e.error) toFollowers(parts, { t: 'fail', id: sub.id, error: e.error });
    });
  }
}

export function sameParams(a: SubscriptionParams | undefined, b: SubscriptionParams | undefined): boolean {
  return JSON.stringify(a ?? {}) === JSON.stringify(b ?? {});
}
