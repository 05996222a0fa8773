import type {
  DiffSyncResponse,
  Change,
  ErrorMessage,
  Row,
  SnapshotMessage,
  Subscription as WireSubscription,
} from '@syncline/protocol';
import { Emitter } from './emitter.ts';
import { RowStore, type StoredRow } from './row-store.ts';
import type {
  SubscriptionChangeEvent,
  SubscriptionEvents,
  SubscriptionHandle,
  SubscriptionParams,
  SubscriptionStatus,
} from './subscription-handle.ts';
import { SyncError } from './sync-error.ts';
import type { OwnRows } from '../own-rows/own-rows.ts';

/**
 * One subscription's state: rows, cursor, status, listeners. Mutated only by
 * SubscriptionRegistry and SyncClient; applying and notifying are separate
 * steps so a transaction spanning several subscriptions is applied to all of
 * them before any listener runs.
 */
export class Subscription<R extends Row = Row> implements SubscriptionHandle<R> {
  private readonly store = new RowStore<R>();
  private readonly emitter = new Emitter<SubscriptionEvents>();
  private readonly readyPromise: Promise<void>;
  private settleReady: ((error?: unknown) => void) | undefined;
  private currentStatus: SubscriptionStatus = 'connecting';
  private lastError: ErrorMessage | undefined;
  private currentCursor: string | undefined;
  private knownTable: string | undefined;
  disposed = false;
  /**
   * The server has this subscription on the current connection: it said so
   * (`SUBSCRIBED`), or sent its snapshot or changes. Only then does an `ack`
   * move its cursor: one that arrives while the server is still admitting it
   * would otherwise pass transactions its replay is about to bring.
   */
  attached = false;
  constructor(
    readonly id: string,
    readonly collection: string,
    readonly params: SubscriptionParams | undefined,
    private readonly onUnsubscribe: (id: string) => void,
    /** Told of stream changes and server snapshots, so an own row older than them is not placed. */
    private readonly ownRows?: Pick<OwnRows, 'touched' | 'snapshotAt'>,
  ) {
    this.readyPromise = new Promise<void>((resolve, reject) => {
      this.settleReady = (error) => (error === undefined ? resolve() : reject(error));
    });
    // Nobody may ever call ready(); a rejection must not surface as "unhandled".
    this.readyPromise.catch(() => undefined);
  }

  get status(): SubscriptionStatus {
    return this.currentStatus;
  }
  get error(): ErrorMessage | undefined {
    return this.lastError;
  }
  get cursor(): string | undefined {
    return this.currentCursor;
  }
  /** The table its rows come from, schema-qualified (`public.order`), once the server (or the store) said. */
  get table(): string | undefined {
    return this.knownTable;
  }
  get snapshotInProgress(): boolean {
    return this.store.snapshotInProgress;
  }

  rows(): readonly R[] {
    return this.store.toArray();
  }
  rowsByKey(): ReadonlyMap<string, StoredRow<R>> {
    return this.store.byKey;
  }
  get(key: string): R | undefined {
    return this.store.get(key)?.row;
  }
  on<K extends keyof SubscriptionEvents>(event: K, listener: (payload: SubscriptionEvents[K]) => void): () => void {
    return this.emitter.on(event, listener);
  }
  ready(): Promise<void> {
    return this.readyPromise;
  }
  unsubscribe(): void {
    if (!this.disposed) this.onUnsubscribe(this.id);
  }

  /** The subscription as sent on the wire; carries the cursor so the server resumes instead of re-snapshotting. */
  toWire(): WireSubscription {
    const wire: WireSubscription = { id: this.id, collection: this.collection };
    if (this.params !== undefined) wire.params = this.params;
    if (this.currentCursor !== undefined) wire.cursor = this.currentCursor;
    return wire;
  }

  /** Rows and cursor from local storage: shown at once, and the cursor resumes the stream. */
  restore(rows: SnapshotMessage['rows'], cursor: string | null, table?: string): void {
    if (table !== undefined) this.knownTable = table;
    if (cursor === null) return; // never got a complete snapshot: start from the server's
    // Not the server's own snapshot (the store, or the leading tab): own rows awaited are not in it yet.
    this.receiveSnapshot({ subscription: this.id, rows, cursor, done: true }, false);
  }

  /** The server has it on this connection (`subscribed`), and said which table its rows come from. */
  attach(table: string): void {
    this.attached = true;
    this.knownTable = table;
  }

  receiveSnapshot(message: Omit<SnapshotMessage, 'table'> & { table?: string }, fromServer = true): void {
    if (message.table !== undefined) this.knownTable = message.table;
    if (!this.store.snapshotInProgress && this.currentStatus !== 'resyncing') this.setStatus('snapshot');
    this.store.stageSnapshotPart(message.rows);
    if (!message.done) return;
    this.store.commitSnapshot();
    this.currentCursor = message.cursor;
    this.attached = fromServer;
    if (fromServer) this.ownRows?.snapshotAt(this.id, message.cursor);
    this.setStatus('live');
    this.settleReady?.();
    this.settleReady = undefined;
    this.emitChange('snapshot', []);
  }

  /** Ordering guard for one `changes` message. Cursors compare as strings, see SubscriptionRegistry. */
  admit(cursor: string): 'apply' | 'duplicate' | 'not-ready' {
    if (this.currentCursor === undefined || this.store.snapshotInProgress || this.currentStatus === 'error') {
      return 'not-ready';
    }
    return this.currentCursor >= cursor ? 'duplicate' : 'apply';
  }

  apply(changes: readonly Change[], cursor: string): void {
    // Row versions only rise. A change older than the row we hold is one our state already went
    // past: a differential-sync answer reflects the database as of its query, and the transactions
    // replayed after its cursor may predate that; applying them would show an older row for a moment.
    const current = changes.filter((c) => {
      const had = this.store.get(c.key);
      return had === undefined || c.version >= had.version;
    });
    this.store.apply(current.length === changes.length ? changes : current);
    this.currentCursor = cursor;
    for (const c of changes) this.ownRows?.touched(this.id, c.key, cursor);
  }

  /**
   * A row of our own mutation's answer that the stream left out for us (see
   * own-rows/). Applied only if newer than what we hold, so a late answer
   * never undoes a later change.
   */
  applyOwn(change: Change): boolean {
    const had = this.store.get(change.key);
    const newer =
      change.op === 'delete'
        ? had !== undefined && had.version <= change.version
        : had === undefined || had.version < change.version;
    if (!newer || this.currentStatus !== 'live') return false;
    this.store.apply([change]);
    this.emitChange('changes', [change]);
    return true;
  }

  /** Following: the leading tab placed an own row; do as it did. */
  replicateOwn(change: Change): boolean {
    if (this.currentStatus !== 'live') return false;
    this.store.apply([change]);
    this.emitChange('changes', [change]);
    return true;
  }

  /** An ack's cursor; returns whether it moved ours (only while attached, see `attached`). */
  advanceCursor(cursor: string): boolean {
    if (!this.attached || this.currentStatus !== 'live' || this.currentCursor === undefined) return false;
    if (cursor <= this.currentCursor) return false;
    this.currentCursor = cursor;
    return true;
  }

  /** Differential sync running: rows stay on screen while we ask what changed. */
  startDiffSync(): void {
    this.attached = false;
    this.currentCursor = undefined;
    this.setStatus('resyncing');
  }

  /** The answer of a differential sync: apply it and continue live from its cursor. */
  applyDiff(diff: DiffSyncResponse): void {
    const changes: Change[] = [
      ...diff.new.map((r) => ({
        subscription: this.id,
        op: 'insert' as const,
        key: r.key,
        row: r.row,
        version: r.version,
      })),
      ...diff.updated.map((r) => ({
        subscription: this.id,
        op: 'update' as const,
        key: r.key,
        row: r.row,
        version: r.version,
      })),
      ...diff.removed.map((key) => ({ subscription: this.id, op: 'delete' as const, key, row: null, version: 0 })),
    ];
    this.store.apply(changes);
    this.currentCursor = diff.cursor;
    this.ownRows?.snapshotAt(this.id, diff.cursor);
    this.setStatus('live');
    this.settleReady?.();
    this.settleReady = undefined;
    this.emitChange('snapshot', changes);
  }

  /** The server cannot resume us: drop everything and wait for a fresh snapshot. */
  resync(): void {
    this.attached = false;
    this.store.clear();
    this.currentCursor = undefined;
    this.setStatus('resyncing');
    this.emitChange('resync', []);
  }

  fail(error: ErrorMessage): void {
    this.lastError = error;
    this.store.discardSnapshot();
    this.setStatus('error');
    this.settleReady?.(SyncError.from(error));
    this.settleReady = undefined;
  }

  /** Snapshot parts from a dead connection can never be completed; the next one starts over. */
  connectionLost(): void {
    this.attached = false;
    if (!this.store.snapshotInProgress) return;
    this.store.discardSnapshot();
    if (this.currentStatus === 'snapshot') this.setStatus('connecting');
  }

  dispose(reason: SyncError): void {
    this.disposed = true;
    this.settleReady?.(reason);
    this.settleReady = undefined;
  }

  emitChange(cause: SubscriptionChangeEvent['cause'], changes: readonly Change[]): void {
    this.emitter.emit('change', { subscription: this.id, cause, changes, cursor: this.currentCursor });
  }

  private setStatus(status: SubscriptionStatus): void {
    if (status === this.currentStatus) return;
    this.currentStatus = status;
    this.emitter.emit('status', { subscription: this.id, status, error: this.lastError });
  }
}
