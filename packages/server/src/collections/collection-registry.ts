/** All declared collections, and resolution of a subscription to a bound instance key. */
import type pg from 'pg';
import type { Subscription } from '@syncline/protocol';
import type { CollectionDefinition } from './collection-config.ts';
import { Collection } from './collection.ts';
import type { BoundFilter } from './filter/compile-filter.ts';
import type { TableInfo } from './table-info.ts';
import { loadTableInfo } from './table-info.ts';
import { SetupError, SynclineError } from '../util/errors.ts';
import { splitTable } from '../util/quote-ident.ts';

export interface ResolvedSubscription {
  collection: Collection;
  bound: BoundFilter;
  /** Equal for subscriptions that see exactly the same rows; they share one instance. */
  instanceKey: string;
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
    for (const d of defs) {
      const q = splitTable(d.table).qualified;
      if (!tables.has(q)) tables.set(q, await loadTableInfo(pool, d.table));
    }
    return new CollectionRegistry(
      defs.map((d) => new Collection(d, tables.get(splitTable(d.table).qualified) as TableInfo)),
    );
  }

  static tablesOf(defs: CollectionDefinition[]): string[] {
    return [...new Set(defs.map((d) => splitTable(d.table).qualified))];
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

  resolve(sub: Subscription, claims: Record<string, unknown> = {}): ResolvedSubscription {
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
    let bound: BoundFilter;
    try {
      bound = collection.filter.bind(params, claims);
    } catch (e) {
      throw new SynclineError('BAD_REQUEST', e instanceof Error ? e.message : String(e), { cause: e });
    }
    const usedClaims = Object.fromEntries(collection.filter.claims.map((c) => [c, claims[c] ?? null]));
    const instanceKey = JSON.stringify([collection.name, sortKeys(params), sortKeys(usedClaims)]);
    return { collection, bound, instanceKey };
  }
}

function sortKeys(o: Record<string, unknown>): Array<[string, unknown]> {
  return Object.keys(o)
    .sort()
    .map((k) => [k, o[k]]);
}
