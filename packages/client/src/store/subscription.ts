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
  disposed = false;
  /**
   * The server has this subscription on the current connection: it said so
   * (`SUBSCRIBED`), or sent its snapshot or changes. Only then does an `ack`
   * move its cursor: one that arrives while the server is still admitting it
   * would otherwise pass transactions its replay is about to bring.
   */
  attached = false;
  /**
   * Keys whose rows the stream left out for us (`covered`: they come with our
   * write's answer), and the cursor of the last stream change to each since —
   * an answer landing after the stream moved that row on must not undo it.
   */
  private readonly ownAwaited = new Map<string, { count: number; touchedAt?: string }>();

  constructor(
    readonly id: string,
    readonly collection: string,
    readonly params: SubscriptionParams | undefined,
    private readonly onUnsubscribe: (id: string) => void,
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
  restore(rows: SnapshotMessage['rows'], cursor: string | null): void {
    if (cursor === null) return; // never got a complete snapshot: start from the server's
    // Not the server's own snapshot (the store, or the leading tab): own rows awaited are not in it yet.
    this.receiveSnapshot({ subscription: this.id, rows, cursor, done: true }, false);
  }

  receiveSnapshot(message: SnapshotMessage, fromServer = true): void {
    if (!this.store.snapshotInProgress && this.currentStatus !== 'resyncing') this.setStatus('snapshot');
    this.store.stageSnapshotPart(message.rows);
    if (!message.done) return;
    this.store.commitSnapshot();
    this.currentCursor = message.cursor;
    this.attached = fromServer;
    if (fromServer) this.touchAwaited(message.cursor);
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
    for (const c of changes) {
      const awaited = this.ownAwaited.get(c.key);
      if (awaited) awaited.touchedAt = cursor;
    }
  }

  /** An awaited own row that will not be placed (the answer had none for it). */
  dropOwn(key: string): void {
    const awaited = this.ownAwaited.get(key);
    if (awaited && --awaited.count <= 0) this.ownAwaited.delete(key);
  }

  /** Keys awaited with the stream's last change to each since (for a follower taking a copy). */
  awaitedTouches(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, a] of this.ownAwaited) if (a.touchedAt !== undefined) out[key] = a.touchedAt;
    return out;
  }

  /** The leading tab saw the stream change an awaited row at `cursor` (its copy says so, ours may not). */
  noteTouched(key: string, cursor: string): void {
    const awaited = this.ownAwaited.get(key);
    if (awaited && (awaited.touchedAt === undefined || cursor > awaited.touchedAt)) awaited.touchedAt = cursor;
  }

  /** A stream message covered one of our rows of this subscription: its row will come with the answer. */
  expectOwn(key: string): void {
    const awaited = this.ownAwaited.get(key);
    if (awaited) awaited.count++;
    else this.ownAwaited.set(key, { count: 1 });
  }

  /**
   * A row of our own mutation's answer that the stream left out for us. Applied
   * only if newer than what we hold, so a late answer never undoes a later change.
   */
  applyOwn(change: Change, coveredAt?: string): boolean {
    const awaited = this.ownAwaited.get(change.key);
    if (awaited && --awaited.count <= 0) this.ownAwaited.delete(change.key);
    // The stream changed this row after the message that covered it (say, someone deleted it): that is newer.
    if (awaited?.touchedAt !== undefined && coveredAt !== undefined && awaited.touchedAt > coveredAt) return false;
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

  /** An ack's cursor; returns whether it moved ours (only while attached, see `attached`). */
  /** Following: the leading tab placed (or dropped) an own row; do as it did. */
  replicateOwn(key: string, change: Change | undefined, applied: boolean): boolean {
    this.dropOwn(key);
    if (!change || !applied || this.currentStatus !== 'live') return false;
    this.store.apply([change]);
    this.emitChange('changes', [change]);
    return true;
  }

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
        collection: this.id,
        op: 'insert' as const,
        key: r.key,
        row: r.row,
        version: r.version,
      })),
      ...diff.updated.map((r) => ({
        collection: this.id,
        op: 'update' as const,
        key: r.key,
        row: r.row,
        version: r.version,
      })),
      ...diff.removed.map((key) => ({ collection: this.id, op: 'delete' as const, key, row: null, version: 0 })),
    ];
    this.store.apply(changes);
    this.currentCursor = diff.cursor;
    this.touchAwaited(diff.cursor);
    this.setStatus('live');
    this.settleReady?.();
    this.settleReady = undefined;
    this.emitChange('snapshot', changes);
  }

  /** Server truth as of `cursor` replaced the rows: own rows covered before it are older. */
  private touchAwaited(cursor: string): void {
    for (const awaited of this.ownAwaited.values()) awaited.touchedAt = cursor;
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
