import type { CoveredChange, ErrorMessage, Row, WriteOp } from '@syncline/protocol';
import { DEFAULT_BACKOFF } from './connection/backoff.ts';
import type { ConnectionState } from './connection/connection-state.ts';
import { decodeEvent } from './connection/decode-event.ts';
import { EventStream } from './connection/event-stream.ts';
import { HttpError } from './connection/http-error.ts';
import { ServerSubscriptions } from './connection/server-subscriptions.ts';
import type { SseEvent } from './connection/sse-parser.ts';
import { globalFetch, realTimers } from './connection/timers.ts';
import { randomId } from './random-id.ts';
import { createStats, type SyncClientStats } from './stats.ts';
import { Emitter } from './store/emitter.ts';
import type { SubscriptionHandle } from './store/subscription-handle.ts';
import { SubscriptionRegistry } from './store/subscription-registry.ts';
import { Subscription } from './store/subscription.ts';
import { SyncError } from './store/sync-error.ts';
import type { SubscribeOptions, SyncClientEvents, SyncClientOptions } from './sync-client-options.ts';
import type { WebSocketConstructor } from './connection/ws-stream.ts';
import { browserOnline } from './connection/online-source.ts';
import type { LocalStore } from './persistence/local-store.ts';
import { PersistedState } from './persistence/persisted-state.ts';
import { ClientWrites } from './mutations/client-writes.ts';
import { requestDiffSync } from './connection/diff-sync.ts';
import { createQuery, type QueryBuilder, type ViewSource } from './query/live-query.ts';
import { Drafts } from './drafts/drafts.ts';
import type { Predictor } from './mutations/pending-mutations.ts';
import type { SubscriptionParams } from './store/subscription-handle.ts';

/**
 *   subscribe() ─▶ registry ─(first one)─▶ EventStream ─ GET /v1/sync/events?subscribe=…
 *        └─(open)─▶ ServerSubscriptions ─ POST /subscribe        │ SSE events
 *                                                                 ▼
 *   decodeEvent ─▶ hello    → connectionId; POST what the GET missed; liveness on
 *               ─▶ snapshot / changes / ack → registry → handles' 'change', client 'transaction'
 *               ─▶ resync   → wipe the subscription, re-subscribe without cursor
 *               ─▶ error    → subscription error | AUTH_FAILED stops everything
 */
// Mirrors subscriptionIdSchema in @syncline/protocol (not imported: it would pull zod into the bundle).
const SUBSCRIPTION_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

export class SyncClient {
  readonly clientId: string;
  private readonly statsData = createStats();
  private readonly emitter = new Emitter<SyncClientEvents>();
  private readonly registry: SubscriptionRegistry;
  private readonly server: ServerSubscriptions;
  private readonly stream: EventStream;
  private lastError: ErrorMessage | undefined;
  private idCounter = 0;

  /** A token function can mint a fresh token, so an expired one is worth a reconnect. */
  private readonly refreshableToken: boolean;

  constructor(options: SyncClientOptions) {
    this.clientId = options.clientId ?? randomId();
    this.refreshableToken = typeof options.token === 'function';
    const fetch = options.fetch ?? globalFetch;
    this.http = { fetch, baseUrl: options.url, clientId: this.clientId, token: options.token };
    const webSocket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    this.persisted = options.store
      ? new PersistedState(options.store, (e) => this.emitter.emit('storageError', e))
      : undefined;
    this.registry = new SubscriptionRegistry(this.statsData, (event) => {
      this.persisted?.transactionApplied(event, this.awaitingOwnRows);
      this.scheduleBaseRebuild();
      this.emitter.emit('transaction', event);
    });
    this.writes = new ClientWrites({
      baseUrl: options.url,
      clientId: this.clientId,
      token: options.token,
      fetch,
      timers: options.timers ?? realTimers,
      random: options.random ?? Math.random,
      store: options.store,
      onRejected: (e) => this.emitter.emit('rejected', e),
      applyCovered: (subId, change) => {
        const sub = this.registry.get(subId);
        if (!sub) return;
        const applied = sub.applyOwn(change);
        // Whatever was held for this subscription lands now, with its own row, at its cursor.
        this.awaitingOwnRows.delete(subId);
        if (sub.cursor !== undefined) this.persisted?.release(subId, applied ? [change] : [], sub.cursor);
        if (applied) this.scheduleBaseRebuild();
      },
    });
    this.writes.pending.on('change', () => this.emitter.emit('view', undefined));
    this.draftsInstance = options.store
      ? new Drafts(options.store, (e) => this.emitter.emit('storageError', e))
      : undefined;
    this.writes.undoManager.on('change', (e) => this.emitter.emit('history', e));
    this.server = new ServerSubscriptions({
      fetch,
      baseUrl: options.url,
      clientId: this.clientId,
      token: options.token,
      registry: this.registry,
      webSocket: (options.transport ?? 'ws') === 'ws' && webSocket !== undefined,
    });
    this.stream = new EventStream({
      fetch,
      timers: options.timers ?? realTimers,
      random: options.random ?? Math.random,
      backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
      connectTimeoutMs: options.connectTimeoutMs ?? 15_000,
      request: (lastEventId) => this.server.request(lastEventId),
      onEvent: (event) => this.onEvent(event),
      onStateChange: (state, previous, reason) => this.onStateChange(state, previous, reason),
      onTimeout: () => this.statsData.livenessTimeouts++,
      ...(webSocket ? { webSocket } : {}),
      onSender: (send) => this.server.setSender(send),
    });
    this.stopOnline = (options.online ?? browserOnline).subscribe((online) => {
      if (online) this.stream.nudge();
    });
  }

  private readonly stopOnline: () => void;
  private readonly persisted: PersistedState | undefined;
  private readonly writes: ClientWrites;
  private readonly http: Parameters<typeof requestDiffSync>[0];
  private readonly viewSource: ViewSource = {
    view: () => this.writes.pending.view(),
    onChange: (listener) => this.on('view', listener),
  };
  private readonly draftsInstance: Drafts | undefined;
  private writesStarted: Promise<void> | undefined;
  private rebuildQueued = false;
  private readonly awaitingOwnRows = new Set<string>();
  /** Rebuilt from storage and not yet claimed by a subscribe() call. */
  private readonly restored = new Map<string, Subscription>();

  get state(): ConnectionState {
    return this.stream.state;
  }
  /** From the current connection's `hello`; undefined while not open. */
  get connectionId(): string | undefined {
    return this.server.connectionId;
  }
  /** The last connection-level error (not tied to a subscription). */
  get error(): ErrorMessage | undefined {
    return this.lastError;
  }
  get stats(): Readonly<SyncClientStats> {
    return this.statsData;
  }

  on<K extends keyof SyncClientEvents>(event: K, listener: (payload: SyncClientEvents[K]) => void): () => void {
    return this.emitter.on(event, listener);
  }

  /**
   * A client over local storage: subscriptions stored by an earlier client are
   * rebuilt first — their rows readable at once, without the network — and
   * resume from their stored cursors once connected.
   */
  static async open(options: SyncClientOptions & { store: LocalStore }): Promise<SyncClient> {
    // The client id lives with the store: mutations stored by an earlier session must be
    // re-sent under the id they were first sent with, or the server could apply them twice.
    const stored = await options.store.meta.get('clientId');
    const clientId = options.clientId ?? stored ?? randomId();
    if (stored !== clientId) await options.store.meta.set('clientId', clientId);
    const client = new SyncClient({ ...options, clientId });
    await client.restore();
    await client.startWrites();
    return client;
  }

  // ── writes ──────────────────────────────────────────────────────────────

  /** Applies ops at once to the view and queues them for the server (in order, retried). Resolves with the mutation id. */
  async mutate(ops: WriteOp[]): Promise<number> {
    await this.startWrites();
    return this.writes.mutate(ops);
  }

  /** A named server mutator; pass `predict` to `registerMutator` to show its effect before the answer. */
  async mutator(name: string, args: unknown): Promise<number> {
    await this.startWrites();
    return this.writes.mutator(name, args);
  }

  /** Local effect of a named mutator, for the optimistic view. */
  registerMutator(name: string, predict: Predictor): () => void {
    return this.writes.pending.registerMutator(name, predict);
  }

  /** Sends the inverse of the last local mutation as a new one; undefined when there is nothing to undo. */
  async undo(): Promise<number | undefined> {
    await this.startWrites();
    return this.writes.undo();
  }

  async redo(): Promise<number | undefined> {
    await this.startWrites();
    return this.writes.redo();
  }

  get canUndo(): boolean {
    return this.writes.undoManager.canUndo;
  }
  get canRedo(): boolean {
    return this.writes.undoManager.canRedo;
  }

  /** The rows of a table as the user should see them: server rows plus pending local mutations. */
  view(table: string): Row[] {
    return this.writes.view(table);
  }

  /**
   * A live query over a table of the optimistic view:
   * `client.query('order').where((o) => o.status === 'pending').orderBy('created_at').limit(20).subscribe(render)`.
   * It re-runs only when its table changes, and notifies only when its result does.
   */
  query<R extends Row = Row>(table: string): QueryBuilder<R> {
    void this.startWrites(); // the table view is built from the subscriptions once writes are on
    return createQuery<R>(this.viewSource, table);
  }

  /** Unsaved form state per key, persisted in the client's store (present when a store was given). */
  get drafts(): Drafts | undefined {
    return this.draftsInstance;
  }

  /** Mutations not yet confirmed by the server. */
  get pendingMutations(): number {
    return this.writes.pending.size;
  }

  private startWrites(): Promise<void> {
    if (!this.writesStarted) {
      this.writesStarted = this.writes.start();
      this.scheduleBaseRebuild();
    }
    return this.writesStarted;
  }

  /** A client that never writes never builds the table view (nor asks for /v1/collections). */
  private scheduleBaseRebuild(): void {
    if (!this.writesStarted || this.rebuildQueued) return;
    this.rebuildQueued = true;
    queueMicrotask(() => {
      this.rebuildQueued = false;
      this.writes.rebuildBase(this.registry.byId.values());
    });
  }

  /** Subscribes; the first call opens the connection. Row type R is the caller's claim, not checked. */
  subscribe<R extends Row = Row>(options: SubscribeOptions): SubscriptionHandle<R> {
    if (this.state === 'closed') throw new Error('SyncClient is closed');
    const id = options.id ?? `s${++this.idCounter}-${randomId().slice(0, 8)}`;
    if (!SUBSCRIPTION_ID.test(id)) throw new TypeError(`invalid subscription id: ${id}`);
    const restored = this.restored.get(id);
    if (restored) {
      this.restored.delete(id);
      if (restored.collection === options.collection && sameParams(restored.params, options.params)) {
        if (this.state === 'idle') this.stream.start();
        return restored as unknown as SubscriptionHandle<R>;
      }
      this.unsubscribe(id); // stored under this id with other params: start over
    }
    if (this.registry.byId.has(id)) throw new Error(`subscription id already in use: ${id}`);
    const sub = new Subscription(id, options.collection, options.params, (subId) => this.unsubscribe(subId));
    this.registry.byId.set(id, sub);
    this.watchForPersistence(sub);
    this.persisted?.subscribed(sub);
    if (this.state === 'idle') this.stream.start();
    else this.server.subscribe(sub);
    return sub as unknown as SubscriptionHandle<R>;
  }

  /** Resolves when everything received so far is in local storage. */
  flushStorage(): Promise<void> {
    return this.persisted?.flush() ?? Promise.resolve();
  }

  private async restore(): Promise<void> {
    if (!this.persisted) return;
    for (const { sub: stored, rows } of await this.persisted.load()) {
      const params = stored.params === null ? undefined : (stored.params as SubscriptionParams);
      const sub = new Subscription(stored.id, stored.collection, params, (subId) => this.unsubscribe(subId));
      sub.restore(rows, stored.cursor);
      this.registry.byId.set(sub.id, sub);
      this.restored.set(sub.id, sub);
      this.watchForPersistence(sub);
    }
  }

  private watchForPersistence(sub: Subscription): void {
    sub.on('change', (e) => {
      if (e.cause !== 'changes') this.scheduleBaseRebuild(); // snapshots and resyncs (changes come via 'transaction')
    });
    if (!this.persisted) return;
    const persisted = this.persisted;
    sub.on('change', (e) => {
      if (e.cause === 'snapshot') persisted.snapshotCommitted(sub);
    });
  }

  /** Stops for good: aborts the stream and pending requests, clears timers. */
  async close(): Promise<void> {
    this.stopOnline();
    this.draftsInstance?.dispose();
    this.writes.close();
    await this.stream.close();
  }

  private unsubscribe(id: string): void {
    const sub = this.registry.get(id);
    if (!sub) return;
    this.registry.byId.delete(id);
    this.restored.delete(id);
    this.persisted?.unsubscribed(id);
    sub.dispose(new SyncError('UNSUBSCRIBED', `subscription ${id} was unsubscribed`, id));
    this.server.unsubscribe(id);
  }

  /**
   * Subscriptions whose own rows the stream left out (they come with our mutate
   * answer): their stored cursor must not pass those rows before they are stored.
   */
  private holdForOwnRows(covered: readonly CoveredChange[] | undefined): void {
    for (const c of covered ?? []) this.awaitingOwnRows.add(c.collection);
  }

  /** `ws` or `sse`: what the next connection uses. */
  get transport(): 'ws' | 'sse' {
    return this.server.transport;
  }

  private onEvent(event: SseEvent): void {
    this.statsData.eventsReceived++;
    // WebSocket-only messages: a refresh before the token expires; confirmations need nothing.
    if (event.type === 'token_expiring_soon') return void this.server.refreshToken();
    const decoded = decodeEvent(event.type, event.data);
    if (decoded === 'unknown') return;
    if (decoded === 'malformed') {
      this.statsData.malformedEvents++;
      return;
    }
    switch (decoded.type) {
      case 'hello':
        this.statsData.connects++;
        // connectionId first, so 'state' listeners seeing 'open' can read it.
        this.server.opened(decoded.message.connectionId);
        return this.stream.opened(decoded.message.heartbeatMs);
      case 'snapshot':
        return this.registry.applySnapshot(decoded.message);
      case 'changes':
        this.holdForOwnRows(decoded.message.covered);
        this.registry.applyChanges(decoded.message);
        return this.writes.onStream(decoded.message);
      case 'ack':
        this.holdForOwnRows(decoded.message.covered);
        this.registry.applyAck(decoded.message);
        this.persisted?.cursorsAdvanced(this.registry.byId.values(), this.awaitingOwnRows);
        this.writes.onStream(decoded.message);
        return this.emitter.emit('ack', decoded.message);
      case 'resync':
        return this.resync(decoded.message.subscription, decoded.message.reason);
      case 'error':
        return this.onError(decoded.message);
      case 'ping':
        return; // its bytes already fed the liveness watchdog
    }
  }

  /**
   * The server cannot resume a subscription. With rows in hand, ask what changed
   * (differential sync) and keep showing them meanwhile; with none, when versions
   * cannot tell (a schema change, other claims), or if that fails, start over
   * from a snapshot.
   */
  private resync(id: string, reason?: string): void {
    const sub = this.registry.get(id);
    if (!sub) return;
    this.statsData.resyncs++;
    const versions: Record<string, number> = {};
    for (const [key, r] of sub.rowsByKey()) versions[key] = r.version;
    // Versions cannot tell what these change: a new column's default (no row's version moves),
    // or a token that binds other rows. Only a snapshot can.
    const versionsBlind = reason === 'schema-changed' || reason === 'claims-changed';
    if (Object.keys(versions).length === 0 || sub.status === 'resyncing' || versionsBlind) {
      sub.resync();
      this.server.subscribe(sub);
      return;
    }
    sub.startDiffSync();
    requestDiffSync(this.http, sub.toWire(), versions).then(
      (diff) => {
        if (this.registry.get(id) !== sub) return; // unsubscribed meanwhile
        this.statsData.diffSyncs++;
        sub.applyDiff(diff);
        this.server.subscribe(sub); // carries the answer's cursor: resumes live from there
      },
      () => {
        if (this.registry.get(id) !== sub) return;
        sub.resync();
        this.server.subscribe(sub);
      },
    );
  }

  private onError(error: ErrorMessage): void {
    this.statsData.errors++;
    const sub = error.subscription === undefined ? undefined : this.registry.get(error.subscription);
    // MUST_RESYNC scoped to a subscription means the same as a `resync` event.
    if (sub && error.code === 'MUST_RESYNC') return this.resync(sub.id);
    if (sub) sub.fail(error);
    if (error.subscription === undefined || error.code === 'AUTH_FAILED') this.lastError = error;
    // Retrying with the same credentials cannot succeed; the app must create a new client.
    // With a token function the next connect asks it for a new token (the usual case: the
    // token expired); if the server refuses that one too, the 401 stops the stream.
    if (error.code === 'AUTH_FAILED' && !this.refreshableToken) this.stream.fail(error);
    this.emitter.emit('error', error);
  }

  private onStateChange(state: ConnectionState, previous: ConnectionState, reason: unknown): void {
    if (state === 'backoff') this.server.attemptEnded(previous === 'open');
    if (state === 'backoff' || state === 'closed') {
      this.server.lost();
      this.registry.connectionLost();
    }
    if (previous === 'backoff' && state === 'connecting') this.statsData.reconnects++;
    if (reason instanceof HttpError) {
      const code = reason.isAuthFailure ? 'AUTH_FAILED' : 'INTERNAL';
      this.lastError = reason.body ?? { code, message: reason.message };
    }
    if (state === 'closed') {
      const fatal = this.stream.fatalError;
      const why = fatal === undefined ? new SyncError('CLOSED', 'SyncClient closed') : SyncError.from(fatal);
      for (const sub of this.registry.byId.values()) sub.dispose(why);
    }
    this.emitter.emit('state', { state, previous, reason });
  }
}

function sameParams(a: SubscriptionParams | undefined, b: SubscriptionParams | undefined): boolean {
  return JSON.stringify(a ?? {}) === JSON.stringify(b ?? {});
}
