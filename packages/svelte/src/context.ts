/**
 * The client for a component tree, through Svelte context:
 *
 *   setSynclineClient(client)        a client you made (and close yourself)
 *   createSyncline(options)          makes one: SyncClient.open with a store, closed on destroy
 *   getSynclineClient()              in any component below; every binding calls it
 */
import { getContext, hasContext, onDestroy, setContext } from 'svelte';
import { createSubscriber } from 'svelte/reactivity';
import { SyncClient, SyncError, type LocalStore, type SyncClientOptions } from '@syncline/client';
import { poolsFor } from './client-pools.ts';

const KEY = Symbol.for('@syncline/svelte:client');

export interface SynclineBindingOptions {
  /** How long a subscription or room nobody reads is kept before it is ended (default 1 s). */
  lingerMs?: number;
}

/** What createSyncline returns: `client` once open (reactive), `ready` resolves with it. */
export interface Syncline {
  readonly client: SyncClient | undefined;
  readonly error: SyncError | undefined;
  readonly ready: Promise<SyncClient>;
}

interface Holder {
  readonly client: SyncClient | undefined;
}

/** Makes `client` the one components below use. Call during component initialisation. */
export function setSynclineClient(client: SyncClient, options: SynclineBindingOptions = {}): SyncClient {
  poolsFor(client, options);
  setContext<Holder>(KEY, { client });
  return client;
}

/** The client set above this component; throws if none is, or createSyncline's is not open yet. */
export function getSynclineClient(): SyncClient {
  const holder = hasContext(KEY) ? getContext<Holder>(KEY) : undefined;
  if (holder === undefined) {
    throw new Error('no Syncline client: call setSynclineClient(client) or createSyncline(options) in a parent');
  }
  const client = holder.client;
  if (client === undefined) {
    throw new Error('the Syncline client is not open yet: render this under {#if syncline.client}');
  }
  return client;
}

/**
 * Opens a client for this component and those below, and closes it when the component is
 * destroyed. With a store it uses `SyncClient.open` (stored rows, outbox and drafts first),
 * which is asynchronous: render the tree under `{#if syncline.client}`.
 */
export function createSyncline(options: SyncClientOptions & SynclineBindingOptions): Syncline {
  const { lingerMs, ...clientOptions } = options;
  let client: SyncClient | undefined;
  let error: SyncError | undefined;
  let destroyed = false;
  let notify: (() => void) | undefined;
  const track = createSubscriber((update) => {
    notify = update;
    return () => (notify = undefined);
  });
  const opened = (c: SyncClient): SyncClient => {
    poolsFor(c, lingerMs === undefined ? {} : { lingerMs });
    client = c;
    notify?.();
    return c;
  };
  const ready =
    clientOptions.store !== undefined
      ? SyncClient.open(clientOptions as SyncClientOptions & { store: LocalStore }).then(opened, (e: unknown) => {
          error = SyncError.from(e);
          notify?.();
          throw error;
        })
      : Promise.resolve(opened(new SyncClient(clientOptions)));
  ready.catch(() => {}); // reported through `error`; awaiting `ready` still rejects
  const syncline: Syncline & Holder = {
    get client() {
      track();
      return client;
    },
    get error() {
      track();
      return error;
    },
    ready,
  };
  setContext<Holder>(KEY, syncline);
  onDestroy(() => {
    if (destroyed) return;
    destroyed = true;
    void ready.then((c) => c.close()).catch(() => {});
  });
  return syncline;
}
