import { useMemo, useSyncExternalStore, type DependencyList } from 'react';
import type { QueryBuilder, SubscriptionHandle } from '@syncline/client';
import type { Row } from '@syncline/protocol';
import { useSyncClient } from './provider.ts';

export type QueryTarget = string | { subscription: string } | SubscriptionHandle;

/**
 * A live query over the optimistic view (server rows with pending mutations on top):
 *
 *   const open = useQuery('order', (q) => q.where((o) => o.status === 'open').orderBy('created_at').limit(20), []);
 *
 * `build` runs again only when `deps` (or the target) change. The result is the client's
 * frozen array, the same one while the result is unchanged, so the component re-renders
 * only when its rows did. `{ subscription: id }` must be subscribed already (a
 * `useSubscription` above, or earlier in the same component: its `id`).
 */
export function useQuery<R extends Row = Row>(
  target: QueryTarget,
  build: (q: QueryBuilder<R>) => QueryBuilder<R> = (q) => q,
  deps: DependencyList = [],
): readonly R[] {
  const client = useSyncClient();
  const targetKey =
    typeof target === 'string' ? `t:${target}` : `s:${'subscription' in target ? target.subscription : target.id}`;
  const query = useMemo(
    () => build(client.query<R>(target)),
    // The target is named by targetKey; build by the caller's deps.
    [client, targetKey, ...deps],
  );
  const subscribe = useMemo(() => (onChange: () => void) => query.subscribe(() => onChange()), [query]);
  const read = (): readonly R[] => query.current;
  return useSyncExternalStore(subscribe, read, read);
}
