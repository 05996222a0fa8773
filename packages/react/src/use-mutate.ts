import { useCallback, useState, useSyncExternalStore } from 'react';
import type { WriteOp } from '@syncline/protocol';
import { useSyncClient } from './provider.ts';
import { MutationTracker, type MutationState } from './mutation-tracker.ts';

/**
 * `const [mutate, { pending, error }] = useMutate()`: `mutate(ops)` shows at once and
 * returns the client's promise (the mutation id, once queued). `pending` stays true until
 * the server settled it; `error` is the SyncError of a rejection (409 → `CONFLICT`).
 */
export function useMutate(): [(ops: WriteOp[]) => Promise<number>, MutationState] {
  const client = useSyncClient();
  const tracker = useTracker();
  const mutate = useCallback((ops: WriteOp[]) => tracker.track(() => client.mutate(ops)), [client, tracker]);
  return [mutate, useSyncExternalStore(tracker.listen, () => tracker.current)];
}

/** `const [accept, { pending, error }] = useMutator('orders.accept')`; `accept(args)` as `client.mutator`. */
export function useMutator<A = unknown>(name: string): [(args: A) => Promise<number>, MutationState] {
  const client = useSyncClient();
  const tracker = useTracker();
  const run = useCallback((args: A) => tracker.track(() => client.mutator(name, args)), [client, tracker, name]);
  return [run, useSyncExternalStore(tracker.listen, () => tracker.current)];
}

function useTracker(): MutationTracker {
  const client = useSyncClient();
  const [held, setHeld] = useState(() => new MutationTracker(client));
  if (held.client !== client) {
    const next = new MutationTracker(client);
    setHeld(next);
    return next;
  }
  return held;
}
