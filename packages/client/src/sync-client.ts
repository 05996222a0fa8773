import type { ErrorMessage, JsonValue, Row, WriteOp } from '@syncline/protocol';
import { toFollowers, type ClientParts } from './client-parts.ts';
import type { ConnectionState } from './connection/connection-state.ts';
import { globalFetch, realTimers } from './connection/timers.ts';
import { Drafts } from './drafts/drafts.ts';
import { ClientWrites } from './mutations/client-writes.ts';
import type { MutatorOptions, Predictor } from './mutations/pending-mutations.ts';
import { TabCoordinator, type TabRole } from './multitab/tab-coordinator.ts';
import { mirrorOf, tabRoles, tabsFor } from './multitab/tab-roles.ts';
import { OwnRows } from './own-rows/own-rows.ts';
import { placeOwnRow } from './own-rows/place-own-row.ts';
import type { LocalStore } from './persistence/local-store.ts';
import { PersistedState } from './persistence/persisted-state.ts';
import type { PresenceRoom } from './presence/presence-room.ts';
import { PresenceRooms } from './presence/presence-rooms.ts';
import { createQuery, type QueryBuilder, type ViewSource } from './query/live-query.ts';
import { SUBSCRIPTION_TABLE, subscriptionSource } from './query/subscription-source.ts';
import { randomId } from './random-id.ts';
import { createStats, type SyncClientStats } from './stats.ts';
import { Emitter } from './store/emitter.ts';
import type { SubscriptionHandle } from './store/subscription-handle.ts';
import { SubscriptionRegistry } from './store/subscription-registry.ts';
import { SubscriptionSet } from './store/subscription-set.ts';
import type { SubscribeOptions, SyncClientEvents, SyncClientOptions } from './sync-client-options.ts';
import { ConnectionUpstream } from './upstream/connection-upstream.ts';
import { FollowerUpstream } from './upstream/follower-upstream.ts';
import type { Upstream } from './upstream/upstream.ts';

/**
 * The client's public face; the work is done by its parts (client-parts.ts):
 *
 *   subscribe() ─▶ SubscriptionSet (held / restored / parked) ─▶ upstream
 *   upstream: ConnectionUpstream  this tab's own connection (alone, or leading other tabs):
 *                                 stream events → OwnRows → SubscriptionRegistry → subscriptions
 *             FollowerUpstream    the leading tab, over the tab channel (multitab/tab-roles.ts
 *                                 switches roles; the leader mirrors what its connection does)
 *   subscriptions' rows ─▶ ClientWrites: base of the optimistic view (edited per change),
 *                          pending mutations on top ─▶ view() / query() / 'view'
 *   mutate() ─▶ ClientWrites: outbox ─▶ POST /v1/mutate ─▶ answer ─▶ OwnRows places its rows
 *   presence() ─▶ PresenceRooms ─▶ upstream
 *   a local store ─▶ PersistedState (rows, cursors), outbox and drafts survive reloads
 */
export class SyncClient {
  readonly clientId: string;
  private readonly parts: ClientParts;
  private readonly subscriptions: SubscriptionSet;
  private readonly connection: ConnectionUpstream;
  private readonly follower: FollowerUpstream;
  private readonly viewSource: ViewSource;
  private readonly draftsInstance: Drafts | undefined;
  private tabs: TabCoordinator | undefined;
  private writesStarted: Promise<void> | undefined;
  private rebuildQueued = false;
  private closed = false;

  constructor(options: SyncClientOptions) {
    this.clientId = options.clientId ?? randomId();
    const timers = options.timers ?? realTimers;
    const emitter = new Emitter<SyncClientEvents>();
    const stats = createStats();
    const registry = new SubscriptionRegistry(stats, (event) => {
      this.parts.persisted?.transactionApplied(event, this.parts.ownRows.holding);
      this.parts.writes.streamApplied(event.changes, event.cursor);
      emitter.emit('transaction', event);
    });
    const writes = new ClientWrites({
      baseUrl: options.url,
      clientId: this.clientId,
      token: options.token,
      fetch: options.fetch ?? globalFetch,
      timers,
      random: options.random ?? Math.random,
      store: options.store,
      onRejected: (e) => emitter.emit('rejected', e),
      subscriptions: registry.byId,
    });
    const ownRows = new OwnRows(this.clientId, {
      tableOf: (subId) => registry.get(subId)?.table,
      place: (subId, key, change, fresh) => placeOwnRow(this.parts, subId, key, change, fresh),
    });
    this.parts = {
      clientId: this.clientId,
      stats,
      emitter,
      registry,
      writes,
      ownRows,
      persisted: options.store ? new PersistedState(options.store, (e) => emitter.emit('storageError', e)) : undefined,
      // A follower tab's presence rides the leader's connection, under this tab's own key.
      rooms: new PresenceRooms({ send: (kind, body) => this.upstream.sendPresence(kind, body) }),
      tabs: () => this.tabs,
      rebuildView: () => this.scheduleRebuild(),
      lastError: undefined,
    };
    this.wireWrites();
    this.draftsInstance = options.store ? new Drafts(options.store, (e) => emitter.emit('storageError', e)) : undefined;
    this.subscriptions = new SubscriptionSet(
      this.parts,
      () => this.upstream,
      timers,
      options.unclaimedSubscriptionTtlMs ?? 30_000,
    );
    this.connection = new ConnectionUpstream(this.parts, options);
    this.follower = new FollowerUpstream(
      this.parts,
      (id) => this.subscriptions.held.has(id),
      () => this.connection.state === 'closed',
    );
    this.viewSource = { view: () => writes.pending.view(), onChange: (listener) => this.on('view', listener) };
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
    await client.subscriptions.restore();
    const tabs = tabsFor(options);
    if (!tabs) {
      await client.startWrites();
      return client;
    }
    const host = tabRoles({
      parts: client.parts,
      subscriptions: client.subscriptions,
      connection: client.connection,
      follower: client.follower,
      startWrites: () => client.startWrites(),
      setWritesStarted: (started) => void (client.writesStarted = started),
      close: () => void client.close(),
    });
    client.tabs = new TabCoordinator({ name: options.store.namespace, ...tabs, host });
    await client.tabs.start();
    return client;
  }

  // ── connection and subscriptions ─────────────────────────────────────────

  get state(): ConnectionState {
    return this.upstream.state;
  }
  /** From the current connection's `hello`; undefined while not open. With several tabs, the leading tab's. */
  get connectionId(): string | undefined {
    return this.upstream.connectionId;
  }
  /** `ws` or `sse`: what the next connection uses. */
  get transport(): 'ws' | 'sse' {
    return this.connection.transport;
  }
  /** `single` (a client on its own), or `leader`/`follower` among the tabs sharing its store. */
  get tabRole(): 'single' | TabRole {
    return this.tabs?.role ?? 'single';
  }
  /** The last connection-level error (not tied to a subscription). */
  get error(): ErrorMessage | undefined {
    return this.parts.lastError;
  }
  get stats(): Readonly<SyncClientStats> {
    return this.parts.stats;
  }

  on<K extends keyof SyncClientEvents>(event: K, listener: (payload: SyncClientEvents[K]) => void): () => void {
    return this.parts.emitter.on(event, listener);
  }

  /** Subscribes; the first call opens the connection. Row type R is the caller's claim, not checked. */
  subscribe<R extends Row = Row>(options: SubscribeOptions): SubscriptionHandle<R> {
    if (this.state === 'closed') throw new Error('SyncClient is closed');
    return this.subscriptions.subscribe<R>(options);
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
    const handle = this.parts.rooms.join(name, state);
    this.upstream.want(); // a room alone opens the connection too
    return handle;
  }

  /** Resolves when everything received so far is in local storage. */
  flushStorage(): Promise<void> {
    return this.parts.persisted?.flush() ?? Promise.resolve();
  }

  /** Stops for good: aborts the stream and pending requests, clears timers; resolves once queued store writes landed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.subscriptions.close();
    this.draftsInstance?.dispose();
    this.parts.writes.close();
    await this.connection.close();
    // Closing the store right after must not fail writes still queued (and the next leader reads them).
    if (this.tabs?.role !== 'follower') {
      await this.parts.persisted?.flush();
      await this.parts.writes.settled();
    }
    this.tabs?.close();
  }

  // ── writes and the optimistic view ───────────────────────────────────────

  /** Applies ops at once to the view and queues them for the server (in order, retried). Resolves with the mutation id. */
  async mutate(ops: WriteOp[]): Promise<number> {
    await this.startWrites();
    return this.parts.writes.mutate(ops);
  }

  /** A named server mutator; pass `predict` to `registerMutator` to show its effect before the answer. */
  async mutator(name: string, args: unknown): Promise<number> {
    await this.startWrites();
    return this.parts.writes.mutator(name, args);
  }

  /** Local effect of a named mutator, for the optimistic view (`{ undoable: false }`: undo history skips it). */
  registerMutator(name: string, predict: Predictor, options?: MutatorOptions): () => void {
    return this.parts.writes.pending.registerMutator(name, predict, options);
  }

  /** Sends the inverse of the last local mutation as a new one; undefined when there is nothing to undo. */
  async undo(): Promise<number | undefined> {
    await this.startWrites();
    return this.parts.writes.undo();
  }

  async redo(): Promise<number | undefined> {
    await this.startWrites();
    return this.parts.writes.redo();
  }

  get canUndo(): boolean {
    return this.parts.writes.undoManager.canUndo;
  }
  get canRedo(): boolean {
    return this.parts.writes.undoManager.canRedo;
  }

  /** Mutations not yet confirmed by the server. */
  get pendingMutations(): number {
    return this.parts.writes.pending.size;
  }

  /** Unsaved form state per key, persisted in the client's store (present when a store was given). */
  get drafts(): Drafts | undefined {
    return this.draftsInstance;
  }

  /** The rows of a table as the user should see them: server rows plus pending local mutations. */
  view(table: string): Row[] {
    return this.parts.writes.view(table);
  }

  /**
   * A live query over the optimistic view of a table, or of one subscription's rows
   * (`{ subscription: id }` or its handle: its rows with pending mutations on top):
   * `client.query('order').where((o) => o.status === 'pending').orderBy('created_at').limit(20).subscribe(render)`.
   * It re-runs only when its table changes, and notifies only when its result does.
   */
  query<R extends Row = Row>(target: string | SubscriptionHandle | { subscription: string }): QueryBuilder<R> {
    void this.startWrites(); // the table view is built from the subscriptions once writes are on
    if (typeof target === 'string') return createQuery<R>(this.viewSource, target);
    const id = 'subscription' in target ? target.subscription : target.id;
    const sub = this.parts.registry.get(id);
    if (!sub) throw new Error(`unknown subscription: ${id}`);
    const source = subscriptionSource(this.viewSource, sub, () => sub.table);
    return createQuery<R>(source, SUBSCRIPTION_TABLE);
  }

  // ── inside ───────────────────────────────────────────────────────────────

  private get upstream(): Upstream {
    return this.tabs?.role === 'follower' ? this.follower : this.connection;
  }

  private startWrites(): Promise<void> {
    if (!this.writesStarted) {
      this.writesStarted = this.parts.writes.start();
      this.scheduleRebuild();
    }
    return this.writesStarted;
  }

  /** A client that never writes nor queries never builds the table view (nor asks for /v1/collections). */
  private scheduleRebuild(): void {
    if (!this.writesStarted || this.rebuildQueued) return;
    this.rebuildQueued = true;
    queueMicrotask(() => {
      this.rebuildQueued = false;
      this.parts.writes.rebuildBase();
    });
  }

  /** The write side's events, for the view and the follower tabs. */
  private wireWrites(): void {
    const { writes, emitter, ownRows } = this.parts;
    writes.pending.on('change', (e) => {
      const added = e.reason === 'add' ? writes.pending.get(e.mutationId ?? -1) : undefined;
      if (added) toFollowers(this.parts, { t: 'pending-add', mutation: mirrorOf(added) });
      emitter.emit('view', undefined);
    });
    writes.pending.on('confirmed', (e) => {
      ownRows.answered(e.mutationId, e.rows);
      toFollowers(this.parts, { t: 'pending-confirm', mutationId: e.mutationId, rows: [...e.rows], cursor: e.cursor });
      emitter.emit('confirmed', { mutationId: e.mutationId });
    });
    writes.pending.on('rejected', (e) => {
      const current = e.current ? { current: e.current } : {};
      toFollowers(this.parts, { t: 'pending-reject', mutationId: e.mutationId, error: e.error, ...current });
    });
    writes.undoManager.on('change', (e) => emitter.emit('history', e));
  }
}
