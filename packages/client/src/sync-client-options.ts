/** The public option and event types of SyncClient, apart so the class file stays about behaviour. */
import type { AckMessage, CoveredChange, ErrorMessage, MutationRef } from '@syncline/protocol';
import type { BackoffOptions } from './connection/backoff.ts';
import type { ConnectionState } from './connection/connection-state.ts';
import type { TokenSource } from './connection/requests.ts';
import type { WebSocketConstructor } from './connection/ws-stream.ts';
import type { OnlineSource } from './connection/online-source.ts';
import type { LocalStore } from './persistence/local-store.ts';
import type { RejectedEvent } from './mutations/pending-mutations.ts';
import type { FetchLike, Timers } from './connection/timers.ts';
import type { SubscriptionParams } from './store/subscription-handle.ts';
import type { TransactionEvent } from './store/subscription-registry.ts';
import type { TabLocks } from './multitab/tab-locks.ts';
import type { TabChannelFactory } from './multitab/tab-channel.ts';

export interface SyncClientOptions {
  /** Server base URL, e.g. `http://localhost:4000`. */
  url: string;
  /** Stable client identity; generated when absent (persisting it is the caller's job). */
  clientId?: string;
  token?: TokenSource;
  fetch?: FetchLike;
  timers?: Timers;
  /** Jitter source in [0, 1). */
  random?: () => number;
  backoff?: Partial<BackoffOptions>;
  /** How long to wait for `hello` after starting a request (default 15 s). */
  connectTimeoutMs?: number;
  /**
   * `ws` (default) or `sse`. WebSocket needs a constructor (the browser's, or pass `ws`'s in
   * Node); without one SSE is used, and also where WebSocket proves blocked while the server
   * answers HTTP (tried again later; see connection/transport-choice.ts).
   */
  transport?: 'ws' | 'sse';
  WebSocket?: WebSocketConstructor;
  /** Online/offline signal; default: the browser's `online`/`offline` events. Back online → reconnect at once. */
  online?: OnlineSource;
  /**
   * Local storage for rows, cursors and the like (`IdbLocalStore` in browsers, namespaced per
   * user). Use `SyncClient.open` to rebuild stored subscriptions before connecting.
   */
  store?: LocalStore;
  /**
   * Tabs of one origin opened with `SyncClient.open` on the same store share one
   * connection: one tab leads (Web Locks), the others follow over BroadcastChannel.
   * On by default where both exist; `false` turns it off. Pass `locks`/`channel`
   * where they do not (Node: `MemoryTabLocks` and the global BroadcastChannel).
   */
  tabs?: false | { locks?: TabLocks; channel?: TabChannelFactory };
  /**
   * How long a subscription nobody holds keeps streaming (default 30 s): one
   * restored from the store that no `subscribe()` claims, or one whose last tab
   * closed. A reload claims it in time and resumes; after that it is ended.
   */
  unclaimedSubscriptionTtlMs?: number;
}

export interface SubscribeOptions {
  id?: string;
  collection: string;
  params?: SubscriptionParams;
}

export interface ConnectionStateEvent {
  state: ConnectionState;
  previous: ConnectionState;
  /** Why the previous connection ended (an Error, HttpError, DOMException…), when it did. */
  reason: unknown;
}

export interface CommittedEvent {
  cursor: string;
  mutations: readonly MutationRef[];
  covered: readonly CoveredChange[];
}

export interface SyncClientEvents {
  state: ConnectionStateEvent;
  transaction: TransactionEvent;
  ack: AckMessage;
  /**
   * The stream said these mutations committed (a `changes` or an `ack` naming them), after
   * the message was applied; `covered`: this connection's rows it left out, which the
   * client places from the write's answer (a mutation with no covered row for a
   * subscription has all its rows there now).
   */
  committed: CommittedEvent;
  /** A mutation's answer arrived: it left the pending list and its rows are in the view (see 'rejected' for the other end). */
  confirmed: { mutationId: number };
  error: ErrorMessage;
  /** A write to local storage failed (memory is still right; the next write may succeed). */
  storageError: unknown;
  /** The optimistic view changed (a local mutation, a confirmation, a rollback, server rows). */
  view: undefined;
  /** The server refused a mutation: it was rolled back. `current` is the row as the server has it (409). */
  rejected: RejectedEvent;
  /** Undo/redo availability changed. */
  history: { canUndo: boolean; canRedo: boolean };
}
