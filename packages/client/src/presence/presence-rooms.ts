/**
 * Every room this client has joined, over its one connection: joins go out as
 * PRESENCE_SET frames (WebSocket) or POST /v1/presence (SSE) while the
 * connection is open, and all of them again at every `hello` (a reconnect);
 * what the stream says about a room goes to its handle.
 *
 * The tab key tells this tab's meta apart from other tabs' and survives a
 * reload (sessionStorage), so a reload within the server's grace period keeps
 * the same meta: the others see no leave and join.
 */
import type {
  BroadcastMessage,
  ErrorMessage,
  JsonValue,
  PresenceDiffMessage,
  PresenceStateMessage,
} from '@syncline/protocol';
import { randomId } from '../random-id.ts';
import { PresenceRoom, type PresenceTransport } from './presence-room.ts';

export interface PresenceWire {
  /** Sends a presence request on the open connection; false when none is open (the next hello rejoins). */
  send(kind: 'set' | 'leave' | 'broadcast', body: Record<string, JsonValue>): boolean;
}

export class PresenceRooms implements PresenceTransport {
  private readonly rooms = new Map<string, PresenceRoom>();
  readonly key = tabKey();

  constructor(private readonly wire: PresenceWire) {}

  join(room: string, state: JsonValue): PresenceRoom {
    const held = this.rooms.get(room);
    if (held) {
      held.set(state);
      return held;
    }
    const handle = new PresenceRoom(room, state, this.key, this);
    this.rooms.set(room, handle);
    return handle;
  }

  /** A connection came up: join every room again. */
  opened(): void {
    for (const r of this.rooms.values()) r.rejoin();
  }

  onState(m: PresenceStateMessage): void {
    this.rooms.get(m.room)?.applyState(m);
  }
  onDiff(m: PresenceDiffMessage): void {
    this.rooms.get(m.room)?.applyDiff(m);
  }
  onBroadcast(m: BroadcastMessage): void {
    this.rooms.get(m.room)?.applyBroadcast(m);
  }
  /** True when the error was about a room (and went to its handle). */
  onError(e: ErrorMessage): boolean {
    if (e.room === undefined) return false;
    this.rooms.get(e.room)?.applyError(e);
    return true;
  }

  set(room: string, state: JsonValue, key: string): void {
    this.wire.send('set', { room, state, key });
  }
  leave(room: string, key: string): void {
    this.wire.send('leave', { room, key });
  }
  broadcast(room: string, event: string, payload: JsonValue): void {
    this.wire.send('broadcast', { room, event, payload });
  }
  release(room: string, handle: PresenceRoom): void {
    if (this.rooms.get(room) === handle) this.rooms.delete(room);
  }
}

/** This tab's meta key: kept across reloads of the tab, different in every other tab. */
function tabKey(): string {
  // A UUID's first 16 characters (hex and '-') are a valid meta key as they are.
  const fresh = () => randomId().slice(0, 16);
  try {
    const s = globalThis.sessionStorage;
    let k = s?.getItem('syncline:tab-key');
    if (!k) s?.setItem('syncline:tab-key', (k = fresh()));
    if (k) return k;
  } catch {
    // No sessionStorage (Node, a sandboxed frame): one key per client.
  }
  return fresh();
}
