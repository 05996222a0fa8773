export { SyncClient } from './sync-client.ts';
export type {
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
export { HttpError } from './connection/http-error.ts';
export { SseParser, type SseEvent } from './connection/sse-parser.ts';
export type { WebSocketConstructor, WebSocketLike } from './connection/ws-stream.ts';
