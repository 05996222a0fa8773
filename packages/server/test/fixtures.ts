/** Schema and collections the server integration tests share. */
import type { CollectionDefinition } from '../src/collections/collection-config.ts';

export const SCHEMA = `
CREATE TABLE item (
  id text PRIMARY KEY,
  status text NOT NULL,
  owner text,
  big int8,
  amount numeric,
  body text,
  version integer NOT NULL DEFAULT 1
);
CREATE TABLE note (
  id serial PRIMARY KEY,
  item_id text,
  body text,
  version integer NOT NULL DEFAULT 1
);
CREATE TABLE counter (
  id integer PRIMARY KEY,
  n integer NOT NULL,
  version integer NOT NULL DEFAULT 1
);
`;

export const COLLECTIONS: CollectionDefinition[] = [
  { name: 'items_open', table: 'item', filter: { eq: ['status', 'open'] } },
  { name: 'items_all', table: 'item' },
  { name: 'items_by_owner', table: 'item', filter: { eq: ['owner', { param: 'owner' }] }, params: ['owner'] },
  { name: 'notes', table: 'note' },
  { name: 'counters', table: 'counter' },
];
