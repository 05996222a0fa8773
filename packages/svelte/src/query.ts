/**
 * `query(table | subscription, build)`: a live query over the optimistic view
 * (server rows with pending mutations on top). `.current` is the client's
 * frozen result: the same array until the result changes, so an effect
 * reading it runs again only when its rows did.
 */
import type { Row } from '@syncline/protocol';
import type { QueryBuilder, SyncClient } from '@syncline/client';
import { getSynclineClient } from './context.ts';
import { Held, ownLease } from './held.ts';
import type { Lease } from './shared-pool.ts';
import type { LiveSubscription } from './subscription.ts';

export type QueryTarget = string | LiveSubscription<Row> | { subscription: string };
export type BuildQuery<R extends Row> = (q: QueryBuilder<R>) => QueryBuilder<R>;

const EMPTY: readonly never[] = Object.freeze([]);

export class LiveQuery<R extends Row = Row> {
  private readonly held: Held<QueryBuilder<R>>;
  /** A table query needs no subscription held: built once, evaluated on demand outside effects. */
  private readonly tableQuery: QueryBuilder<R> | undefined;

  constructor(
    private readonly client: SyncClient,
    private readonly target: QueryTarget,
    private readonly build: BuildQuery<R> = (q) => q,
  ) {
    this.tableQuery = typeof target === 'string' ? build(client.query<R>(target)) : undefined;
    this.held = new Held<QueryBuilder<R>>(
      () => this.acquire(),
      (q, update) => {
        let first = true;
        const off = q.subscribe(() => {
          if (!first) update(); // the first call is the current result, which the reader is reading
        });
        first = false;
        return off;
      },
    );
  }

  /** The rows, filtered, sorted and limited (a frozen array). */
  get current(): readonly R[] {
    const q = this.held.read(this.key());
    if (q !== undefined) return q.current;
    if (this.tableQuery !== undefined) return this.tableQuery.current;
    if (typeof this.target === 'object' && 'subscription' in this.target) {
      return this.build(this.client.query<R>(this.target)).current;
    }
    return EMPTY; // a subscription nobody reads: nothing held, nothing to show
  }

  private key(): string {
    return typeof this.target === 'object' && !('subscription' in this.target) ? this.target.key() : '';
  }

  private acquire(): Lease<QueryBuilder<R>> {
    const target = this.target;
    if (this.tableQuery !== undefined) return ownLease('', this.tableQuery);
    if (typeof target === 'object' && 'subscription' in target) {
      return ownLease('', this.build(this.client.query<R>(target)));
    }
    const sub = (target as LiveSubscription<Row>).acquire();
    return ownLease(sub.key, this.build(this.client.query<R>(sub.value)), () => sub.release());
  }
}

/**
 * A live query: `query('order', (q) => q.where((o) => o.open).orderBy('created_at', 'desc').limit(20))`,
 * or over one subscription: `query(orders, (q) => q.orderBy('created_at'))`. `build` runs once.
 */
export function query<R extends Row = Row>(target: QueryTarget, build?: BuildQuery<R>): LiveQuery<R> {
  return new LiveQuery<R>(getSynclineClient(), target, build);
}
