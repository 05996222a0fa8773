/**
 * `presence(room, params, state)`: who else is here. The room is joined while
 * an effect reads `members` (shared per client, left after the linger like a
 * subscription), with the last state given to `set()`.
 */
import type { JsonValue } from '@syncline/protocol';
import type { PresenceMember, PresenceRoom, PresenceRoomEvents, SyncClient } from '@syncline/client';

/** A broadcast as the room delivers it: who sent it (a user id), its event name and payload. */
export type PresenceBroadcast = PresenceRoomEvents['broadcast'];
import { acquireRoom, paramsKey, poolsFor } from './client-pools.ts';
import { getSynclineClient } from './context.ts';
import { Held } from './held.ts';

const NOBODY: readonly PresenceMember[] = Object.freeze([]);

export class LivePresence {
  private state: JsonValue;
  private readonly key: string;
  private readonly membersHeld: Held<PresenceRoom>;
  private readonly errorHeld: Held<PresenceRoom>;
  private cachedMembers: { room: PresenceRoom; list: readonly PresenceMember[] } | undefined;
  private lastError: { code: string; message: string } | undefined;

  constructor(
    private readonly client: SyncClient,
    readonly room: string,
    private readonly params: Record<string, string | number>,
    state: JsonValue,
  ) {
    this.state = state;
    this.key = `${room}\u0000${paramsKey(params)}`;
    const acquire = () => acquireRoom(client, room, params, this.state);
    this.membersHeld = new Held(acquire, (r, update) =>
      r.on('change', () => {
        this.cachedMembers = undefined;
        update();
      }),
    );
    this.errorHeld = new Held(acquire, (r, update) =>
      r.on('error', (e) => {
        this.lastError = e;
        update();
      }),
    );
  }

  /** Users in the room, each with one meta per connection or tab (the same array until it changes). */
  get members(): readonly PresenceMember[] {
    const room = this.membersHeld.read(this.key);
    if (room === undefined) {
      const other = this.peek(); // held by another reader (or lingering): no change signal here to cache by
      return other ? Object.freeze(other.members()) : NOBODY;
    }
    if (this.cachedMembers?.room !== room) this.cachedMembers = { room, list: Object.freeze(room.members()) };
    return this.cachedMembers.list;
  }

  /** The server's refusal (FORBIDDEN, UNKNOWN_ROOM, TOO_LARGE), if any. */
  get error(): { code: string; message: string } | undefined {
    this.errorHeld.read(this.key);
    return this.lastError;
  }

  /** This tab's state in the room (kept for the next join while nobody reads the room). */
  set(state: JsonValue): void {
    this.state = state;
    this.peek()?.set(state);
  }

  /** An ephemeral event to the others in the room (dropped while the room is not joined). */
  broadcast(event: string, payload: JsonValue = null): void {
    this.peek()?.broadcast(event, payload);
  }

  /**
   * Calls `listener` with each broadcast from the others in the room, holding the room
   * joined until the returned function is called: `$effect(() => room.onBroadcast(fn))`.
   */
  onBroadcast(listener: (message: PresenceBroadcast) => void): () => void {
    const lease = acquireRoom(this.client, this.room, this.params, this.state);
    const off = lease.value.on('broadcast', listener);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      off();
      lease.release();
    };
  }

  private peek(): PresenceRoom | undefined {
    return poolsFor(this.client).rooms.peek(this.key);
  }
}

export function presence(
  room: string,
  params: Record<string, string | number> = {},
  state: JsonValue = null,
): LivePresence {
  return new LivePresence(getSynclineClient(), room, params, state);
}
