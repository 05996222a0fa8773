export { SyncClient } from './sync-client.ts';
export type {
  CommittedEvent,
  ConnectionStateEvent,
  SubscribeOptions,
  SyncClientEvents,
  SyncClientOptions,
} from './sync-client-options.ts';
export type {
  SubscriptionChangeEvent,
  SubscriptionEvents,
  SubscriptionHandle,
  SubscriptionParams,
  SubscriptionStatus,
  SubscriptionStatusEvent,
} from './store/subscription-handle.ts';
export type { StoredRow } from './store/row-store.ts';
export type { TransactionEvent } from './store/subscription-registry.ts';
export type { SyncClientStats } from './stats.ts';
export type { ConnectionState } from './connection/connection-state.ts';
export type { BackoffOptions } from './connection/backoff.ts';
export type { TokenSource } from './connection/requests.ts';
export type { FetchLike, Timers } from './connection/timers.ts';
export { SyncError } from './store/sync-error.ts';
export type { SyncErrorCode, ClientErrorCode } from './store/sync-error.ts';
export { HttpError } from './connection/http-error.ts';
export { SseParser, type SseEvent } from './connection/sse-parser.ts';
export type { WebSocketConstructor, WebSocketLike } from './connection/ws-stream.ts';
export { browserOnline, type OnlineSource } from './connection/online-source.ts';
// Local persistence (IndexedDB or memory) and drafts.
export type {
  LocalStore,
  PersistedRow,
  PersistedSubscription,
  OutboxEntry,
  DraftRecord,
  LocalMeta,
  RowChange,
} from './persistence/local-store.ts';
export { IdbLocalStore, type IdbLocalStoreOptions } from './persistence/idb-local-store.ts';
export { MemoryLocalStore, MemoryDatabases } from './persistence/memory-local-store.ts';
export { namespaceFor, deleteNamespace } from './persistence/namespace.ts';
export {
  LocalStoreError,
  OutboxFullError,
  DuplicateMutationError,
  DraftsFullError,
  DraftTooLargeError,
  InvalidDraftKeyError,
  UnknownSubscriptionError,
} from './persistence/errors.ts';
export { Drafts } from './drafts/drafts.ts';
export type {
  RejectedEvent,
  MutationError,
  Predictor,
  MutatorOptions,
  MutationBody,
} from './mutations/pending-mutations.ts';
export { createQuery, type QueryBuilder, type ViewSource } from './query/live-query.ts';
export { MemoryTabLocks, type TabLocks } from './multitab/tab-locks.ts';
export type { TabChannelFactory, TabChannelLike } from './multitab/tab-channel.ts';
export type { TabRole } from './multitab/tab-coordinator.ts';
// Presence: who is in a room, and an ephemeral broadcast beside it.
export { PresenceRoom, type PresenceMember, type PresenceRoomEvents } from './presence/presence-room.ts';
