import { useCallback, useEffect, useSyncExternalStore } from 'react';
import type { PresenceMember } from '@syncline/client';
import type { JsonValue } from '@syncline/protocol';
import { useSynclineContext } from './provider.ts';
import { SharedPresence } from './shared-presence.ts';
import { stableJson } from './stable-key.ts';

const NOBODY: readonly PresenceMember[] = Object.freeze([]);

/**
 * `const members = usePresence('order:{orderId}', { orderId }, { name })`: joins the room while
 * mounted (shared by every component in it; left a linger after the last unmounts) and
 * re-renders when its members change. A changed `state` is sent with `room.set`.
 */
export function usePresence(
  room: string,
  params: Record<string, string | number> = {},
  state: JsonValue = null,
): readonly PresenceMember[] {
  const { client, rooms } = useSynclineContext();
  const key = `${room}\u0000${stableJson(params)}`;
  const subscribe = useCallback(
    (onChange: () => void) => {
      const shared = rooms.acquire(key, () => new SharedPresence(client, room, params, state));
      const off = shared.listen(onChange);
      onChange(); // joined after the first render read it: read the room now
      return () => {
        off();
        rooms.release(key);
      };
    },
    // `key` names room and params; the state at join time is sent with the join, later ones below.
    [client, rooms, key],
  );
  const stateJson = stableJson(state);
  useEffect(() => {
    rooms.peek(key)?.setState(JSON.parse(stateJson) as JsonValue);
  }, [rooms, key, stateJson]);
  const read = () => rooms.peek(key)?.current ?? NOBODY;
  return useSyncExternalStore(subscribe, read, read);
}
