/** What a user declares in `syncline.config.ts`. */
import type { Filter } from './filter/filter-types.ts';

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
}

export function defineCollections(collections: CollectionDefinition[]): CollectionDefinition[] {
  return collections;
}
