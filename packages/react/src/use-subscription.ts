import { useCallback, useSyncExternalStore } from 'react';
import type { SubscriptionParams } from '@syncline/client';
import type { Row } from '@syncline/protocol';
import { useSynclineContext } from './provider.ts';
import { SharedSubscription, type SubscriptionSnapshot } from './shared-subscription.ts';
import { defaultSubscriptionId, subscriptionKey } from './stable-key.ts';

export interface UseSubscriptionOptions {
  /**
   * The client subscription's id. Default: derived from collection and params, the same
   * on every load, so a reload claims what the store kept. Two components asking for the
   * same collection and params share one subscription whatever id they pass: the first wins.
   */
  id?: string;
}

/**
 * Server truth for one collection: `{ rows, status, error, id }`, re-rendering when they change.
 * Every component asking for the same collection and params shares one subscription; it
 * ends a linger (the provider's `lingerMs`) after the last of them unmounts.
 */
export function useSubscription<R extends Row = Row>(
  collection: string,
  params?: SubscriptionParams,
  options: UseSubscriptionOptions = {},
): SubscriptionSnapshot<R> {
  const { client, subscriptions } = useSynclineContext();
  const key = subscriptionKey(collection, params);
  // Created while rendering so stored rows show in the first render; lingers out if never held.
  const create = () =>
    new SharedSubscription(client, options.id ?? defaultSubscriptionId(collection, params), collection, params);
  const shared = subscriptions.get(key, create);
  const subscribe = useCallback(
    (onChange: () => void) => {
      const held = subscriptions.acquire(key, create);
      const off = held.listen(onChange);
      if (held !== shared) onChange(); // the one this render read lingered out: read the new one
      return () => {
        off();
        subscriptions.release(key);
      };
    },
    // `create` closes over what `key` names; a new one each render changes nothing.
    [subscriptions, key, shared],
  );
  const read = () => subscriptions.get(key, create).current as SubscriptionSnapshot<R>;
  return useSyncExternalStore(subscribe, read, read);
}
