/**
 * One joined room, as the app sees it: `members()` (a user with one meta per
 * connection or tab), `set(state)`, `leave()`, `broadcast(event, payload)`,
 * and events. The server sends the room's whole state, then diffs by ref;
 * after a reconnect the client joins again by itself and gets the state anew.
 */
import type {
  BroadcastMessage,
  JsonValue,
  PresenceDiffMessage,
  PresenceMeta,
  PresenceStateMessage,
} from '@syncline/protocol';
import { Emitter } from '../store/emitter.ts';

export interface PresenceMember {
  user: string;
  metas: PresenceMeta[];
}

export interface PresenceRoomEvents {
  /** The members changed (`members()` has the new list). */
  change: PresenceMember[];
  /** Another member's ephemeral event (typing, a cursor): never stored or replayed. */
  broadcast: { from: string; event: string; payload: JsonValue };
  /** The server refused (FORBIDDEN, TOO_LARGE, UNKNOWN_ROOM…); a FORBIDDEN room is left. */
  error: { code: string; message: string };
}

export interface PresenceTransport {
  set(room: string, state: JsonValue, key: string): void;
  leave(room: string, key: string): void;
  broadcast(room: string, event: string, payload: JsonValue): void;
  /** The handle is done: forget it. */
  release(room: string, handle: PresenceRoom): void;
}

export class PresenceRoom {
  /** Users in the room (when the server lists past its cap, only this count is kept). */
  count = 0;
  truncated = false;
  private users = new Map<string, Map<string, PresenceMeta>>();
  private readonly emitter = new Emitter<PresenceRoomEvents>();
  private state: JsonValue;
  private left = false;

  constructor(
    readonly room: string,
    state: JsonValue,
    private readonly key: string,
    private readonly transport: PresenceTransport,
  ) {
    this.state = state;
    transport.set(room, state, key);
  }

  members(): PresenceMember[] {
    return [...this.users].map(([user, metas]) => ({ user, metas: [...metas.values()] }));
  }

  /** This connection's state in the room; updates past the server's rate are coalesced (the last wins). */
  set(state: JsonValue): void {
    if (this.left) throw new Error(`left room ${this.room}; join it again with presence()`);
    this.state = state;
    this.transport.set(this.room, state, this.key);
  }

  broadcast(event: string, payload: JsonValue = null): void {
    if (this.left) throw new Error(`left room ${this.room}`);
    this.transport.broadcast(this.room, event, payload);
  }

  leave(): void {
    if (this.left) return;
    this.left = true;
    this.transport.leave(this.room, this.key);
    this.transport.release(this.room, this);
    this.users.clear();
  }

  on<K extends keyof PresenceRoomEvents>(event: K, listener: (payload: PresenceRoomEvents[K]) => void): () => void {
    return this.emitter.on(event, listener);
  }

  // ── from the stream (PresenceRooms) ──

  /** Joins again on a new connection (the server sends the whole state then). */
  rejoin(): void {
    if (!this.left) this.transport.set(this.room, this.state, this.key);
  }

  applyState(m: PresenceStateMessage): void {
    this.users = new Map(Object.entries(m.members).map(([u, metas]) => [u, new Map(metas.map((x) => [x.ref, x]))]));
    this.count = m.count;
    this.truncated = m.truncated === true;
    this.emitter.emit('change', this.members());
  }

  applyDiff(m: PresenceDiffMessage): void {
    for (const [user, metas] of Object.entries(m.leaves)) {
      const held = this.users.get(user);
      for (const x of metas) held?.delete(x.ref);
      if (held?.size === 0) this.users.delete(user);
    }
    for (const [user, metas] of Object.entries(m.joins)) {
      let held = this.users.get(user);
      if (!held) this.users.set(user, (held = new Map()));
      for (const x of metas) held.set(x.ref, x);
    }
    this.count = m.count;
    this.truncated = m.truncated === true;
    this.emitter.emit('change', this.members());
  }

  applyBroadcast(m: BroadcastMessage): void {
    this.emitter.emit('broadcast', { from: m.from, event: m.event, payload: m.payload });
  }

  applyError(e: { code: string; message: string }): void {
    if (e.code === 'FORBIDDEN' || e.code === 'UNKNOWN_ROOM') {
      this.left = true;
      this.users.clear();
      this.transport.release(this.room, this);
    }
    this.emitter.emit('error', e);
  }
}
