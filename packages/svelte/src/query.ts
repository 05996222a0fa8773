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

export interface QueryOptions {
  /**
   * For a table query: the subscriptions that fill the table, held while the query is read
   * (a table query alone holds none). `query('order', build, { over: [mine, offered] })`.
   */
  over?: ReadonlyArray<LiveSubscription<Row>>;
}

const EMPTY: readonly never[] = Object.freeze([]);

export class LiveQuery<R extends Row = Row> {
  private readonly held: Held<QueryBuilder<R>>;
  /** A table query needs no subscription held: built once, evaluated on demand outside effects. */
  private readonly tableQuery: QueryBuilder<R> | undefined;

  constructor(
    private readonly client: SyncClient,
    private readonly target: QueryTarget,
    private readonly build: BuildQuery<R> = (q) => q,
    private readonly over: ReadonlyArray<LiveSubscription<Row>> = [],
  ) {
    if (over.length > 0 && typeof target !== 'string') throw new Error('query: `over` is for table queries');
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
    if (typeof this.target === 'string') return this.over.map((sub) => sub.key()).join('\u0001');
    return 'subscription' in this.target ? '' : this.target.key();
  }

  private acquire(): Lease<QueryBuilder<R>> {
    const target = this.target;
    if (this.tableQuery !== undefined) {
      const leases = this.over.map((sub) => sub.acquire());
      return ownLease(leases.map((l) => l.key).join('\u0001'), this.tableQuery, () =>
        leases.forEach((l) => l.release()),
      );
    }
    if (typeof target === 'object' && 'subscription' in target) {
      return ownLease('', this.build(this.client.query<R>(target)));
    }
    const sub = (target as LiveSubscription<Row>).acquire();
    return ownLease(sub.key, this.build(this.client.query<R>(sub.value)), () => sub.release());
  }
}

/**
 * A live query: `query('order', (q) => q.where((o) => o.open).orderBy('created_at', 'desc').limit(20))`
 * (with `{ over: [subs] }` to hold the subscriptions that fill the table), or over one
 * subscription: `query(orders, (q) => q.orderBy('created_at'))`. `build` runs once.
 */
export function query<R extends Row = Row>(
  target: QueryTarget,
  build?: BuildQuery<R>,
  options: QueryOptions = {},
): LiveQuery<R> {
  return new LiveQuery<R>(getSynclineClient(), target, build, options.over);
}
