/** One joined presence room shared by the components in it, with its members as a snapshot. */
import type { PresenceMember, PresenceRoom, SyncClient } from '@syncline/client';
import type { JsonValue } from '@syncline/protocol';
import type { Lingering } from './shared-resources.ts';
import { stableJson } from './stable-key.ts';

const NOBODY: readonly PresenceMember[] = Object.freeze([]);

export class SharedPresence implements Lingering {
  readonly room: PresenceRoom;
  private members: readonly PresenceMember[];
  private readonly listeners = new Set<() => void>();
  private readonly off: () => void;
  private stateJson: string;

  constructor(client: SyncClient, room: string, params: Record<string, string | number>, state: JsonValue) {
    this.room = client.presence(room, params, state);
    this.stateJson = stableJson(state);
    this.members = this.room.members().length > 0 ? this.room.members() : NOBODY;
    this.off = this.room.on('change', (members) => {
      this.members = members;
      for (const listener of [...this.listeners]) listener();
    });
  }

  get current(): readonly PresenceMember[] {
    return this.members;
  }

  readonly listen = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  };

  /** Sends this connection's state when it differs from the last one sent. */
  setState(state: JsonValue): void {
    const json = stableJson(state);
    if (json === this.stateJson) return;
    this.stateJson = json;
    this.room.set(state);
  }

  dispose(): void {
    this.off();
    this.listeners.clear();
    this.room.leave();
  }
}
