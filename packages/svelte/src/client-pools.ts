/**
 * What the bindings share per client: subscriptions keyed by collection and
 * params, presence rooms by name and params. Ending happens here only, after
 * the pool's linger, so no component ends what another still reads.
 */
import type { JsonValue } from '@syncline/protocol';
import type { PresenceRoom, SubscriptionHandle, SubscriptionParams, SyncClient } from '@syncline/client';
import { SharedPool, type Lease, type SharedPoolOptions } from './shared-pool.ts';

export interface ClientPools {
  subscriptions: SharedPool<SubscriptionHandle>;
  rooms: SharedPool<PresenceRoom>;
}

const pools = new WeakMap<SyncClient, ClientPools>();

/** The client's pools; `options` count only for the first call per client (setSynclineClient makes it). */
export function poolsFor(client: SyncClient, options: SharedPoolOptions = {}): ClientPools {
  let p = pools.get(client);
  if (p === undefined) {
    p = {
      subscriptions: new SharedPool<SubscriptionHandle>((handle) => handle.unsubscribe(), options),
      rooms: new SharedPool<PresenceRoom>((room) => room.leave(), options),
    };
    pools.set(client, p);
  }
  return p;
}

/** Params in a canonical form: the same params in another key order are the same subscription. */
export function paramsKey(params: SubscriptionParams | Record<string, string | number> | undefined): string {
  if (params === undefined) return '';
  const sorted = Object.keys(params)
    .sort()
    .map((k) => [k, params[k]]);
  return sorted.length === 0 ? '' : JSON.stringify(sorted);
}

/**
 * A stable subscription id for collection + params, so a reload over the same store claims
 * the stored subscription (its rows show at once and it resumes from its cursor).
 * Ids allow [A-Za-z0-9_.:-]{1,128}; params are hashed (53 bits) to fit.
 */
export function subscriptionId(collection: string, params: SubscriptionParams | undefined): string {
  const safe = collection.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 96);
  const key = paramsKey(params);
  return key === '' ? `sv:${safe}` : `sv:${safe}:${hash53(key).toString(36)}`;
}

export function acquireSubscription(
  client: SyncClient,
  collection: string,
  params: SubscriptionParams | undefined,
  id?: string,
): Lease<SubscriptionHandle> {
  const key = id ?? `${collection}\u0000${paramsKey(params)}`;
  return poolsFor(client).subscriptions.acquire(key, () =>
    client.subscribe({ id: id ?? subscriptionId(collection, params), collection, ...(params ? { params } : {}) }),
  );
}

export function acquireRoom(
  client: SyncClient,
  room: string,
  params: Record<string, string | number>,
  state: JsonValue,
): Lease<PresenceRoom> {
  return poolsFor(client).rooms.acquire(`${room}\u0000${paramsKey(params)}`, () =>
    client.presence(room, params, state),
  );
}

/** cyrb53: a fast 53-bit string hash (not cryptographic; ids only need to differ). */
function hash53(s: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
