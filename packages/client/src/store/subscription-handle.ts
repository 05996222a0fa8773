import type { Change, ErrorMessage, Row, Subscription as WireSubscription } from '@syncline/protocol';
import type { StoredRow } from './row-store.ts';

export type SubscriptionStatus = 'connecting' | 'snapshot' | 'live' | 'resyncing' | 'error';
export type SubscriptionParams = NonNullable<WireSubscription['params']>;

export interface SubscriptionChangeEvent {
  subscription: string;
  /** What replaced or touched the rows: a completed snapshot, one transaction, or a resync wipe. */
  cause: 'snapshot' | 'changes' | 'resync';
  /** The applied changes (empty for snapshot and resync). */
  changes: readonly Change[];
  cursor: string | undefined;
}

export interface SubscriptionStatusEvent {
  subscription: string;
  status: SubscriptionStatus;
  error: ErrorMessage | undefined;
}

export interface SubscriptionEvents {
  change: SubscriptionChangeEvent;
  status: SubscriptionStatusEvent;
}

/** What `SyncClient.subscribe` returns. */
export interface SubscriptionHandle<R extends Row = Row> {
  readonly id: string;
  readonly collection: string;
  readonly params: SubscriptionParams | undefined;
  readonly status: SubscriptionStatus;
  /** The last protocol error for this subscription (kept after recovery, for diagnostics). */
  readonly error: ErrorMessage | undefined;
  readonly cursor: string | undefined;
  /** Rows in snapshot order, later inserts appended. Same array until the next change. */
  rows(): readonly R[];
  /** Live read-only view: key → { row, version }. */
  rowsByKey(): ReadonlyMap<string, StoredRow<R>>;
  get(key: string): R | undefined;
  on<K extends keyof SubscriptionEvents>(event: K, listener: (payload: SubscriptionEvents[K]) => void): () => void;
  /** Resolves on the first complete snapshot; rejects with a SyncError on an error, unsubscribe or close before it. */
  ready(): Promise<void>;
  unsubscribe(): void;
}
