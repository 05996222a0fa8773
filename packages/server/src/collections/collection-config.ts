/** What a user declares in `syncline.config.ts`. */
import type { Filter } from './filter/filter-types.ts';

/** What an access rule sees of the subscriber. */
export interface AccessContext {
  userId: string;
  claims: Record<string, unknown>;
  params: Record<string, unknown>;
  /** Runs a read-only query as the user (claims set, role applied: RLS holds). */
  query<R extends Record<string, unknown> = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<R[]>;
}

/**
 * Who may subscribe with which params.
 *
 * `exists`: allowed while a row of `table` matches `filter` (params and claims
 * bound as in the collection's own filter). Checked at subscribe; and because
 * Syncline watches that table, a change that makes the row stop matching (a user
 * removed from a chat) revokes the subscription live: its rows are deleted on
 * the client and it ends with FORBIDDEN.
 *
 * A function: checked at subscribe and on token refresh only.
 */
export type AccessRule =
  { exists: { table: string; filter: Filter } } | ((ctx: AccessContext) => boolean | Promise<boolean>);

export interface CollectionDefinition {
  /** Name clients subscribe to, e.g. `orders_active`. */
  name: string;
  /** Table, `name` or `schema.name`. */
  table: string;
  /** Which rows belong to the collection; omitted means every row. */
  filter?: Filter;
  /** Columns sent to clients; the primary key and `version` are always included. Omitted: all columns. */
  columns?: string[];
  /** Names of the params a subscription must pass (each bound into the filter as `{ param: name }`). */
  params?: string[];
  /** Who may subscribe; omitted: any authenticated user (rows still limited by the filter and RLS). */
  access?: AccessRule;
  /**
   * No longer needed, and ignored: with `db.role` Syncline reads the table's RLS policies
   * and shares an instance between exactly the subscribers whose bound policies agree
   * (see docs/configuration.md, "Row-level security"). Kept so existing configs load.
   */
  shared?: boolean;
}

export function defineCollections(collections: CollectionDefinition[]): CollectionDefinition[] {
  return collections;
}
