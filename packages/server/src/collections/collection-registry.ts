/** All declared collections, and resolution of a subscription to a bound instance key. */
import type pg from 'pg';
import type { Subscription } from '@syncline/protocol';
import type { CollectionDefinition } from './collection-config.ts';
import { Collection } from './collection.ts';
import type { BoundFilter } from './filter/compile-filter.ts';
import { FilterBindError } from './filter/compile-filter.ts';
import type { Identity } from '../auth/token-verifier.ts';
import type { TableInfo } from './table-info.ts';
import { loadTableInfo } from './table-info.ts';
import { SetupError, SynclineError } from '../util/errors.ts';
import { splitTable } from '../util/quote-ident.ts';

export interface ResolvedSubscription {
  collection: Collection;
  bound: BoundFilter;
  /** Equal for subscriptions that see exactly the same rows; they share one instance. */
  instanceKey: string;
  /** The collection's `exists` access filter, bound for this subscriber; null without one. */
  accessBound: BoundFilter | null;
  params: Record<string, unknown>;
}

export class CollectionRegistry {
  private readonly byName = new Map<string, Collection>();
  private readonly byTable = new Map<string, TableInfo>();

  private constructor(collections: Collection[]) {
    for (const c of collections) {
      if (this.byName.has(c.name)) throw new SetupError(`collection ${c.name} is declared twice`);
      this.byName.set(c.name, c);
      this.byTable.set(c.table.qualified, c.table);
    }
  }

  static async load(pool: pg.Pool, defs: CollectionDefinition[]): Promise<CollectionRegistry> {
    const tables = new Map<string, TableInfo>();
    for (const q of CollectionRegistry.tablesOf(defs)) tables.set(q, await loadTableInfo(pool, q));
    const table = (name: string) => tables.get(splitTable(name).qualified) as TableInfo;
    return new CollectionRegistry(defs.map((d) => new Collection(d, table(d.table), tables)));
  }

  /** Every table Syncline must capture: the collections' own and those their access rules watch. */
  static tablesOf(defs: CollectionDefinition[]): string[] {
    const tables = new Set<string>();
    for (const d of defs) {
      tables.add(splitTable(d.table).qualified);
      if (d.access && typeof d.access !== 'function') tables.add(splitTable(d.access.exists.table).qualified);
    }
    return [...tables];
  }

  get(name: string): Collection | undefined {
    return this.byName.get(name);
  }

  all(): Collection[] {
    return [...this.byName.values()];
  }

  table(qualified: string): TableInfo | undefined {
    return this.byTable.get(qualified);
  }

  /**
   * Binds a subscription for a user. `perUser`: RLS narrows rows per user, so
   * unless the collection is `shared`, the user is part of the instance key.
   */
  resolve(sub: Subscription, identity: Identity, perUser: boolean): ResolvedSubscription {
    const collection = this.byName.get(sub.collection);
    if (!collection) throw new SynclineError('UNKNOWN_COLLECTION', `unknown collection "${sub.collection}"`);
    const params = sub.params ?? {};
    for (const name of Object.keys(params)) {
      if (!collection.params.has(name))
        throw new SynclineError('BAD_REQUEST', `collection ${collection.name} takes no param "${name}"`);
    }
    for (const name of collection.params) {
      if (params[name] === undefined)
        throw new SynclineError('BAD_REQUEST', `collection ${collection.name} needs param "${name}"`);
    }
    const claims = identity.claims;
    const bound = bindOrThrow(() => collection.filter.bind(params, claims));
    const access = collection.access;
    const accessBound = access?.kind === 'exists' ? bindOrThrow(() => access.filter.bind(params, claims)) : null;
    const claimNames = [...collection.filter.claims, ...(access?.kind === 'exists' ? access.filter.claims : [])];
    const usedClaims = Object.fromEntries(claimNames.map((c) => [c, claims[c] ?? null]));
    const user = perUser && !collection.shared ? identity.userId : null;
    const instanceKey = JSON.stringify([collection.name, sortKeys(params), sortKeys(usedClaims), user]);
    return { collection, bound, instanceKey, accessBound, params };
  }
}

function bindOrThrow(bind: () => BoundFilter): BoundFilter {
  try {
    return bind();
  } catch (e) {
    // A claim the filter needs is missing from the token: not the client's input, a permission matter.
    const missingClaim = e instanceof FilterBindError && 'claim' in e.ref;
    throw new SynclineError(missingClaim ? 'FORBIDDEN' : 'BAD_REQUEST', e instanceof Error ? e.message : String(e), {
      cause: e,
    });
  }
}

function sortKeys(o: Record<string, unknown>): Array<[string, unknown]> {
  return Object.keys(o)
    .sort()
    .map((k) => [k, o[k]]);
}
