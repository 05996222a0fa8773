/**
 * Presence on this node: who is in which room, for this node's connections
 * and (through a PresenceLink, over Redis) every other node's.
 *
 *   PRESENCE_SET ─► room pattern ─► bounds ─► access (first join) ─► meta upserted ─► link.set
 *                                   (updates past the rate: the last state waits, never a queue)
 *   PRESENCE_LEAVE ─► metas removed at once ─► link.remove
 *   connection closed ─► its metas stay presenceGraceMs (a reload finds and keeps them) ─► removed
 *   a change to a room's `exists` table ─► its members here checked again ─► FORBIDDEN ones leave at once
 *   every presenceFlushMs: each changed room's diff ─► its members here
 *
 * A member gets the room's whole state as it joins, then diffs. Diffs are by
 * ref and idempotent, so a join already in that state is harmless.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { BroadcastMessage, ErrorCode, JsonValue, PresenceLeave, PresenceSet, Broadcast } from '@syncline/protocol';
import { accessAllows } from '../auth/access-check.ts';
import type { DbSessionOptions } from '../auth/user-transaction.ts';
import type { CapturedTransaction } from '../capture/captured-transaction.ts';
import { TokenBucket } from '../transport/rate-limiter.ts';
import type { SyncConnection } from '../transport/sync-connection.ts';
import type { PresenceLimits } from './presence-limits.ts';
import type { Room } from './room-definition.ts';
import { type MetaRecord, RoomState } from './room-state.ts';

/** How presence reaches other nodes (presence-cluster.ts); absent on one node. */
export interface PresenceLink {
  set(room: string, meta: MetaRecord): void;
  remove(room: string, meta: MetaRecord): void;
  broadcast(msg: BroadcastMessage): void;
}

/** One connection's presence: room → tab key → ref, and its rate state. */
interface Member {
  rooms: Map<string, Map<string, string>>;
  params: Map<string, { room: Room; params: Record<string, string> }>;
  updates: TokenBucket;
  broadcasts: TokenBucket;
  /** Updates and broadcasts over the rate, waiting for the next slot (the last one wins). */
  waiting: Map<string, () => void>;
  timer: NodeJS.Timeout | null;
  /** Operations of one connection run in order (an access check is async). */
  chain: Promise<void>;
}

export interface PresenceOptions {
  rooms: Room[];
  pool: pg.Pool;
  db: DbSessionOptions;
  limits: PresenceLimits;
  logger: Logger;
  node: string;
}

export class PresenceService {
  link: PresenceLink | null = null;
  private readonly states = new Map<string, RoomState>();
  private readonly listeners = new Map<string, Set<SyncConnection>>();
  private readonly members = new Map<SyncConnection, Member>();
  /** Metas of closed connections, by ref, until their grace period ends. */
  private readonly ghosts = new Map<string, { room: string; timer: NodeJS.Timeout }>();
  private readonly dirty = new Set<string>();
  /** Refs other nodes removed lately, and when (a read of their hash begun before must not bring them back). */
  private readonly removed = new Map<string, number>();
  /** Connections that joined a room since the last flush: they get its whole state then. */
  private readonly joiners = new Map<string, Set<SyncConnection>>();
  private readonly flushTimer: NodeJS.Timeout;
  private recheckTimer: NodeJS.Timeout | null = null;
  private readonly recheckTables = new Set<string>();

  /** Tables the rooms' `exists` rules read (fixed with the rooms; checked against every transaction). */
  private readonly watchedTables: ReadonlySet<string>;

  constructor(private readonly o: PresenceOptions) {
    this.watchedTables = new Set(o.rooms.map((r) => r.watchedTable).filter((t): t is string => t !== null));
    this.flushTimer = setInterval(() => this.flush(), o.limits.presenceFlushMs);
    this.flushTimer.unref();
  }

  get node(): string {
    return this.o.node;
  }

  // ── from this node's connections ───────────────────────────────────────

  set(conn: SyncConnection, m: PresenceSet): Promise<void> {
    return this.inOrder(conn, () => this.doSet(conn, m.room, m.key ?? '', (m.state ?? null) as JsonValue));
  }

  leave(conn: SyncConnection, m: PresenceLeave): Promise<void> {
    return this.inOrder(conn, async () => {
      const member = this.members.get(conn);
      const keys = member?.rooms.get(m.room);
      if (!member || !keys) return;
      for (const key of m.key === undefined ? [...keys.keys()] : [m.key]) this.removeMeta(conn, member, m.room, key);
    });
  }

  broadcast(conn: SyncConnection, m: Broadcast): Promise<void> {
    return this.inOrder(conn, async () => {
      const member = this.members.get(conn);
      if (!member?.rooms.has(m.room))
        return this.refuse(conn, 'BAD_REQUEST', `join room ${m.room} before broadcasting to it`, m.room);
      if (bytes(m.payload ?? null) > this.o.limits.presenceStateBytes)
        return this.refuse(
          conn,
          'TOO_LARGE',
          `a broadcast payload is at most ${this.o.limits.presenceStateBytes} bytes`,
          m.room,
        );
      const msg: BroadcastMessage = {
        room: m.room,
        from: conn.identity.userId,
        event: m.event,
        payload: (m.payload ?? null) as JsonValue,
      };
      this.paced(conn, member, member.broadcasts, `b\u0000${m.room}\u0000${m.event}`, () => {
        this.deliverBroadcast(msg, conn);
        this.link?.broadcast(msg);
      });
    });
  }

  /** The connection closed: it hears nothing more; its metas leave after the grace period. */
  disconnect(conn: SyncConnection): void {
    const member = this.members.get(conn);
    if (!member) return;
    this.members.delete(conn);
    for (const room of member.rooms.keys()) this.joiners.get(room)?.delete(conn);
    if (member.timer) clearTimeout(member.timer);
    for (const [room, keys] of member.rooms) {
      this.listeners.get(room)?.delete(conn);
      for (const ref of keys.values()) {
        const timer = setTimeout(() => {
          this.ghosts.delete(ref);
          const meta = this.states.get(room)?.get(ref);
          if (meta && meta.node === this.o.node) this.drop(room, meta);
        }, this.o.limits.presenceGraceMs);
        timer.unref();
        this.ghosts.set(ref, { room, timer });
        const meta = this.states.get(room)?.get(ref);
        if (meta) meta.ghost = true;
      }
    }
  }

  /** Transactions from the bus: a change to a table a room's access reads checks its members again. */
  onTransaction(tx: CapturedTransaction): void {
    const watched = this.watchedTables;
    if (watched.size === 0) return;
    for (const c of tx.changes) if (watched.has(c.table)) this.recheckTables.add(c.table);
    for (const t of tx.truncated) if (watched.has(t)) this.recheckTables.add(t);
    if (this.recheckTables.size > 0 && !this.recheckTimer) {
      this.recheckTimer = setTimeout(() => void this.recheck(), 20);
    }
  }

  // ── from other nodes (the link) ────────────────────────────────────────

  remoteSet(room: string, meta: MetaRecord): void {
    meta.seenAt = performance.now();
    const ghost = this.ghosts.get(meta.ref);
    if (ghost) {
      // Another node took this meta over (a reload landed there): it is not ours to remove.
      clearTimeout(ghost.timer);
      this.ghosts.delete(meta.ref);
    }
    this.state(room).upsert(meta);
    this.dirty.add(room);
  }

  remoteRemove(room: string, ref: string, node: string): void {
    this.removed.set(ref, performance.now());
    if (this.removed.size > 10_000)
      for (const old of [...this.removed.keys()].slice(0, 5_000)) this.removed.delete(old);
    const meta = this.states.get(room)?.get(ref);
    if (meta && meta.node === node) this.drop(room, meta, false);
  }

  remoteBroadcast(msg: BroadcastMessage): void {
    this.deliverBroadcast(msg, null);
  }

  /** A node is gone (its liveness key expired): its members leave everywhere. */
  nodeGone(node: string): void {
    for (const [room, state] of this.states) for (const meta of state.metasOf(node)) this.drop(room, meta, false);
  }

  /**
   * A node's whole presence, read from Redis (after a reconnect, a hello, or the periodic check):
   * what it no longer has leaves. A message about a meta that arrived while the read was under
   * way is newer than the read, and wins.
   */
  replaceNode(node: string, metas: Array<{ room: string; meta: MetaRecord }>, readSince: number): void {
    const keep = new Set(metas.map((m) => `${m.room}\u0000${m.meta.ref}`));
    for (const [room, state] of this.states)
      for (const meta of state.metasOf(node))
        if (!keep.has(`${room}\u0000${meta.ref}`) && (meta.seenAt ?? 0) < readSince) this.drop(room, meta, false);
    for (const { room, meta } of metas) {
      const held = this.states.get(room)?.get(meta.ref);
      if ((held?.seenAt ?? 0) >= readSince || (this.removed.get(meta.ref) ?? 0) >= readSince) continue;
      this.remoteSet(room, { ...meta, node });
    }
  }

  /** Other nodes this node holds metas of. */
  remoteNodes(): string[] {
    const nodes = new Set<string>();
    for (const state of this.states.values()) for (const n of state.nodes()) if (n !== this.o.node) nodes.add(n);
    return [...nodes];
  }

  /** This node's own metas (to write them again after Redis lost them). */
  localMetas(): Array<{ room: string; meta: MetaRecord }> {
    const out: Array<{ room: string; meta: MetaRecord }> = [];
    for (const [room, state] of this.states) for (const meta of state.metasOf(this.o.node)) out.push({ room, meta });
    return out;
  }

  /** Users in a room as this node sees it (tests, stats). */
  roomState(room: string): RoomState | undefined {
    return this.states.get(room);
  }

  stop(): void {
    clearInterval(this.flushTimer);
    if (this.recheckTimer) clearTimeout(this.recheckTimer);
    for (const g of this.ghosts.values()) clearTimeout(g.timer);
    for (const m of this.members.values()) if (m.timer) clearTimeout(m.timer);
  }

  // ── inside ─────────────────────────────────────────────────────────────

  private inOrder(conn: SyncConnection, op: () => Promise<void>): Promise<void> {
    if (conn.closed) return Promise.resolve();
    // Every operation of a connection waits for the one before (its first join's access check too).
    const member = this.members.get(conn) ?? this.newMember(conn);
    const next = member.chain.then(op, op);
    member.chain = next.catch(() => {});
    return next;
  }

  private async doSet(conn: SyncConnection, name: string, key: string, state: JsonValue): Promise<void> {
    const l = this.o.limits;
    if (bytes(state) > l.presenceStateBytes)
      return this.refuse(conn, 'TOO_LARGE', `presence state is at most ${l.presenceStateBytes} bytes`, name);
    let member = this.members.get(conn);
    const held = member?.rooms.get(name);
    if (member && held?.has(key)) {
      // An update: paced per connection; past the rate the last state waits for the next slot.
      const m = member;
      this.paced(conn, m, m.updates, `s\u0000${name}\u0000${key}`, () => this.putMeta(conn, m, name, key, state));
      return;
    }
    if (held && held.size >= l.presenceMetasPerRoom)
      return this.refuse(conn, 'TOO_LARGE', `at most ${l.presenceMetasPerRoom} metas per connection in one room`, name);
    if (!held) {
      if (member && member.rooms.size >= l.presenceRoomsPerConnection)
        return this.refuse(conn, 'TOO_LARGE', `at most ${l.presenceRoomsPerConnection} rooms per connection`, name);
      const match = this.match(name);
      if (!match) return this.refuse(conn, 'UNKNOWN_ROOM', `unknown room "${name}"`, name);
      if (!(await this.allowed(conn, match.room, match.params)))
        return this.refuse(conn, 'FORBIDDEN', `not allowed in room ${name}`, name);
      if (conn.closed) return;
      member = this.members.get(conn) ?? this.newMember(conn);
      if (member.rooms.size >= l.presenceRoomsPerConnection)
        return this.refuse(conn, 'TOO_LARGE', `at most ${l.presenceRoomsPerConnection} rooms per connection`, name);
      member.rooms.set(name, new Map());
      member.params.set(name, match);
    }
    this.putMeta(conn, member as Member, name, key, state);
  }

  private putMeta(conn: SyncConnection, member: Member, name: string, key: string, state: JsonValue): void {
    const keys = member.rooms.get(name);
    if (!keys || conn.closed) return;
    const room = this.state(name);
    let ref = keys.get(key);
    let onlineAt = Date.now();
    const added = !ref;
    if (!ref) {
      // A reload within the grace period: the closed connection's meta is taken over, unchanged in ref.
      const ghost = room.find(conn.identity.userId, key);
      if (ghost?.ghost) {
        ref = ghost.ref;
        onlineAt = ghost.onlineAt;
        const g = this.ghosts.get(ref);
        if (g) clearTimeout(g.timer);
        this.ghosts.delete(ref);
      } else ref = randomBytes(9).toString('base64url');
      keys.set(key, ref);
    } else onlineAt = room.get(ref)?.onlineAt ?? onlineAt;
    const meta: MetaRecord = { ref, sub: conn.identity.userId, key, state, onlineAt, node: this.o.node };
    room.upsert(meta);
    this.dirty.add(name);
    this.link?.set(name, meta);
    let listening = this.listeners.get(name);
    if (!listening) this.listeners.set(name, (listening = new Set()));
    if (!listening.has(conn) || added) {
      // The room's state goes out at the next flush, built once for everyone who joined meanwhile
      // (a join storm costs one state per flush, not one per member). A new meta on a connection
      // already in the room (another tab sharing it) gets the state again: that tab has none yet.
      listening.add(conn);
      let waiting = this.joiners.get(name);
      if (!waiting) this.joiners.set(name, (waiting = new Set()));
      waiting.add(conn);
    }
  }

  private removeMeta(conn: SyncConnection, member: Member, name: string, key: string): void {
    const keys = member.rooms.get(name);
    const ref = keys?.get(key);
    if (!keys || !ref) return;
    keys.delete(key);
    const meta = this.states.get(name)?.get(ref);
    if (meta && meta.node === this.o.node) this.drop(name, meta);
    if (keys.size === 0) {
      member.rooms.delete(name);
      member.params.delete(name);
      this.listeners.get(name)?.delete(conn);
    }
  }

  private drop(name: string, meta: MetaRecord, publish = true): void {
    const state = this.states.get(name);
    if (!state?.remove(meta.ref)) return;
    this.dirty.add(name);
    if (publish) this.link?.remove(name, meta);
  }

  private paced(conn: SyncConnection, member: Member, bucket: TokenBucket, slot: string, run: () => void): void {
    if (!member.waiting.has(slot) && bucket.take()) return run();
    member.waiting.set(slot, run); // replaces what waited there: the last one wins
    if (member.timer) return;
    const retry = () => {
      member.timer = null;
      for (const [s, fn] of member.waiting) {
        if (!bucket.take()) break;
        member.waiting.delete(s);
        if (!conn.closed) fn();
      }
      if (member.waiting.size > 0 && !conn.closed) member.timer = setTimeout(retry, 100);
    };
    member.timer = setTimeout(retry, 100);
  }

  private newMember(conn: SyncConnection): Member {
    const l = this.o.limits;
    const m: Member = {
      rooms: new Map(),
      params: new Map(),
      updates: new TokenBucket({ rate: l.presenceUpdatesPerSecond, burst: l.presenceUpdatesPerSecond }),
      broadcasts: new TokenBucket({ rate: l.broadcastsPerSecond, burst: l.broadcastsPerSecond }),
      waiting: new Map(),
      timer: null,
      chain: Promise.resolve(),
    };
    this.members.set(conn, m);
    return m;
  }

  private match(name: string): { room: Room; params: Record<string, string> } | null {
    for (const room of this.o.rooms) {
      const params = room.match(name);
      if (params) return { room, params };
    }
    return null;
  }

  private async allowed(conn: SyncConnection, room: Room, params: Record<string, string>): Promise<boolean> {
    if (!room.access) return true;
    try {
      const bound = room.access.kind === 'exists' ? room.access.filter.bind(params, conn.identity.claims) : null;
      return await accessAllows(this.o.pool, this.o.db, conn.identity, room.access, bound, params);
    } catch (err) {
      this.o.logger.warn({ err }, 'presence access check failed');
      return false;
    }
  }

  private async recheck(): Promise<void> {
    this.recheckTimer = null;
    const tables = new Set(this.recheckTables);
    this.recheckTables.clear();
    const checks: Array<Promise<void>> = [];
    for (const [conn, member] of this.members)
      checks.push(
        this.checkMember(conn, member, (room) => room.watchedTable !== null && tables.has(room.watchedTable)),
      );
    await Promise.all(checks);
  }

  /** A refreshed token (new claims): every room of the connection is checked again, function rules too. */
  refreshed(conn: SyncConnection): Promise<void> {
    return this.inOrder(conn, async () => {
      const member = this.members.get(conn);
      if (member) await this.checkMember(conn, member, () => true);
    });
  }

  /** Rooms the member no longer passes (of those `which` picks) it leaves at once, told FORBIDDEN. */
  private async checkMember(conn: SyncConnection, member: Member, which: (room: Room) => boolean): Promise<void> {
    const checks: Array<Promise<void>> = [];
    for (const [name, { room, params }] of member.params) {
      if (!room.access || !which(room)) continue;
      checks.push(
        this.allowed(conn, room, params).then((ok) => {
          if (ok || !member.rooms.has(name)) return;
          for (const key of [...(member.rooms.get(name)?.keys() ?? [])]) this.removeMeta(conn, member, name, key);
          this.refuse(conn, 'FORBIDDEN', `no longer allowed in room ${name}`, name);
        }),
      );
    }
    await Promise.all(checks);
  }

  private deliverBroadcast(msg: BroadcastMessage, from: SyncConnection | null): void {
    const listening = this.listeners.get(msg.room);
    if (!listening?.size) return;
    const json = JSON.stringify(msg);
    for (const c of listening) if (c !== from) c.presence('broadcast', json);
  }

  private flush(): void {
    if (this.dirty.size === 0 && this.joiners.size === 0) return;
    const cap = this.o.limits.presenceMembersListed;
    for (const name of new Set([...this.dirty, ...this.joiners.keys()])) {
      const state = this.states.get(name);
      const out = state?.takeDiff(cap);
      const listening = this.listeners.get(name);
      const joined = this.joiners.get(name);
      this.joiners.delete(name);
      if (state && joined?.size) {
        const json = JSON.stringify(out?.type === 'state' ? out.message : state.state(cap));
        for (const c of joined) if (listening?.has(c)) c.presence('presence_state', json);
      }
      if (out && listening) {
        const json = JSON.stringify(out.message);
        const event = out.type === 'diff' ? 'presence_diff' : 'presence_state';
        for (const c of listening) if (!joined?.has(c)) c.presence(event, json);
      }
      if (state && state.size === 0 && !listening?.size) {
        this.states.delete(name);
        this.listeners.delete(name);
      }
    }
    this.dirty.clear();
  }

  private state(name: string): RoomState {
    let s = this.states.get(name);
    if (!s) this.states.set(name, (s = new RoomState(name)));
    return s;
  }

  private refuse(conn: SyncConnection, code: ErrorCode, message: string, room: string): void {
    conn.error({ code, message, room });
  }
}

function bytes(v: unknown): number {
  return Buffer.byteLength(JSON.stringify(v) ?? 'null');
}
