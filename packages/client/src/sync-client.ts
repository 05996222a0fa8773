import type { Change, ErrorMessage, JsonValue, Row, WriteOp } from '@syncline/protocol';
import { OwnRows } from './own-rows/own-rows.ts';
import type { PresenceRoom } from './presence/presence-room.ts';
import { PresenceRooms } from './presence/presence-rooms.ts';
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
import { SUBSCRIPTION_TABLE, subscriptionSource } from './query/subscription-source.ts';
import { Drafts } from './drafts/drafts.ts';
import type { Predictor } from './mutations/pending-mutations.ts';
import type { SubscriptionParams } from './store/subscription-handle.ts';
import { TabCoordinator, type TabHost, type TabRole } from './multitab/tab-coordinator.ts';
import type { ConnectionMirror, MirroredMutation, PresenceEvent, TabMessage } from './multitab/tab-messages.ts';
import { browserLocks } from './multitab/tab-locks.ts';
import { browserChannel } from './multitab/tab-channel.ts';
import type { PendingMutation } from './mutations/pending-mutations.ts';

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
  private readonly rooms: PresenceRooms;
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
    this.timers = options.timers ?? realTimers;
    this.unclaimedTtlMs = options.unclaimedSubscriptionTtlMs ?? 30_000;
    const fetch = options.fetch ?? globalFetch;
    this.http = { fetch, baseUrl: options.url, clientId: this.clientId, token: options.token };
    const webSocket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    this.persisted = options.store
      ? new PersistedState(options.store, (e) => this.emitter.emit('storageError', e))
      : undefined;
    this.registry = new SubscriptionRegistry(this.statsData, (event) => {
      this.persisted?.transactionApplied(event, this.ownRows.holding);
      this.writes.streamApplied(event.changes, event.cursor);
      this.emitter.emit('transaction', event);
    });
    this.ownRows = new OwnRows(this.clientId, {
      tables: async () => {
        const tables = await this.writes.collectionTables();
        if (tables.size === 0) return undefined;
        return (subId) => tables.get(this.registry.get(subId)?.collection ?? '');
      },
      place: (subId, key, change, fresh) => this.placeOwnRow(subId, key, change, fresh),
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
      subscriptions: this.registry.byId,
      onBaseBuilt: () => this.ownRows.retry(),
    });
    this.writes.pending.on('change', (e) => {
      const added = e.reason === 'add' ? this.writes.pending.get(e.mutationId ?? -1) : undefined;
      if (added) this.toFollowers({ t: 'pending-add', mutation: mirrorOf(added) });
      this.emitter.emit('view', undefined);
    });
    this.writes.pending.on('confirmed', (e) => {
      this.ownRows.answered(e.mutationId, e.rows);
      this.toFollowers({ t: 'pending-confirm', mutationId: e.mutationId, rows: [...e.rows], cursor: e.cursor });
    });
    this.writes.pending.on('rejected', (e) =>
      this.toFollowers({
        t: 'pending-reject',
        mutationId: e.mutationId,
        error: e.error,
        ...(e.current ? { current: e.current } : {}),
      }),
    );
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
    // A follower tab's presence rides the leader's connection, under this tab's own key.
    this.rooms = new PresenceRooms({
      send: (kind, body) => {
        if (!this.following) return this.server.sendPresence(kind, body);
        this.tabs?.presence(kind, body);
        return true;
      },
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
  private readonly timers: NonNullable<SyncClientOptions['timers']>;
  private readonly unclaimedTtlMs: number;
  /** Expiry timers of subscriptions nobody holds (see park()). */
  private readonly parked = new Map<string, unknown>();
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
  private readonly ownRows: OwnRows;
  /** Rebuilt from storage and not yet claimed by a subscribe() call. */
  private readonly restored = new Map<string, Subscription>();
  /** Subscriptions this client's callers hold (the leader also keeps other tabs' and stored ones). */
  private readonly localHeld = new Set<string>();
  /** Other tabs of this store (see multitab/); undefined for a client on its own. */
  private tabs: TabCoordinator | undefined;
  /** Following: the leading tab's connection. */
  private mirrored: ConnectionMirror = { state: 'connecting' };
  /**
   * Following: held subscriptions that take no changes until the leader's whole
   * state arrives (`reset`), so no change lands on a copy it does not follow from.
   */
  private readonly awaitingReset = new Set<string>();
  /** Set while loading stored subscriptions on takeover: followers already have newer rows. */
  private quiet = false;

  get state(): ConnectionState {
    return this.following && this.stream.state !== 'closed' ? this.mirrored.state : this.stream.state;
  }
  /** From the current connection's `hello`; undefined while not open. With several tabs, the leading tab's. */
  get connectionId(): string | undefined {
    return this.following ? this.mirrored.connectionId : this.server.connectionId;
  }
  /** `single` (a client on its own), or `leader`/`follower` among the tabs sharing its store. */
  get tabRole(): 'single' | TabRole {
    return this.tabs?.role ?? 'single';
  }

  private get following(): boolean {
    return this.tabs?.role === 'follower';
  }
  /**
   * Joins a presence room (`order:{orderId}` with `{ orderId }`, or a concrete name) with this
   * connection's state, and returns its handle; the same room again returns the same handle.
   * Rejoined by itself after a reconnect; in a follower tab it rides the leading tab's connection.
   */
  presence(room: string, params: Record<string, string | number> = {}, state: JsonValue = null): PresenceRoom {
    const name = room.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, p: string) => {
      const v = params[p];
      if (v === undefined) throw new Error(`presence room ${room} needs param "${p}"`);
      return String(v);
    });
    const handle = this.rooms.join(name, state);
    // A room alone opens the connection too (a follower tab's rides the leader's).
    if (!this.following && this.stream.state === 'idle') this.stream.start();
    return handle;
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
    const tabs = tabsFor(options);
    if (!tabs) {
      await client.startWrites();
      return client;
    }
    client.tabs = new TabCoordinator({ name: options.store.namespace, ...tabs, host: client.tabHost() });
    await client.tabs.start();
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
   * A live query over the optimistic view of a table, or of one subscription's rows
   * (`{ subscription: id }` or its handle: its rows with pending mutations on top):
   * `client.query('order').where((o) => o.status === 'pending').orderBy('created_at').limit(20).subscribe(render)`.
   * It re-runs only when its source changes, and notifies only when its result does.
   */
  query<R extends Row = Row>(target: string | SubscriptionHandle | { subscription: string }): QueryBuilder<R> {
    void this.startWrites(); // the table view is built from the subscriptions once writes are on
    if (typeof target === 'string') return createQuery<R>(this.viewSource, target);
    const id = 'subscription' in target ? target.subscription : target.id;
    const sub = this.registry.get(id);
    if (!sub) throw new Error(`unknown subscription: ${id}`);
    const source = subscriptionSource(this.viewSource, sub, () => this.writes.tableFor(sub.collection));
    return createQuery<R>(source, SUBSCRIPTION_TABLE);
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
      this.writes.rebuildBase();
    });
  }

  /** Subscribes; the first call opens the connection. Row type R is the caller's claim, not checked. */
  subscribe<R extends Row = Row>(options: SubscribeOptions): SubscriptionHandle<R> {
    if (this.state === 'closed') throw new Error('SyncClient is closed');
    const id = options.id ?? `s${++this.idCounter}-${randomId().slice(0, 8)}`;
    if (!SUBSCRIPTION_ID.test(id)) throw new TypeError(`invalid subscription id: ${id}`);
    const existing = this.registry.get(id);
    if (existing && !this.localHeld.has(id)) {
      // Stored (or kept for another tab): claim it when it is the same subscription.
      this.restored.delete(id);
      if (existing.collection === options.collection && sameParams(existing.params, options.params)) {
        this.localHeld.add(id);
        if (this.following) this.followSubscription(existing);
        else if (this.stream.state === 'idle') this.stream.start();
        return existing as unknown as SubscriptionHandle<R>;
      }
      if (this.tabs?.hasRemoteInterest(id)) throw new Error(`subscription id in use by another tab: ${id}`);
      this.unsubscribe(id); // stored under this id with other params: start over
    }
    if (this.registry.byId.has(id)) throw new Error(`subscription id already in use: ${id}`);
    const sub = this.addSubscription(id, options.collection, options.params);
    this.localHeld.add(id);
    if (this.following) this.followSubscription(sub);
    else this.connectSubscription(sub);
    return sub as unknown as SubscriptionHandle<R>;
  }

  private addSubscription(id: string, collection: string, params: SubscriptionParams | undefined): Subscription {
    const sub = new Subscription(id, collection, params, (subId) => this.release(subId), this.ownRows);
    this.registry.byId.set(id, sub);
    this.watchForPersistence(sub);
    return sub;
  }

  private followSubscription(sub: Subscription): void {
    this.awaitingReset.add(sub.id);
    this.tabs?.subscribe(sub.toWire());
  }

  private connectSubscription(sub: Subscription): void {
    this.persisted?.subscribed(sub);
    if (this.stream.state === 'idle') this.stream.start();
    else this.server.subscribe(sub);
  }

  /** Resolves when everything received so far is in local storage. */
  flushStorage(): Promise<void> {
    return this.persisted?.flush() ?? Promise.resolve();
  }

  private async restore(): Promise<void> {
    if (!this.persisted) return;
    for (const { sub: stored, rows } of await this.persisted.load()) {
      const params = stored.params === null ? undefined : (stored.params as SubscriptionParams);
      if (this.registry.byId.has(stored.id)) continue; // taking over: ours is newer than the store's
      const sub = this.addSubscription(stored.id, stored.collection, params);
      sub.restore(rows, stored.cursor);
      this.restored.set(sub.id, sub);
      this.park(sub.id);
    }
  }

  /**
   * Nobody holds this subscription now (stored and not claimed yet, or the tab
   * that used it closed): it keeps streaming for a while, so a reload that asks
   * for it again resumes from its cursor, then ends — stored subscriptions of ids
   * an app no longer uses must not pile up.
   */
  private park(id: string): void {
    if (this.parked.has(id)) return;
    const timer = this.timers.setTimeout(() => {
      this.parked.delete(id);
      if (!this.registry.byId.has(id) || this.localHeld.has(id) || this.tabs?.hasRemoteInterest(id)) return;
      this.unsubscribe(id);
    }, this.unclaimedTtlMs);
    this.parked.set(id, timer);
  }

  private watchForPersistence(sub: Subscription): void {
    sub.on('change', (e) => {
      if (e.cause !== 'changes') this.scheduleBaseRebuild(); // snapshots and resyncs (changes come via 'transaction')
      if (e.cause === 'snapshot' && sub.cursor !== undefined) this.writes.noteSnapshot(sub.collection, sub.cursor);
      // A whole copy costs O(rows): only built when a follower is there to take it.
      if (e.cause === 'snapshot' && !this.quiet && sub.cursor !== undefined && this.tabs?.hasFollowers) {
        this.toFollowers({ t: 'reset', id: sub.id, ...this.copyOf(sub, sub.cursor) });
      }
      if (e.cause === 'resync') this.toFollowers({ t: 'resync', id: sub.id });
    });
    sub.on('status', (e) => {
      // Only live subscriptions make up base: one that failed or resyncs leaves it, one that is live again joins.
      this.scheduleBaseRebuild();
      if (e.status === 'error' && e.error) this.toFollowers({ t: 'fail', id: sub.id, error: e.error });
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
    for (const timer of this.parked.values()) this.timers.clearTimeout(timer);
    this.parked.clear();
    this.draftsInstance?.dispose();
    this.writes.close();
    await this.stream.close();
    if (this.tabs?.role === 'leader') {
      // The next leader reads the store: let what we wrote land before it may start.
      await this.persisted?.flush();
      await this.writes.settled();
    }
    this.tabs?.close();
  }

  /** A caller let go of its handle; with other tabs still on it, the leader keeps it. */
  private release(id: string): void {
    this.localHeld.delete(id);
    if (this.tabs?.role === 'leader' && this.tabs.hasRemoteInterest(id)) return;
    this.unsubscribe(id);
  }

  private unsubscribe(id: string): void {
    const sub = this.registry.get(id);
    if (!sub) return;
    this.registry.byId.delete(id);
    this.restored.delete(id);
    this.localHeld.delete(id);
    this.awaitingReset.delete(id);
    // Own rows still to come for it have nowhere to go: a new subscription of this id starts from the server.
    this.ownRows.forget(id);
    sub.dispose(new SyncError('UNSUBSCRIBED', `subscription ${id} was unsubscribed`, id));
    this.scheduleBaseRebuild(); // its rows leave the view unless another subscription holds them
    if (this.following) return this.tabs?.unsubscribe(id);
    this.persisted?.unsubscribed(id);
    this.server.unsubscribe(id);
  }

  /**
   * An own row for a subscription (see own-rows/): applied if fresh and newer;
   * followers do as we did (their copy may lack what told us to drop it), and
   * whatever the store held for the subscription lands now, with it, at its cursor.
   */
  private placeOwnRow(subId: string, key: string, change: Change | undefined, fresh: boolean): void {
    const sub = this.registry.get(subId);
    if (!sub) return;
    const applied = change !== undefined && fresh && sub.applyOwn(change);
    this.toFollowers({ t: 'own', id: subId, key, ...(change ? { change } : {}), applied });
    if (this.ownRows.landed(subId) === 'whole') this.persisted?.snapshotCommitted(sub);
    else if (sub.cursor !== undefined) this.persisted?.release(subId, applied && change ? [change] : [], sub.cursor);
    // Even when not placed: the view may hold the answer's row (from the confirm) that the stream superseded.
    this.writes.refreshRow(subId, key);
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
        this.stream.opened(decoded.message.heartbeatMs);
        return this.rooms.opened();
      case 'presence_state':
      case 'presence_diff':
      case 'broadcast':
        this.toFollowers({ t: 'presence-event', event: decoded });
        return this.presenceEvent(decoded);
      case 'snapshot':
        return this.registry.applySnapshot(decoded.message);
      case 'changes':
        this.ownRows.streamMessage(decoded.message);
        this.registry.applyChanges(decoded.message);
        this.toFollowers({ t: 'changes', message: decoded.message });
        return this.writes.onStream(decoded.message);
      case 'ack': {
        this.ownRows.streamMessage(decoded.message);
        const advanced = this.registry.applyAck(decoded.message);
        this.persisted?.cursorsAdvanced(this.registry.byId.values(), this.ownRows.holding);
        this.toFollowers({ t: 'ack', message: decoded.message, advanced });
        this.writes.onStream(decoded.message);
        return this.emitter.emit('ack', decoded.message);
      }
      case 'resync':
        return this.resync(decoded.message.subscription, decoded.message.reason);
      case 'error':
        return this.onError(decoded.message);
      case 'ping':
        return; // its bytes already fed the liveness watchdog
      case 'subscribed':
        // The server has it on this connection now; its snapshot or replay follows.
        return this.registry.attached(decoded.message.id);
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
    if (error.room !== undefined) {
      this.toFollowers({ t: 'presence-event', event: { type: 'error', message: error } });
      this.presenceEvent({ type: 'error', message: error });
      return void this.emitter.emit('error', error);
    }
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
    // A leader closed by its app says nothing: the next one takes over and reports its own
    // connection. One whose connection ended for good tells the followers why.
    const fatal = state === 'closed' ? this.stream.fatalError : undefined;
    if (state !== 'closed') this.toFollowers({ t: 'state', connection: this.connectionMirror() });
    else if (fatal !== undefined) {
      const error = SyncError.from(fatal);
      this.toFollowers({
        t: 'state',
        connection: { state: 'closed', error: { code: error.code as ErrorMessage['code'], message: error.message } },
      });
    }
    this.emitter.emit('state', { state, previous, reason });
  }

  // ── tabs (see multitab/tab-coordinator.ts) ─────────────────────────────

  private toFollowers(message: TabMessage): void {
    this.tabs?.broadcast(message);
  }

  private connectionMirror(): ConnectionMirror {
    const id = this.server.connectionId;
    return { state: this.stream.state, ...(id !== undefined ? { connectionId: id } : {}) };
  }

  private tabHost(): TabHost {
    return {
      lead: (takeover) => this.lead(takeover),
      follow: () => {
        if (this.persisted) this.persisted.active = false;
        this.ownRows.follow();
        this.writes.follow((body) => this.tabs?.mutate(body) ?? Promise.reject(new Error('SyncClient closed')));
        this.writesStarted = Promise.resolve();
      },
      failed: (error) => {
        this.emitter.emit('storageError', error);
        void this.close();
      },
      connection: () => this.connectionMirror(),
      pendingMirror: () => this.writes.pending.mutations.map(mirrorOf),
      remoteSubscribe: (wire) => this.remoteSubscribe(wire),
      remoteReleased: (id) => {
        if (!this.localHeld.has(id)) this.unsubscribe(id);
      },
      remoteGone: (id) => {
        if (!this.localHeld.has(id)) this.park(id);
      },
      remotePresence: (kind, body) => void this.server.sendPresence(kind, body),
      remoteMutate: async (requestId, body) => {
        await this.startWrites();
        return this.writes.submitFor(requestId, body);
      },
      adoptPending: (list) => this.adoptPending(list),
      leaderChanged: () => {
        for (const id of this.localHeld) this.awaitingReset.add(id);
        this.rooms.opened(); // the new leader's connection holds none of our metas yet
      },
      applyMirror: (message) => this.applyMirror(message),
      localSubscriptions: () =>
        [...this.localHeld].flatMap((id) => {
          const sub = this.registry.get(id);
          return sub ? [sub.toWire()] : [];
        }),
    };
  }

  /**
   * This tab leads: it writes the store, sends the outbox and holds the
   * connection. Taking over from another tab, it first loads the stored
   * subscriptions it did not mirror and stores the ones it did (its rows are
   * as new as the old leader's last broadcast).
   */
  private async lead(takeover: boolean): Promise<void> {
    if (this.persisted) this.persisted.active = true;
    // Copies still waiting for a reset took no changes since they were consistent: resume them as they are.
    this.awaitingReset.clear();
    // A connection of our own comes: nothing is attached to it yet.
    for (const sub of this.registry.byId.values()) sub.attached = false;
    const takenOver: string[] = [];
    if (takeover) {
      for (const [id, sub] of this.registry.byId) {
        if (!this.localHeld.has(id)) {
          // Restored at open and never claimed: older than the store now; reloaded from it below.
          this.registry.byId.delete(id);
          this.restored.delete(id);
          continue;
        }
        this.persisted?.subscribedIfMissing(sub);
        if (sub.status === 'live') takenOver.push(id);
      }
      // Own rows still on their way: the store keeps the old leader's rows until they land.
      for (const id of this.ownRows.lead(takenOver)) {
        const sub = this.registry.get(id);
        if (sub) this.persisted?.snapshotCommitted(sub);
      }
      this.quiet = true;
      try {
        await this.restore();
      } finally {
        this.quiet = false;
      }
    }
    this.writesStarted = this.writes.lead();
    await this.writesStarted;
    this.scheduleBaseRebuild();
    if (takeover && this.registry.byId.size > 0 && this.stream.state === 'idle') this.stream.start();
  }

  private remoteSubscribe(wire: Parameters<TabHost['remoteSubscribe']>[0]): ReturnType<TabHost['remoteSubscribe']> {
    if (!SUBSCRIPTION_ID.test(wire.id) || typeof wire.collection !== 'string') {
      return { ok: false, error: { code: 'BAD_REQUEST', message: `invalid subscription: ${String(wire.id)}` } };
    }
    const existing = this.registry.get(wire.id);
    if (existing && (existing.collection !== wire.collection || !sameParams(existing.params, wire.params))) {
      if (this.localHeld.has(wire.id) || this.tabs?.hasRemoteInterest(wire.id)) {
        return {
          ok: false,
          error: {
            code: 'BAD_REQUEST',
            message: `subscription id ${wire.id} is in use by another tab with other params`,
            subscription: wire.id,
          },
        };
      }
      this.unsubscribe(wire.id); // kept for nobody under other params: start over
    } else if (existing) {
      this.restored.delete(wire.id);
      if (existing.status === 'error' && existing.error) return { ok: false, error: existing.error };
      if (this.stream.state === 'idle') this.stream.start(); // stored here, never claimed until now
      // Always the whole state: a follower's copy (rebuilt from a store that lagged) can have gaps
      // that a cursor comparison cannot see.
      if (existing.status === 'live' && existing.cursor !== undefined) {
        return { ok: true, reset: this.copyOf(existing, existing.cursor) };
      }
      return { ok: true };
    }
    this.connectSubscription(this.addSubscription(wire.id, wire.collection, wire.params));
    return { ok: true };
  }

  /** Leader: a subscription's whole state for a follower, with the own rows still to come into it. */
  private copyOf(sub: Subscription, cursor: string) {
    return { rows: rowsOf(sub), cursor, ...this.ownRows.awaitedFor(sub.id) };
  }

  /** Following: the leader's pending mutations replace ours. */
  private adoptPending(list: readonly MirroredMutation[]): void {
    const pending = this.writes.pending;
    const ids = new Set(list.map((m) => m.mutationId));
    for (const m of pending.mutations) if (!ids.has(m.mutationId)) pending.drop(m.mutationId);
    for (const m of list) {
      const had = pending.get(m.mutationId);
      if (!had) pending.add(m.mutationId, m.body, { createdAt: m.createdAt, status: m.status });
      else if (had.status !== m.status) pending.setStatus(m.mutationId, m.status);
    }
  }

  /** What the connection (ours, or the leader's) said about presence, to this tab's rooms. */
  private presenceEvent(e: PresenceEvent): void {
    if (e.type === 'presence_state') this.rooms.onState(e.message);
    else if (e.type === 'presence_diff') this.rooms.onDiff(e.message);
    else if (e.type === 'broadcast') this.rooms.onBroadcast(e.message);
    else this.rooms.onError(e.message);
  }

  /** Following: replays what the leader's subscriptions and mutations went through. */
  private applyMirror(m: TabMessage): void {
    const pending = this.writes.pending;
    // Only subscriptions this tab holds follow the leader: one restored at open and never
    // claimed has no reset to start from, and changes on top of its stored rows could leave gaps.
    const held = (id: string) => (this.localHeld.has(id) ? this.registry.get(id) : undefined);
    const following = (id: string) => (this.awaitingReset.has(id) ? undefined : held(id));
    switch (m.t) {
      case 'presence-event':
        return this.presenceEvent(m.event);
      case 'state': {
        const previous = this.state;
        this.mirrored = m.connection;
        // The leader's connection came (back) up: our rooms join again on it.
        if (m.connection.state === 'open' && previous !== 'open') this.rooms.opened();
        if (m.connection.state === 'backoff') this.registry.connectionLost();
        if (m.connection.state === 'closed' && m.connection.error) {
          this.lastError = m.connection.error;
          this.emitter.emit('error', m.connection.error);
          const why = SyncError.from(m.connection.error);
          for (const sub of this.registry.byId.values()) sub.dispose(why);
        }
        if (previous !== m.connection.state) {
          this.emitter.emit('state', { state: m.connection.state, previous, reason: undefined });
        }
        return;
      }
      case 'changes': {
        this.ownRows.streamMessage(m.message);
        const changes = m.message.changes.filter((c) => following(c.collection) !== undefined);
        if (changes.length > 0) this.registry.applyChanges({ ...m.message, changes });
        return this.writes.onStream(m.message);
      }
      case 'ack':
        this.ownRows.streamMessage(m.message);
        // Exactly the subscriptions whose cursor the leader moved (those its connection had attached).
        for (const id of m.advanced) {
          const sub = following(id);
          if (sub) {
            sub.attached = true;
            sub.advanceCursor(m.message.cursor);
          }
        }
        this.writes.onStream(m.message);
        return this.emitter.emit('ack', m.message);
      case 'reset': {
        const sub = held(m.id);
        if (!sub) return;
        this.awaitingReset.delete(m.id);
        sub.restore(m.rows, m.cursor);
        // Own rows the leader still waits for: if it goes first, we place them when the answers come,
        // unless the stream changed them since (the leader knows where; our copy may not show it).
        this.ownRows.adopt(m.id, m.awaited, m.touched);
        return;
      }
      case 'resync':
        return held(m.id)?.resync();
      case 'own': {
        const sub = held(m.id);
        if (!sub) return;
        this.ownRows.replicated(m.id, m.key);
        if (m.change && m.applied) sub.replicateOwn(m.change);
        return this.writes.refreshRow(m.id, m.key);
      }
      case 'fail':
      case 'sub-error':
        return held(m.id)?.fail(m.error);
      case 'pending-add':
        if (!pending.get(m.mutation.mutationId)) {
          const { mutationId, body, createdAt, status } = m.mutation;
          pending.add(mutationId, body, { createdAt, status });
        }
        return;
      case 'pending-confirm':
        pending.confirm(m.mutationId, m.rows, m.cursor);
        return;
      case 'pending-reject':
        pending.reject(m.mutationId, m.error, m.current);
        return;
      default:
        return;
    }
  }
}

function mirrorOf(m: PendingMutation): MirroredMutation {
  return { mutationId: m.mutationId, body: m.body, createdAt: m.createdAt, status: m.status };
}

function rowsOf(sub: Subscription): Array<{ key: string; row: Row; version: number }> {
  return [...sub.rowsByKey()].map(([key, r]) => ({ key, row: r.row, version: r.version }));
}

/** Tabs share a store when the platform lets them (Web Locks and BroadcastChannel) unless told not to. */
function tabsFor(
  options: SyncClientOptions,
):
  | { locks: NonNullable<ReturnType<typeof browserLocks>>; channel: NonNullable<ReturnType<typeof browserChannel>> }
  | undefined {
  if (options.tabs === false) return undefined;
  const locks = options.tabs?.locks ?? browserLocks();
  const channel = options.tabs?.channel ?? browserChannel();
  return locks && channel ? { locks, channel } : undefined;
}

function sameParams(a: SubscriptionParams | undefined, b: SubscriptionParams | undefined): boolean {
  return JSON.stringify(a ?? {}) === JSON.stringify(b ?? {});
}
