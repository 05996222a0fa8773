/**
 * The router: from captured transactions to per-connection messages, and the
 * lifecycle of every subscription.
 *
 *   bus ─► onTransaction ─► log.append
 *                        ─► per change: index.candidates ─► changesFor (move-in/out)
 *                        ─► instance has a snapshot in flight? buffer it (handoff)
 *                        ─► live subscribers grouped per connection ─► ONE message per connection
 *
 *   subscribe ─► cursor?  yes ─► replay the log after it, then live (or resync if it can't)
 *                         no  ─► join/start the instance's snapshot job ─► merged rows ─► live
 *
 * Everything here runs synchronously per transaction, so every live connection
 * is always at the stream head; a snapshot merged on completion is at the head too.
 * Subscriptions begin, go live and end in connection-subscriptions.ts alone.
 */
import type { Logger } from 'pino';
import type pg from 'pg';
import type { CoveredChange, ResyncReason, Subscription } from '@syncline/protocol';
import type { BusConsumer, StreamEpoch } from '../bus/bus.ts';
import { decodeCursor, encodeCursor } from '../bus/cursor.ts';
import type { Resuming } from './resume.ts';
import { replayLog } from './resume.ts';
import type { HandoffContext } from './snapshot-handoff.ts';
import { joinSnapshot } from './snapshot-handoff.ts';
import type { LogLimits } from '../bus/transaction-log.ts';
import { TransactionLog } from '../bus/transaction-log.ts';
import type { CapturedTransaction } from '../capture/captured-transaction.ts';
import type { CollectionRegistry } from '../collections/collection-registry.ts';
import { CollectionInstance, type Subscriber } from '../collections/collection-instance.ts';
import { ConnectionSubscriptions, resync } from './connection-subscriptions.ts';
import { isVisible } from '../collections/xid-snapshot.ts';
import type { ChangesEntry, FrameCache, SyncConnection } from '../transport/sync-connection.ts';
import { SynclineError } from '../util/errors.ts';
import type { InstanceChange } from './route-transaction.ts';
import { changesFor } from './route-transaction.ts';
import { RoutingIndex } from './routing-index.ts';
import { tableResets } from './table-resets.ts';
import { mutationRefs, parseOriginTag, type OriginTag } from '../writes/origin-tag.ts';
import { RouterStats } from './router-stats.ts';
import { RlsGate } from './rls-gate.ts';
import { RowVerdicts } from '../rls/row-verdicts.ts';
import { POLICY_MESSAGE_PREFIX } from '../setup/policy-trigger.ts';
import { AccessWatches, loses } from './access-watches.ts';
import { sendRevocation } from './revoke-rows.ts';
import type { Identity } from '../auth/token-verifier.ts';
import type { DbSessionOptions } from '../auth/user-transaction.ts';
import { checkAccess } from '../auth/access-check.ts';
import type { ResolvedSubscription } from '../collections/collection-registry.ts';

export interface RouterOptions {
  registry: CollectionRegistry;
  pool: pg.Pool;
  logger: Logger;
  log: LogLimits;
  /** Changes buffered per in-flight snapshot before it is restarted. */
  maxSnapshotBuffer: number;
  /** Rows per `snapshot` message part. */
  snapshotPartRows: number;
  /** Most rows one instance's snapshot may have. */
  maxSnapshotRows: number;
  /** Most subscriptions on one connection. */
  maxSubscriptionsPerConnection: number;
  /** How user queries run (role for RLS). */
  db: DbSessionOptions;
  /** PostgreSQL's verdicts for policies it alone can check (shared with the registry's bound policies). */
  verdicts?: RowVerdicts;
  /** Transactions waiting for those verdicts before the rest is routed; past it, those subscriptions refresh. */
  maxPendingTransactions?: number;
  /** Timings for /metrics. */
  observe?: { routed(commitTime: number): void; snapshotDone(ms: number): void };
  /** How long a subscribe with a cursor ahead of the stream waits for it before `resync` (cursor-ahead). Default 5 s. */
  maxCursorWaitMs?: number;
  /** Re-reads RLS policies; resolves with the tables whose policies changed. */
  reloadPolicies?: () => Promise<Set<string>>;
}

type BusEvent =
  | { kind: 'tx'; tx: CapturedTransaction }
  | { kind: 'epoch'; epoch: StreamEpoch }
  /** Policies may have changed (found by the periodic check): reload, then refresh what changed. */
  | { kind: 'policy' };

interface Admitted {
  instance: CollectionInstance;
  subscriber: Subscriber;
  /** Resume after this LSN; null: start from a snapshot. */
  after: bigint | null;
}

export class SyncRouter implements BusConsumer {
  readonly log: TransactionLog;
  readonly stats = new RouterStats();
  private epoch: string | null = null;
  private readonly index = new RoutingIndex<CollectionInstance>();
  private readonly watches = new AccessWatches();
  /** The only writer of every connection's subscriptions, with their one end path. */
  private readonly subscriptions = new ConnectionSubscriptions(this.watches, (i) => this.dropIfIdle(i));
  /** Open connections by client id: the initiator of a write gets an ack even with no matching rows. */
  private readonly byClient = new Map<string, Set<SyncConnection>>();
  /** Mutate requests waiting to learn their write's cursor (bounded by requests in flight). */
  private readonly awaiting = new Map<string, Set<(cursor: string) => void>>();
  /** RLS narrows rows per user when queries run under a role: instances are then per user. */
  private readonly perUser: boolean;
  private readonly instances = new Map<string, CollectionInstance>();

  private readonly handoff: HandoffContext;
  /** Table of each instance id, for matching a tag's returned rows. */
  private readonly instanceTables = (id: number): string | undefined => this.instanceTable.get(id);
  private readonly instanceTable = new Map<number, string>();

  /** Bus events waiting behind a database RLS check, in stream order. */
  private readonly pending: BusEvent[] = [];
  /** Subscribes waiting for the stream to reach their cursor. */
  private readonly headWaiters = new Set<{ lsn: bigint; resolve: () => void }>();
  private draining = false;
  private drained: Array<() => void> = [];
  private gate: RlsGate;
  private readonly verdicts: RowVerdicts;

  constructor(private readonly options: RouterOptions) {
    this.log = new TransactionLog(options.log);
    this.perUser = options.db.role !== undefined;
    this.verdicts = options.verdicts ?? new RowVerdicts();
    this.gate = this.newGate();
    this.handoff = {
      pool: options.pool,
      db: options.db,
      logger: options.logger,
      stats: this.stats,
      maxSnapshotBuffer: options.maxSnapshotBuffer,
      maxSnapshotRows: options.maxSnapshotRows,
      snapshotPartRows: options.snapshotPartRows,
      head: () => ({ cursor: this.headCursor() as string, lsn: this.log.head }),
      subscriptions: this.subscriptions,
      dropIfIdle: (instance) => this.dropIfIdle(instance),
      ...(options.observe ? { onSnapshot: (ms: number) => options.observe?.snapshotDone(ms) } : {}),
    };
  }

  get currentEpoch(): string | null {
    return this.epoch;
  }

  headCursor(): string | null {
    return this.epoch ? encodeCursor(this.epoch, this.log.head) : null;
  }

  instanceCount(): number {
    return this.instances.size;
  }

  /** Binds a subscription for a user, as subscribe would (for differential sync). */
  resolve(sub: Subscription, identity: Identity): ResolvedSubscription {
    return this.options.registry.resolve(sub, identity, this.perUser);
  }

  accessWatchCount(): number {
    return this.watches.size;
  }

  // ── bus side ────────────────────────────────────────────────────────────

  onEpoch(e: StreamEpoch): void {
    this.enqueue({ kind: 'epoch', epoch: e });
  }

  onTransaction(tx: CapturedTransaction): void {
    this.enqueue({ kind: 'tx', tx });
  }

  /** Database RLS checks a transaction waits for (one per table and distinct claims). */
  get rlsQueries(): number {
    return this.gate.queries;
  }

  /**
   * Stream order is kept: an event waits while an earlier one waits for the
   * database's RLS verdicts. With nothing to check (compiled or no policies),
   * routing stays synchronous and costs nothing extra.
   */
  private enqueue(e: BusEvent): void {
    if (this.pending.length === 0 && !this.needsCheck(e)) return this.apply(e);
    this.pending.push(e);
    if (this.pending.length > (this.options.maxPendingTransactions ?? 1_000)) {
      // The database cannot keep up: its subscriptions refresh instead of growing this queue.
      for (const t of this.gateTables())
        for (const i of this.index.allFor(t)) this.subscriptions.endInstance(i, resync('rls-recheck'));
    }
    if (!this.draining) void this.drain();
  }

  /** Resolves once every transaction handed to the router so far has been routed (for a graceful stop). */
  idle(): Promise<void> {
    if (!this.draining && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  /** Policies may have changed outside the stream: handled in order with it, like a policy transaction. */
  policiesMayHaveChanged(): void {
    this.enqueue({ kind: 'policy' });
  }

  private needsCheck(e: BusEvent): boolean {
    if (e.kind === 'policy') return true;
    if (e.kind !== 'tx') return false;
    if (this.changesPolicies(e.tx)) return true;
    return this.gate.active && this.gate.needs(e.tx, (t) => this.index.allFor(t)) !== null;
  }

  private changesPolicies(tx: CapturedTransaction): boolean {
    return this.options.reloadPolicies !== undefined && tx.origins.some((o) => o.prefix === POLICY_MESSAGE_PREFIX);
  }

  /**
   * Re-reads the policies before anything after their change is routed; every
   * subscription of a table whose policies changed refreshes by differential sync.
   */
  private async reloadPolicies(): Promise<Set<string>> {
    try {
      const changed = (await this.options.reloadPolicies?.()) ?? new Set<string>();
      if (changed.size > 0) this.gate = this.newGate();
      return changed;
    } catch (err) {
      // Unknown rules: every RLS subscription refreshes under PostgreSQL's own (diff sync), none goes on under stale ones.
      this.options.logger.error({ err }, 'could not re-read row-level security policies');
      return new Set(this.options.registry.tables().map((t) => t.qualified));
    }
  }

  private newGate(): RlsGate {
    const o = this.options;
    return new RlsGate(o.registry, o.pool, o.db.role, this.verdicts, o.logger);
  }

  private gateTables(): string[] {
    return this.options.registry
      .tables()
      .map((t) => t.qualified)
      .filter((t) => this.gate.isDatabaseChecked(t));
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.pending.length > 0) {
        const e = this.pending[0] as BusEvent;
        const policyChange = e.kind === 'policy' || (e.kind === 'tx' && this.changesPolicies(e.tx));
        const changedTables = policyChange ? await this.reloadPolicies() : new Set<string>();
        if (e.kind === 'tx') await this.collectVerdicts(e.tx);
        this.pending.shift();
        try {
          this.apply(e);
        } catch (err) {
          // Contained: one transaction that cannot be routed must not stop the node (or the queue).
          this.options.logger.error({ err, lsn: e.kind === 'tx' ? String(e.tx.lsn) : undefined }, 'routing failed');
        } finally {
          this.verdicts.clear();
        }
        for (const table of changedTables)
          for (const instance of this.index.allFor(table))
            this.subscriptions.endInstance(instance, resync('rls-recheck'));
      }
    } finally {
      this.draining = false;
      for (const resolve of this.drained.splice(0)) resolve();
    }
  }

  /**
   * Verdicts for every instance the transaction will be routed to. Instances that appear while we
   * wait (a subscriber joining under new claims) are checked in another round; any still without a
   * verdict after that, or when the database cannot answer, refresh (diff sync, under RLS) instead
   * of silently missing rows.
   */
  private async collectVerdicts(tx: CapturedTransaction): Promise<void> {
    const missing = () => {
      const needed = this.gate.needs(tx, (t) => this.index.allFor(t));
      if (!needed) return null;
      for (const [table, byKey] of needed) {
        for (const key of [...byKey.keys()]) if (this.verdicts.has(table, key)) byKey.delete(key);
        if (byKey.size === 0) needed.delete(table);
      }
      return needed.size > 0 ? needed : null;
    };
    let round = 0;
    for (let todo = missing(); todo; todo = missing()) {
      if (round++ >= 3) {
        for (const byKey of todo.values())
          for (const i of byKey.values()) this.subscriptions.endInstance(i, resync('rls-recheck'));
        return;
      }
      try {
        await this.gate.check(tx, todo);
      } catch {
        for (const byKey of todo.values())
          for (const i of byKey.values()) this.subscriptions.endInstance(i, resync('rls-recheck'));
      }
    }
  }

  private apply(e: BusEvent): void {
    if (e.kind === 'epoch') this.applyEpoch(e.epoch);
    else if (e.kind === 'tx') this.route(e.tx);
  }

  private applyEpoch(e: StreamEpoch): void {
    const previous = this.epoch;
    this.epoch = e.epoch;
    this.log.reset(e.floor);
    if (previous === null) return;
    // A new slot, or a shared log that lost data, means a gap nobody can replay: every subscription starts over.
    const reason = e.reason === 'log-lost' ? 'log-lost' : 'slot-recreated';
    for (const instance of [...this.instances.values()]) this.subscriptions.endInstance(instance, resync(reason));
  }

  private route(tx: CapturedTransaction): void {
    const t0 = performance.now();
    const previousHead = this.log.head;
    this.log.append(tx);
    const cursor = this.headCursor() as string;
    const resets = tableResets(tx);

    // Access first: a transaction that removes a user from a chat must not also
    // deliver that chat's new messages to them.
    for (const s of this.watches.revokedBy(tx)) this.revoke(s.conn, s.subId, previousHead);

    // A table a database-checked policy reads changed: who may see what is unknown row by row.
    for (const table of this.gate.recheckedBy(tx)) {
      for (const instance of this.index.allFor(table)) {
        instance.snapshot?.invalidate();
        this.subscriptions.endLive(instance, resync('rls-recheck'));
      }
    }

    // Live subscribers of those tables resync, and snapshots in flight start over
    // (whether the query saw the truncate or the new shape is not worth reasoning about).
    for (const [table, reason] of resets) {
      for (const instance of this.index.allFor(table)) {
        instance.snapshot?.invalidate();
        this.subscriptions.endLive(instance, resync(reason));
      }
    }

    const routed = new Map<CollectionInstance, InstanceChange[]>();
    for (const change of tx.changes) {
      if (resets.has(change.table)) continue; // already resynced
      for (const instance of this.index.candidates(change.table, change.row, change.old)) {
        this.stats.instancesEvaluated++;
        let list = routed.get(instance);
        if (!list) routed.set(instance, (list = []));
        changesFor(instance, change, list);
      }
    }

    const perConnection = new Map<SyncConnection, ChangesEntry[]>();
    for (const [instance, changes] of routed) {
      if (changes.length === 0) continue;
      instance.snapshot?.record(tx.xid, changes);
      for (const s of instance.subscribers) {
        if (s.guard) {
          if (tx.lsn > s.guard.until) s.guard = null;
          else if (isVisible(s.guard.xids, tx.xid)) continue; // its snapshot already had this
        }
        let entries = perConnection.get(s.conn);
        if (!entries) perConnection.set(s.conn, (entries = []));
        entries.push({ subId: s.subId, instanceId: instance.id, changes });
      }
    }
    const tag = parseOriginTag(tx.origins);
    const cache: FrameCache = new Map();
    if (!tag) {
      for (const [conn, entries] of perConnection) conn.changes(cursor, entries, cache);
    } else {
      const mutations = mutationRefs(tag);
      const initiators = this.byClient.get(tag.clientId) ?? new Set<SyncConnection>();
      for (const [conn, entries] of perConnection)
        if (!initiators.has(conn)) conn.changes(cursor, entries, cache, mutations);
      // The initiator already has the rows its response returned: it gets the rest (a trigger's
      // side effects), or just an ack that moves its cursor and confirms its mutations.
      for (const conn of initiators) {
        const { rest, covered } = withoutReturnedRows(perConnection.get(conn) ?? [], tag, this.instanceTables);
        if (rest.length > 0) conn.changes(cursor, rest, new Map(), mutations, covered);
        else conn.ack({ cursor, mutations, ...(covered.length > 0 ? { covered } : {}) });
      }
      for (const id of tag.mutationIds)
        for (const f of [...(this.awaiting.get(`${tag.clientId}\u0000${id}`) ?? [])]) f(cursor);
    }
    this.stats.transaction(tx.changes.length, perConnection.size, cache.size, performance.now() - t0);
    if (perConnection.size > 0) this.options.observe?.routed(tx.commitTime);
    if (this.headWaiters.size > 0) for (const w of [...this.headWaiters]) if (w.lsn <= tx.lsn) w.resolve();
  }

  // ── connection side ─────────────────────────────────────────────────────

  /**
   * Adds subscriptions to a connection, as its current user. Problems with one
   * subscription are reported on the connection (error or resync) and never
   * affect the others. Access rules run first (queries, so asynchronous); the
   * rest is synchronous, and those resuming from a cursor are replayed together
   * so the connection still gets one `changes` message per transaction.
   */
  async subscribe(
    conn: SyncConnection,
    subs: Subscription[],
    fallbackCursor?: string,
    onAdmitted?: (subId: string, table: string) => void,
  ): Promise<void> {
    // A cursor from a later point of this stream (this node restarted and Postgres is still
    // resending what it had delivered): wait for the stream to get there rather than resync.
    const ahead = this.aheadOf([...subs.map((s) => s.cursor), fallbackCursor]);
    if (ahead !== null) await this.whenHeadReaches(ahead, this.options.maxCursorWaitMs ?? 5_000);
    if (conn.closed) return;
    const from = { epoch: this.epoch, lsn: this.log.head };
    const identity = conn.identity;
    const checked = await Promise.all(subs.map((sub) => this.authorize(conn, identity, sub)));
    const resuming: Resuming[] = [];
    for (const c of checked) {
      if (conn.closed) return;
      if (!c) continue;
      if (conn.identity !== identity) {
        // The token was refreshed while we checked: check again under the new one.
        void this.subscribe(conn, [c.sub], fallbackCursor, onAdmitted);
        continue;
      }
      if (c.generation !== this.options.registry.generation) {
        // Policies were re-read while we checked access: bind the subscription to the new ones.
        try {
          c.resolved = this.options.registry.resolve(c.sub, identity, this.perUser);
        } catch (e) {
          const err = e instanceof SynclineError ? e : new SynclineError('INTERNAL', 'could not resolve');
          conn.error({ code: err.code, message: err.message, subscription: c.sub.id });
          continue;
        }
      }
      if (this.revokedSince(from, c.resolved)) {
        conn.error({ code: 'FORBIDDEN', message: 'access was revoked while subscribing', subscription: c.sub.id });
        continue;
      }
      const r = this.admit(conn, c.sub, c.resolved, fallbackCursor);
      if (!r) continue;
      onAdmitted?.(c.sub.id, r.instance.collection.table.qualified);
      if (!this.subscriptions.isCurrent(r.subscriber)) continue; // telling the client closed a slow connection
      if (r.after === null) joinSnapshot(this.handoff, r.instance, r.subscriber);
      else resuming.push(r as Resuming);
    }
    // Missed changes of a database-checked table have no verdicts to replay with: refresh instead.
    for (const r of [...resuming]) {
      const table = r.instance.collection.table.qualified;
      if (this.gate.isDatabaseChecked(table) && this.gate.touchedSince(table, this.log.since(r.after))) {
        resuming.splice(resuming.indexOf(r), 1);
        this.subscriptions.endSubscriber(r.subscriber, resync('rls-recheck'));
      }
    }
    if (resuming.length === 0) return;
    const { active, messages } = replayLog(conn, resuming, this.log, this.epoch as string, (r, reason) =>
      this.subscriptions.endSubscriber(r.subscriber, resync(reason)),
    );
    this.stats.replayedTransactions += messages;
    for (const r of active) this.subscriptions.goLive(r.subscriber, null);
  }

  /** Resolves a subscription for a user and runs its access rule; null (after telling the client) if refused. */
  private async authorize(
    conn: SyncConnection,
    identity: Identity,
    sub: Subscription,
  ): Promise<{ sub: Subscription; resolved: ResolvedSubscription; generation: number } | null> {
    try {
      const generation = this.options.registry.generation;
      const resolved = this.options.registry.resolve(sub, identity, this.perUser);
      await checkAccess(this.options.pool, this.options.db, identity, resolved);
      return { sub, resolved, generation };
    } catch (e) {
      const err = e instanceof SynclineError ? e : new SynclineError('INTERNAL', 'could not check access');
      if (!(e instanceof SynclineError)) this.options.logger.error({ err: e }, 'access check failed');
      conn.error({ code: err.code, message: err.message, subscription: sub.id });
      return null;
    }
  }

  /**
   * Did a transaction routed while we were checking access take it away? The log
   * holds every transaction since; if it no longer reaches back, assume yes.
   */
  private revokedSince(from: { epoch: string | null; lsn: bigint }, resolved: ResolvedSubscription): boolean {
    const access = resolved.collection.access;
    if (access?.kind !== 'exists' || !resolved.accessBound) return false;
    if (from.epoch !== this.epoch || !this.log.covers(from.lsn)) return true;
    const table = access.table.qualified;
    for (const tx of this.log.since(from.lsn)) {
      if (tx.truncated.includes(table)) return true;
      for (const c of tx.changes)
        if (c.table === table && c.old && loses(resolved.accessBound, c.old, c.row)) return true;
    }
    return false;
  }

  /**
   * A new token for the same user: every subscription is checked again under it.
   * One whose rows would differ resyncs; one no longer allowed is revoked.
   */
  async refreshIdentity(conn: SyncConnection, identity: Identity): Promise<void> {
    conn.identity = identity;
    for (const [subId, s] of [...conn.subscriptions]) {
      const sub = { id: subId, collection: s.instance.collection.name, params: s.params };
      let resolved: ResolvedSubscription;
      try {
        resolved = this.options.registry.resolve(sub as Subscription, identity, this.perUser);
        await checkAccess(this.options.pool, this.options.db, identity, resolved);
      } catch {
        if (conn.subscriptions.get(subId) === s) this.revoke(conn, subId);
        continue;
      }
      if (conn.subscriptions.get(subId) !== s) continue;
      if (resolved.instanceKey !== s.instance.key) this.subscriptions.end(conn, subId, resync('claims-changed'));
    }
  }

  /** Registers an authorized subscription on the connection; null if it was refused. */
  private admit(
    conn: SyncConnection,
    sub: Subscription,
    resolved: ResolvedSubscription,
    fallbackCursor?: string,
  ): Admitted | null {
    this.subscriptions.end(conn, sub.id);
    if (conn.subscriptions.size >= this.options.maxSubscriptionsPerConnection) {
      conn.error({
        code: 'TOO_LARGE',
        message: `at most ${this.options.maxSubscriptionsPerConnection} subscriptions per connection`,
        subscription: sub.id,
      });
      return null;
    }
    const cursorText = sub.cursor ?? fallbackCursor;
    let after: bigint | null = null;
    if (cursorText !== undefined) {
      const problem = this.checkCursor(cursorText);
      if (problem === 'malformed') {
        conn.error({ code: 'BAD_REQUEST', message: 'cursor is not one this server issued', subscription: sub.id });
        return null;
      }
      if (problem) {
        conn.resync({ subscription: sub.id, reason: problem });
        return null;
      }
      after = (decodeCursor(cursorText) as { lsn: bigint }).lsn;
    }
    const instance = this.instanceFor(
      resolved.instanceKey,
      () => new CollectionInstance(resolved.instanceKey, resolved.collection, resolved.bound, conn.identity),
    );
    const access = resolved.collection.access;
    const { subscriber } = this.subscriptions.admit({
      conn,
      id: sub.id,
      instance,
      params: resolved.params,
      access:
        access?.kind === 'exists' && resolved.accessBound
          ? { key: `${resolved.instanceKey}#access`, table: access.table, bound: resolved.accessBound }
          : null,
      phase: after === null ? 'snapshot' : 'live',
    });
    return { instance, subscriber, after };
  }

  unsubscribe(conn: SyncConnection, subId: string): boolean {
    return this.subscriptions.end(conn, subId) !== null;
  }

  /**
   * Takes a subscription away from its client: deletes for its rows, then
   * FORBIDDEN. `since`: the stream position the client's rows are at.
   */
  revoke(conn: SyncConnection, subId: string, since = this.log.head): void {
    const s = this.subscriptions.end(conn, subId);
    if (!s) return;
    const wasLive = s.phase === 'live';
    this.stats.revocations++;
    void sendRevocation(
      this.options.pool,
      this.options.logger,
      conn,
      subId,
      s.instance,
      wasLive,
      () => this.headCursor() as string,
      this.options.maxSnapshotRows,
      () => this.firstOpsSince(s.instance, since),
    );
  }

  /** For each key of `instance` changed after `since`, its first change (insert, update or delete). */
  private firstOpsSince(instance: CollectionInstance, since: bigint): Map<string, InstanceChange['op']> {
    const first = new Map<string, InstanceChange['op']>();
    if (!this.log.covers(since)) return first;
    const table = instance.collection.table.qualified;
    for (const tx of this.log.since(since)) {
      const changes: InstanceChange[] = [];
      for (const c of tx.changes) {
        if (c.table !== table) continue;
        // A row inserted since was never the client's, whatever its visibility (its verdict is gone).
        if (c.op === 'insert' && c.row)
          changes.push({ op: 'insert', key: instance.collection.keyOf(c.row), row: null, version: 0 });
        else changesFor(instance, c, changes);
      }
      for (const c of changes) if (!first.has(c.key)) first.set(c.key, c.op);
    }
    return first;
  }

  /** A new connection (any transport). */
  connect(conn: SyncConnection): void {
    let set = this.byClient.get(conn.clientId);
    if (!set) this.byClient.set(conn.clientId, (set = new Set()));
    set.add(conn);
  }

  /** Resolves with the cursor of the transaction tagged (clientId, mutationId), or null after `ms`. */
  awaitCursor(clientId: string, mutationId: number, ms = 5_000): { promise: Promise<string | null>; cancel(): void } {
    const key = `${clientId}\u0000${mutationId}`;
    let settle: (v: string | null) => void = () => {};
    const promise = new Promise<string | null>((resolve) => {
      const onCursor = (cursor: string) => settle(cursor);
      const timer = setTimeout(() => settle(null), ms);
      timer.unref();
      settle = (v) => {
        clearTimeout(timer);
        const set = this.awaiting.get(key);
        set?.delete(onCursor);
        if (set?.size === 0) this.awaiting.delete(key);
        resolve(v);
      };
      let set = this.awaiting.get(key);
      if (!set) this.awaiting.set(key, (set = new Set()));
      set.add(onCursor);
    });
    return { promise, cancel: () => settle(null) };
  }

  /** Removes every subscription of a connection (it closed, or UNSUBSCRIBE_ALL). */
  unsubscribeAll(conn: SyncConnection): void {
    this.subscriptions.endAll(conn);
  }

  disconnect(conn: SyncConnection): void {
    const set = this.byClient.get(conn.clientId);
    set?.delete(conn);
    if (set && set.size === 0) this.byClient.delete(conn.clientId);
    this.subscriptions.endAll(conn);
  }

  // ── internals ───────────────────────────────────────────────────────────

  /** The furthest of these cursors that is of this epoch and ahead of the log; null if none. */
  private aheadOf(cursors: Array<string | undefined>): bigint | null {
    let max: bigint | null = null;
    for (const text of cursors) {
      const c = text === undefined ? null : decodeCursor(text);
      if (c && c.epoch === this.epoch && c.lsn > this.log.head && (max === null || c.lsn > max)) max = c.lsn;
    }
    return max;
  }

  /** Resolves once the log's head reaches `lsn`, or after `ms` (bounded: one waiter per subscribe call). */
  private whenHeadReaches(lsn: bigint, ms: number): Promise<void> {
    if (this.log.head >= lsn) return Promise.resolve();
    return new Promise((resolve) => {
      const w = { lsn, resolve: () => {} };
      const timer = setTimeout(() => w.resolve(), ms);
      timer.unref();
      w.resolve = () => {
        clearTimeout(timer);
        this.headWaiters.delete(w);
        resolve();
      };
      this.headWaiters.add(w);
    });
  }

  private checkCursor(text: string): 'malformed' | ResyncReason | null {
    const c = decodeCursor(text);
    if (!c) return 'malformed';
    if (c.epoch !== this.epoch) return 'cursor-epoch';
    if (c.lsn > this.log.head) return 'cursor-ahead';
    if (c.lsn < this.log.floor) return 'cursor-too-old';
    return null;
  }

  private instanceFor(key: string, create: () => CollectionInstance): CollectionInstance {
    let instance = this.instances.get(key);
    if (!instance) {
      instance = create();
      this.instances.set(key, instance);
      this.instanceTable.set(instance.id, instance.collection.table.qualified);
      this.index.add(instance);
    }
    return instance;
  }

  private dropIfIdle(instance: CollectionInstance): void {
    if (!instance.idle || this.instances.get(instance.key) !== instance) return;
    this.instances.delete(instance.key);
    this.instanceTable.delete(instance.id);
    this.index.remove(instance);
  }
}

/**
 * A connection's entries minus the changes the initiator's response already
 * covers — and which subscriptions those belonged to, so the client can apply
 * the answer's rows to exactly them.
 */
function withoutReturnedRows(
  entries: ChangesEntry[],
  tag: OriginTag,
  tableOf: (instanceId: number) => string | undefined,
): { rest: ChangesEntry[]; covered: CoveredChange[] } {
  const rest: ChangesEntry[] = [];
  const covered: CoveredChange[] = [];
  for (const e of entries) {
    const table = tableOf(e.instanceId);
    // The response holds the row at its returned version: every change up to that version is
    // already on the client; a later one (a trigger touching the row again) is news.
    const changes = e.changes.filter((c) => {
      const returned = tag.rows.get(`${table}\u0000${c.key}`);
      if (returned === undefined || c.version > returned) return true;
      covered.push({ subscription: e.subId, op: c.op, key: c.key, version: c.version });
      return false;
    });
    if (changes.length > 0) rest.push({ ...e, changes });
  }
  return { rest, covered };
}
