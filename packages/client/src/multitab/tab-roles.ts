/**
 * What this client does when the tab coordinator gives it a role, and what
 * the leader does for its followers' requests (the coordinator's TabHost).
 *
 *   follow()  the store and the outbox are the leader's: stop writing and sending
 *   lead()    this tab leads: on a takeover, store what it followed and load what it did not,
 *             then send the outbox and connect
 *   remote*   (leader) a follower's subscriptions, presence and mutations, on our connection
 */
import type { ErrorMessage } from '@syncline/protocol';
import type { ClientParts } from '../client-parts.ts';
import type { PendingMutation } from '../mutations/pending-mutations.ts';
import { sameParams, SUBSCRIPTION_ID, type SubscriptionSet } from '../store/subscription-set.ts';
import type { ConnectionUpstream } from '../upstream/connection-upstream.ts';
import type { FollowerUpstream } from '../upstream/follower-upstream.ts';
import type { TabHost } from './tab-coordinator.ts';
import type { MirroredMutation } from './tab-messages.ts';
import { browserChannel } from './tab-channel.ts';
import { browserLocks } from './tab-locks.ts';
import type { SyncClientOptions } from '../sync-client-options.ts';

export interface TabRolesOptions {
  parts: ClientParts;
  subscriptions: SubscriptionSet;
  connection: ConnectionUpstream;
  follower: FollowerUpstream;
  /** The write side runs (restoring the outbox first); awaited before any mutation. */
  startWrites(): Promise<void>;
  /** The write side now runs this way (following: through the leader). */
  setWritesStarted(started: Promise<void>): void;
  close(): void;
}

export function tabRoles(o: TabRolesOptions): TabHost {
  const { parts, subscriptions } = o;
  const { registry, writes } = parts;
  return {
    lead: (takeover) => lead(o, takeover),
    follow: () => {
      if (parts.persisted) parts.persisted.active = false;
      parts.ownRows.follow();
      writes.follow((body) => parts.tabs()?.mutate(body) ?? Promise.reject(new Error('SyncClient closed')));
      o.setWritesStarted(Promise.resolve());
    },
    failed: (error) => {
      parts.emitter.emit('storageError', error);
      o.close();
    },
    connection: () => o.connection.mirror(),
    pendingMirror: () => writes.pending.mutations.map(mirrorOf),
    remoteSubscribe: (wire) => {
      if (!SUBSCRIPTION_ID.test(wire.id) || typeof wire.collection !== 'string') {
        return { ok: false, error: { code: 'BAD_REQUEST', message: `invalid subscription: ${String(wire.id)}` } };
      }
      const existing = registry.get(wire.id);
      if (existing && (existing.collection !== wire.collection || !sameParams(existing.params, wire.params))) {
        if (subscriptions.held.has(wire.id) || parts.tabs()?.hasRemoteInterest(wire.id)) {
          const error: ErrorMessage = {
            code: 'BAD_REQUEST',
            message: `subscription id ${wire.id} is in use by another tab with other params`,
            subscription: wire.id,
          };
          return { ok: false, error };
        }
        subscriptions.unsubscribe(wire.id); // kept for nobody under other params: start over
      } else if (existing) {
        subscriptions.restored.delete(wire.id);
        if (existing.status === 'error' && existing.error) return { ok: false, error: existing.error };
        o.connection.want(); // stored here, never claimed until now
        // Always the whole state: a follower's copy (rebuilt from a store that lagged) can have gaps
        // that a cursor comparison cannot see.
        if (existing.status === 'live' && existing.cursor !== undefined) {
          return { ok: true, reset: subscriptions.copyOf(existing, existing.cursor) };
        }
        return { ok: true };
      }
      o.connection.subscribe(subscriptions.add(wire.id, wire.collection, wire.params));
      return { ok: true };
    },
    remoteReleased: (id) => {
      if (!subscriptions.held.has(id)) subscriptions.unsubscribe(id);
    },
    remoteGone: (id) => {
      if (!subscriptions.held.has(id)) subscriptions.park(id);
    },
    remotePresence: (kind, body) => void o.connection.sendPresence(kind, body),
    remoteMutate: async (requestId, body) => {
      await o.startWrites();
      return writes.submitFor(requestId, body);
    },
    adoptPending: (list) => adoptPending(parts, list),
    leaderChanged: () => o.follower.leaderChanged(subscriptions.held),
    applyMirror: (message) => o.follower.apply(message),
    localSubscriptions: () =>
      [...subscriptions.held].flatMap((id) => {
        const sub = registry.get(id);
        return sub ? [sub.toWire()] : [];
      }),
  };
}

/**
 * This tab leads: it writes the store, sends the outbox and holds the
 * connection. Taking over from another tab, it first loads the stored
 * subscriptions it did not mirror and stores the ones it did (its rows are
 * as new as the old leader's last broadcast).
 */
async function lead(o: TabRolesOptions, takeover: boolean): Promise<void> {
  const { parts, subscriptions } = o;
  if (parts.persisted) parts.persisted.active = true;
  o.follower.stop();
  // A connection of our own comes: nothing is attached to it yet.
  for (const sub of parts.registry.byId.values()) sub.attached = false;
  if (takeover) {
    const takenOver: string[] = [];
    for (const [id, sub] of [...parts.registry.byId]) {
      if (!subscriptions.held.has(id)) {
        subscriptions.forgetUnheld(id); // restored at open, never claimed: reloaded from the store below
        continue;
      }
      parts.persisted?.subscribedIfMissing(sub);
      if (sub.status === 'live') takenOver.push(id);
    }
    // Own rows still on their way: the store keeps the old leader's rows until they land.
    for (const id of parts.ownRows.lead(takenOver)) {
      const sub = parts.registry.get(id);
      if (sub) parts.persisted?.snapshotCommitted(sub);
    }
    subscriptions.quiet = true;
    try {
      await subscriptions.restore();
    } finally {
      subscriptions.quiet = false;
    }
  } else parts.ownRows.lead([]);
  const started = parts.writes.lead();
  o.setWritesStarted(started);
  await started;
  parts.rebuildView();
  if (takeover && parts.registry.byId.size > 0) o.connection.want();
}

/** Following: the leader's pending mutations replace ours. */
function adoptPending(parts: ClientParts, list: readonly MirroredMutation[]): void {
  const pending = parts.writes.pending;
  const ids = new Set(list.map((m) => m.mutationId));
  for (const m of pending.mutations) if (!ids.has(m.mutationId)) pending.drop(m.mutationId);
  for (const m of list) {
    const had = pending.get(m.mutationId);
    if (!had) pending.add(m.mutationId, m.body, { createdAt: m.createdAt, status: m.status });
    else if (had.status !== m.status) pending.setStatus(m.mutationId, m.status);
  }
}

export function mirrorOf(m: PendingMutation): MirroredMutation {
  return { mutationId: m.mutationId, body: m.body, createdAt: m.createdAt, status: m.status };
}

/** Tabs share a store when the platform lets them (Web Locks and BroadcastChannel) unless told not to. */
export function tabsFor(
  options: SyncClientOptions,
):
  | { locks: NonNullable<ReturnType<typeof browserLocks>>; channel: NonNullable<ReturnType<typeof browserChannel>> }
  | undefined {
  if (options.tabs === false) return undefined;
  const locks = options.tabs?.locks ?? browserLocks();
  const channel = options.tabs?.channel ?? browserChannel();
  return locks && channel ? { locks, channel } : undefined;
}
