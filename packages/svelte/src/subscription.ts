/**
 * `subscription(collection, params)`: a subscription's rows and status for
 * Svelte. The client subscription is shared per client by collection + params
 * (client-pools.ts) and held only while an effect reads `.rows` or `.status`.
 */
import type { Row } from '@syncline/protocol';
import { SyncError, type SubscriptionHandle, type SubscriptionParams, type SyncClient } from '@syncline/client';
import { acquireSubscription, paramsKey, poolsFor } from './client-pools.ts';
import { getSynclineClient } from './context.ts';
import { Held } from './held.ts';
import type { Lease } from './shared-pool.ts';

/** `loading` until the first snapshot is complete (rows restored from the store may already show). */
export type LiveStatus = 'loading' | 'live' | 'resyncing' | 'error';

/** Params, or a getter for params that follow props or state (`() => ({ owner })`). */
export type ParamsInput = SubscriptionParams | undefined | (() => SubscriptionParams | undefined);

const EMPTY: readonly never[] = Object.freeze([]);

export class LiveSubscription<R extends Row = Row> {
  private readonly params: () => SubscriptionParams | undefined;
  private readonly rowsHeld: Held<SubscriptionHandle<R>>;
  private readonly statusHeld: Held<SubscriptionHandle<R>>;

  constructor(
    readonly client: SyncClient,
    readonly collection: string,
    params: ParamsInput,
    private readonly id?: string,
  ) {
    this.params = typeof params === 'function' ? params : () => params;
    const acquire = (): Lease<SubscriptionHandle<R>> =>
      acquireSubscription(client, collection, this.params(), id) as Lease<SubscriptionHandle<R>>;
    this.rowsHeld = new Held(acquire, (handle, update) => handle.on('change', update));
    this.statusHeld = new Held(acquire, (handle, update) => handle.on('status', update));
  }

  /** Rows in snapshot order (the same frozen array until they change). */
  get rows(): readonly R[] {
    return this.handle(this.rowsHeld)?.rows() ?? EMPTY;
  }

  get status(): LiveStatus {
    const handle = this.handle(this.statusHeld);
    switch (handle?.status) {
      case 'live':
        return 'live';
      case 'resyncing':
        return 'resyncing';
      case 'error':
        return 'error';
      default:
        return 'loading';
    }
  }

  /** Why the subscription failed, while `status` is `error`. */
  get error(): SyncError | undefined {
    const handle = this.handle(this.statusHeld);
    return handle?.status === 'error' && handle.error ? SyncError.from(handle.error) : undefined;
  }

  /** Holds the client subscription for a reader other than this object's getters (a query over it). */
  acquire(): Lease<SubscriptionHandle<R>> {
    return acquireSubscription(this.client, this.collection, this.params(), this.id) as Lease<SubscriptionHandle<R>>;
  }

  /** The pool key of the current params: changes when a params getter does. */
  key(): string {
    return this.id ?? `${this.collection}\u0000${paramsKey(this.params())}`;
  }

  private handle(held: Held<SubscriptionHandle<R>>): SubscriptionHandle<R> | undefined {
    const key = this.key();
    return held.read(key) ?? (poolsFor(this.client).subscriptions.peek(key) as SubscriptionHandle<R> | undefined);
  }
}

export interface SubscriptionOptions {
  /** A subscription id of your own (default: derived from collection and params, stable across reloads). */
  id?: string;
}

/**
 * A live subscription: `.rows`, `.status`, `.error`. Call during component initialisation.
 * The same collection + params elsewhere under the same client is the same subscription.
 */
export function subscription<R extends Row = Row>(
  collection: string,
  params?: ParamsInput,
  options: SubscriptionOptions = {},
): LiveSubscription<R> {
  return new LiveSubscription<R>(getSynclineClient(), collection, params, options.id);
}
