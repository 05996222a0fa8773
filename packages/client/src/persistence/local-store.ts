import type { Change, JsonValue, Row } from '@syncline/protocol';
import type { SubscriptionParams } from '../store/subscription-handle.ts';

/**
 * What the client keeps on the device so a reload shows the last data at once
 * (no network round trip) and resumes the stream from the stored cursor.
 *
 * Two implementations share one test suite (local-store-suite.ts):
 * MemoryLocalStore (tests, SSR, private mode without IndexedDB) and
 * IdbLocalStore (browsers). Every method that writes is atomic: either all of
 * its changes land or none do.
 */
export interface LocalStore {
  /** The per-user namespace this store was opened for (see namespace.ts). */
  readonly namespace: string;
  readonly rows: RowsArea;
  readonly subscriptions: SubscriptionsArea;
  readonly outbox: OutboxArea;
  readonly drafts: DraftsArea;
  readonly meta: MetaArea;

  /**
   * One stream transaction for one subscription: its row changes and its new
   * cursor in ONE storage transaction, so a crash never leaves rows ahead of
   * (or behind) the cursor we resume from. Rejects with
   * UnknownSubscriptionError (writing nothing) if the subscription is not stored.
   */
  applyTransaction(
    subscriptionId: string,
    changes: readonly RowChange[],
    cursor: string,
    options?: ApplyOptions,
  ): Promise<void>;

  /**
   * Several subscriptions at once, still one storage transaction: a `changes`
   * message carries one cursor for changes spanning several subscriptions.
   */
  applyTransactions(updates: readonly SubscriptionUpdate[]): Promise<void>;

  /** Releases the connection; data stays. Later calls reject with LocalStoreError('CLOSED'). */
  close(): Promise<void>;

  /** Closes and deletes everything of this namespace (sign-out, user switch). */
  destroy(): Promise<void>;
}

/** A wire change minus its subscription (the caller groups by subscription). */
export type RowChange = Pick<Change, 'op' | 'key' | 'row' | 'version'>;

export interface ApplyOptions {
  /** Drop the subscription's stored rows first: a committed snapshot replaces them all. */
  readonly replace?: boolean;
}

export interface SubscriptionUpdate extends ApplyOptions {
  readonly subscriptionId: string;
  readonly changes: readonly RowChange[];
  readonly cursor: string;
}

export interface PersistedRow {
  readonly subscriptionId: string;
  readonly key: string;
  readonly row: Row;
  readonly version: number;
}

export interface PersistedSubscription {
  readonly id: string;
  readonly collection: string;
  readonly params: SubscriptionParams | null;
  /** null until the first snapshot is committed: resume needs a snapshot first. */
  readonly cursor: string | null;
  readonly table?: string;
}

export interface OutboxEntry {
  readonly mutationId: number;
  readonly body: JsonValue;
  /** Epoch milliseconds, set by the caller (it knows when the user acted). */
  readonly createdAt: number;
}

export interface DraftRecord {
  readonly key: string;
  readonly value: JsonValue;
  readonly updatedAt: number;
}

/** Known meta keys. Values must be JSON. */
export interface LocalMeta {
  clientId: string;
  lastMutationId: number;
  /** The app data schema the stored rows were written under; a mismatch means "drop rows and resync". */
  schemaVersion: number;
}

export interface RowsArea {
  /** The subscription's rows ordered by key (plain string order). */
  getAll(subscriptionId: string): Promise<PersistedRow[]>;
  /** Inserts or replaces, all in one transaction. */
  putMany(rows: readonly PersistedRow[]): Promise<void>;
  /** Missing keys are ignored; one transaction. */
  deleteMany(subscriptionId: string, keys: readonly string[]): Promise<void>;
  clear(subscriptionId: string): Promise<void>;
}

export interface SubscriptionsArea {
  get(id: string): Promise<PersistedSubscription | undefined>;
  /** Ordered by id. */
  list(): Promise<PersistedSubscription[]>;
  put(subscription: PersistedSubscription): Promise<void>;
  /** Deletes the subscription AND its rows (one transaction): no orphan rows. */
  delete(id: string): Promise<void>;
}

export interface OutboxArea {
  /**
   * Rejects with OutboxFullError at `maxOutbox` entries (the app should tell
   * the user writes are piling up offline) and with DuplicateMutationError if
   * the id is already stored.
   */
  add(entry: OutboxEntry): Promise<void>;
  /**
   * A newly allocated mutation: its entry AND meta `lastMutationId` = its id, in
   * ONE storage transaction. Allocating an id and storing its entry as two writes
   * lets a crash between them keep the id without the entry: that id is never
   * sent, and the server refuses every later one (ids must rise by one). Rejects,
   * writing nothing, like `add`, and with DuplicateMutationError if the id is not
   * above the stored `lastMutationId` (it was handed out before, e.g. by another tab).
   */
  append(entry: OutboxEntry): Promise<void>;
  /** Ordered by mutationId ascending: the order they must be sent in. */
  list(): Promise<OutboxEntry[]>;
  count(): Promise<number>;
  delete(mutationId: number): Promise<void>;
  /** For an ACK naming several mutations; one transaction, missing ids ignored. */
  deleteMany(mutationIds: readonly number[]): Promise<void>;
}

export interface DraftsArea {
  get(key: string): Promise<DraftRecord | undefined>;
  /**
   * Rejects with InvalidDraftKeyError, DraftTooLargeError (`maxDraftBytes`,
   * UTF-8 JSON size) or DraftsFullError (`maxDrafts`, only for a new key).
   */
  put(key: string, value: JsonValue): Promise<DraftRecord>;
  /** Resolves whether a draft existed. */
  delete(key: string): Promise<boolean>;
  /** Ordered. */
  keys(): Promise<string[]>;
}

export interface MetaArea {
  get<K extends keyof LocalMeta>(key: K): Promise<LocalMeta[K] | undefined>;
  set<K extends keyof LocalMeta>(key: K, value: LocalMeta[K]): Promise<void>;
  delete(key: keyof LocalMeta): Promise<void>;
}

export interface LocalStoreLimits {
  /** Default 10,000. */
  readonly maxOutbox?: number;
  /** Default 1,000. */
  readonly maxDrafts?: number;
  /** Per draft, default 256 KiB. */
  readonly maxDraftBytes?: number;
}

export interface LocalStoreOptions extends LocalStoreLimits {
  readonly namespace: string;
  /** Clock for DraftRecord.updatedAt (tests). */
  readonly now?: () => number;
}
