/**
 * The parts a SyncClient is made of, shared by the modules that work on them
 * (sync-client.ts wires them; upstream/, store/subscription-set.ts and
 * multitab/tab-roles.ts use them). Each part has one job; this is only the
 * list, so no module has to know how the others were built.
 */
import type { AckMessage, ChangesMessage, ErrorMessage } from '@syncline/protocol';
import type { ClientWrites } from './mutations/client-writes.ts';
import type { TabCoordinator } from './multitab/tab-coordinator.ts';
import type { TabMessage } from './multitab/tab-messages.ts';
import type { OwnRows } from './own-rows/own-rows.ts';
import type { PersistedState } from './persistence/persisted-state.ts';
import type { PresenceRooms } from './presence/presence-rooms.ts';
import type { SyncClientStats } from './stats.ts';
import type { Emitter } from './store/emitter.ts';
import type { SubscriptionRegistry } from './store/subscription-registry.ts';
import type { SyncClientEvents } from './sync-client-options.ts';

export interface ClientParts {
  readonly clientId: string;
  readonly stats: SyncClientStats;
  readonly emitter: Emitter<SyncClientEvents>;
  /** Every subscription this client has (its callers', other tabs', stored ones), by id. */
  readonly registry: SubscriptionRegistry;
  readonly writes: ClientWrites;
  readonly ownRows: OwnRows;
  /** The local store's writer; undefined without a store. */
  readonly persisted: PersistedState | undefined;
  readonly rooms: PresenceRooms;
  /** Other tabs of this store; undefined for a client on its own. */
  readonly tabs: () => TabCoordinator | undefined;
  /** The base of the optimistic view is rebuilt from the subscriptions (coalesced to one per tick). */
  readonly rebuildView: () => void;
  /** The last connection-level error (not tied to a subscription). */
  lastError: ErrorMessage | undefined;
}

/** After a stream message (ours, or the leader's) is applied: the mutations it says committed, if any. */
export function emitCommitted(parts: ClientParts, message: ChangesMessage | AckMessage): void {
  if (!message.mutations || message.mutations.length === 0) return;
  parts.emitter.emit('committed', {
    cursor: message.cursor,
    mutations: message.mutations,
    covered: message.covered ?? [],
  });
}

/** Sends a message to the follower tabs, if this tab leads any. */
export function toFollowers(parts: ClientParts, message: TabMessage): void {
  parts.tabs()?.broadcast(message);
}
