import { useCallback, useSyncExternalStore } from 'react';
import type { ConnectionState, SyncClient } from '@syncline/client';
import { useSyncClient } from './provider.ts';

export interface ConnectionStatus {
  /** `online`: connected; `connecting`: starting or trying; `offline`: waiting to retry, or closed. */
  readonly state: 'online' | 'connecting' | 'offline';
  /** Mutations not yet confirmed by the server (shown in the view meanwhile). */
  readonly queued: number;
}

const states: Record<ConnectionState, ConnectionStatus['state']> = {
  idle: 'connecting',
  connecting: 'connecting',
  open: 'online',
  backoff: 'offline',
  closed: 'offline',
};

// The last snapshot per client, so an unchanged status is the same object.
const last = new WeakMap<SyncClient, ConnectionStatus>();

function statusOf(client: SyncClient): ConnectionStatus {
  const state = states[client.state];
  const queued = client.pendingMutations;
  const prev = last.get(client);
  if (prev && prev.state === state && prev.queued === queued) return prev;
  const next = { state, queued };
  last.set(client, next);
  return next;
}

/** `{ state, queued }`, re-rendering when the connection or the number of unconfirmed mutations changes. */
export function useConnectionStatus(): ConnectionStatus {
  const client = useSyncClient();
  const subscribe = useCallback(
    (onChange: () => void) => {
      const offs = [client.on('state', onChange), client.on('view', onChange)];
      return () => offs.forEach((off) => off());
    },
    [client],
  );
  const read = () => statusOf(client);
  return useSyncExternalStore(subscribe, read, read);
}
