/**
 * One Syncline subscription as TanStack DB sync transactions. The collection
 * mirrors the subscription's rows (never the client's optimistic view: TanStack
 * DB keeps its own optimistic state on top).
 *
 *   'change' snapshot ──────────────▶ begin ─ writes (diff against what we wrote) ─ commit ─ markReady
 *   'change' resync ────────────────▶ remember: the next snapshot replaces everything
 *   'change' snapshot after resync ─▶ begin ─ truncate ─ writes ─ commit   (no empty moment)
 *   'change' changes (stream) ──────▶ begin ─ writes ... commit on the client's 'transaction'
 *   'change' changes (own rows) ────▶ begin ─ writes ... commit at the end of the task's microtasks
 *
 * The subscription notifies every subscription a transaction touched, then the
 * client emits 'transaction' once; committing there gives one TanStack commit
 * per PostgreSQL transaction. Own rows (placed from a write's answer) come
 * one event per row and no 'transaction': they are gathered into one commit.
 * Values are read from the subscription's store, not the event, so a change
 * the store skipped as stale is skipped here too.
 */
import type { SubscriptionHandle, SyncClient } from '@syncline/client';
import type { Row } from '@syncline/protocol';
import type { ChangeMessageOrDeleteKeyMessage } from '@tanstack/db';

export interface SyncCallbacks<T extends object, K extends string | number> {
  begin(): void;
  write(message: ChangeMessageOrDeleteKeyMessage<T, K>): void;
  commit(): unknown;
  truncate(): void;
  markReady(): void;
  markError(error?: unknown): void;
}

/** What one commit changed, for the mutations waiting on their rows (see confirmations.ts). */
export interface Committed {
  /** Subscription keys written or deleted. */
  keys: readonly string[];
  /** The rows were replaced as a whole (a snapshot): every wait on a key is over. */
  replaced: boolean;
}

export class CollectionSync<T extends object, K extends string | number> {
  /**
   * Subscription key → the collection key and the row object we wrote. Compared by identity,
   * not version: a row deleted and inserted again (or after a TRUNCATE) starts over at version 1.
   */
  private readonly written = new Map<string, { key: K; row: object }>();
  private open: string[] | undefined;
  private truncateNext = false;
  private ready = false;
  private readonly stops: Array<() => void> = [];

  constructor(
    private readonly client: SyncClient,
    private readonly handle: SubscriptionHandle,
    private readonly getKey: (row: T) => K,
    private readonly sync: SyncCallbacks<T, K>,
    private readonly onCommitted: (committed: Committed) => void,
  ) {}

  start(): void {
    this.stops.push(
      this.handle.on('change', (e) => {
        if (e.cause === 'resync') return void (this.truncateNext = true);
        if (e.cause === 'snapshot') return this.snapshot();
        this.collect(e.changes.map((c) => c.key));
      }),
      this.handle.on('status', (e) => {
        if (e.status === 'error' && !this.ready) this.sync.markError(this.handle.error);
      }),
      this.client.on('transaction', () => this.flush()),
    );
    // Rows already there (restored from the local store) and live: no 'snapshot' event will come for them.
    if (this.handle.status === 'live') this.snapshot();
  }

  stop(): void {
    this.flush();
    for (const stop of this.stops.splice(0)) stop();
  }

  /** The collection key of a subscription key we wrote (what a delete or an update names). */
  keyOf(subscriptionKey: string): K | undefined {
    return this.written.get(subscriptionKey)?.key;
  }

  private snapshot(): void {
    this.flush();
    const rows = this.handle.rowsByKey();
    this.sync.begin();
    if (this.truncateNext) {
      this.truncateNext = false;
      this.sync.truncate();
      this.written.clear();
    }
    for (const key of [...this.written.keys()]) if (!rows.has(key)) this.put(key);
    for (const key of rows.keys()) this.put(key);
    this.sync.commit();
    if (!this.ready) {
      this.ready = true;
      this.sync.markReady();
    }
    this.onCommitted({ keys: [], replaced: true });
  }

  private collect(keys: readonly string[]): void {
    if (this.open === undefined) {
      this.open = [];
      this.sync.begin();
      // Own rows have no 'transaction' event after them: commit once this task's placements are done.
      queueMicrotask(() => this.flush());
    }
    for (const key of keys) {
      this.put(key);
      this.open.push(key);
    }
  }

  private flush(): void {
    const keys = this.open;
    if (keys === undefined) return;
    this.open = undefined;
    this.sync.commit();
    this.onCommitted({ keys, replaced: false });
  }

  /** Writes what the subscription holds for `key` now, if it differs from what we wrote. */
  private put(key: string): void {
    const stored = this.handle.rowsByKey().get(key);
    const had = this.written.get(key);
    if (stored === undefined) {
      if (had === undefined) return;
      this.forget(key);
      return this.sync.write({ type: 'delete', key: had.key });
    }
    if (had?.row === stored.row) return;
    const value = stored.row as Row as T;
    const collectionKey = this.getKey(value);
    if (had !== undefined && had.key !== collectionKey) {
      this.forget(key);
      this.sync.write({ type: 'delete', key: had.key });
    }
    this.written.set(key, { key: collectionKey, row: stored.row });
    this.sync.write({ type: had !== undefined && had.key === collectionKey ? 'update' : 'insert', value });
  }

  private forget(key: string): void {
    this.written.delete(key);
  }
}
