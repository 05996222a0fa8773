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
import { bindPolicy, type BoundPolicy, type TablePolicy } from '../rls/table-policy.ts';
import { withPolicy } from '../rls/policy-filter.ts';
import type { RowVerdicts } from '../rls/row-verdicts.ts';

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
  /** RLS per synced table under the configured role; empty without one. */
  private policies: ReadonlyMap<string, TablePolicy> = new Map();
  private verdicts: RowVerdicts | null = null;
  /** Bumped whenever policies are replaced: a subscription resolved before must be resolved again. */
  generation = 0;

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
    return CollectionRegistry.fromTables(defs, tables);
  }

  /** From table descriptions already read (benchmarks and tests of the router alone). */
  static fromTables(defs: CollectionDefinition[], tables: ReadonlyMap<string, TableInfo>): CollectionRegistry {
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

  tables(): TableInfo[] {
    return [...this.byTable.values()];
  }

  /** RLS under the configured role; `verdicts` holds PostgreSQL's answers for policies it alone checks. */
  usePolicies(policies: ReadonlyMap<string, TablePolicy>, verdicts: RowVerdicts): void {
    this.generation++;
    this.policies = policies;
    this.verdicts = verdicts;
  }

  policyOf(table: string): TablePolicy | undefined {
    return this.policies.get(table);
  }

  /**
   * Binds a subscription for a user. `perUser`: queries run under a role, so RLS
   * narrows rows. A compiled policy is bound to the user's claims and joins the
   * filter; subscribers whose bound policies agree share an instance. A policy
   * only the database can check keeps one instance per user and claims (unless
   * the collection is `shared`).
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
    const rls = perUser ? this.rlsFor(collection, identity) : null;
    const instanceKey = JSON.stringify([collection.name, sortKeys(params), sortKeys(usedClaims), rls?.key ?? null]);
    return { collection, bound: rls?.policy ? withPolicy(bound, rls.policy) : bound, instanceKey, accessBound, params };
  }

  private rlsFor(collection: Collection, identity: Identity): { key: string | null; policy?: BoundPolicy } {
    const policy = this.policies.get(collection.table.qualified);
    if (policy?.mode === 'open') return { key: null };
    if (policy?.mode === 'compiled') {
      const bound = bindPolicy(policy.expr, identity.claims);
      return { key: bound.key, policy: bound };
    }
    // Only the database can tell: one instance per user and claims, its rows judged by
    // PostgreSQL's verdict on each routed row (a row without one is not shown).
    const key = databaseKey(identity);
    const table = collection.table.qualified;
    const verdicts = this.verdicts;
    return {
      key,
      policy: { key, visible: (row) => verdicts?.visible(table, key, row) === true, alternatives: null },
    };
  }
}

/** Subscribers whose rows PostgreSQL judges alike: the same user with the same claims (token times aside). */
export function databaseKey(identity: Identity): string {
  const { exp: _exp, iat: _iat, nbf: _nbf, jti: _jti, ...claims } = identity.claims;
  return JSON.stringify([identity.userId, sortKeys(claims)]);
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
