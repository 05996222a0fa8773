/**
 * <SynclineProvider> and useSyncClient(): one client for the tree below.
 *
 *   <SynclineProvider options={{ url, token, store }} fallback={<Spinner />}>  opens it, closes it on unmount
 *   <SynclineProvider client={client}>                                       the app's client, never closed here
 */
import {
  createContext,
  createElement,
  useContext,
  useEffect,
  useState,
  useSyncExternalStore,
  type ReactNode,
} from 'react';
import type { SyncClient, SyncClientOptions } from '@syncline/client';
import { ClientHolder, type SynclineContextValue } from './client-holder.ts';

const SynclineContext = createContext<SynclineContextValue | null>(null);

export type SynclineProviderProps = (
  | {
      /** Read once, on mount: to switch users, remount with another `key`. */ options: SyncClientOptions;
      client?: never;
    }
  | { client: SyncClient; options?: never }
) & {
  /** Shown until the client is open (with a store, that is after the stored rows are loaded). Default: nothing. */
  fallback?: ReactNode;
  /** Shown when opening failed (the store could not be opened); default: the error is thrown to an error boundary. */
  onError?: (error: Error) => ReactNode;
  /** How long a subscription or room nobody renders stays, so a re-mount does not resubscribe (default 1 s). */
  lingerMs?: number;
  children?: ReactNode;
};

export function SynclineProvider(props: SynclineProviderProps): ReactNode {
  const [holder] = useState(
    () =>
      new ClientHolder(props.client ? { client: props.client } : { options: props.options }, props.lingerMs ?? 1_000),
  );
  useEffect(() => {
    holder.acquire();
    return () => holder.release();
  }, [holder]);
  const read = () => holder.current;
  const state = useSyncExternalStore(holder.listen, read, read);
  if (state.status === 'error') {
    if (props.onError) return props.onError(state.error);
    throw state.error;
  }
  if (state.status === 'opening') return props.fallback ?? null;
  return createElement(SynclineContext.Provider, { value: state.value }, props.children);
}

/** The provider's client. Throws outside a provider. */
export function useSyncClient(): SyncClient {
  return useSynclineContext().client;
}

export function useSynclineContext(): SynclineContextValue {
  const value = useContext(SynclineContext);
  if (!value) throw new Error('Syncline hooks need a <SynclineProvider> above them');
  return value;
}
