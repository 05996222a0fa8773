import type { DBSchema, IDBPDatabase, IDBPTransaction } from 'idb';
import type { JsonValue } from '@syncline/protocol';
import type { DraftRecord, OutboxEntry, PersistedRow, PersistedSubscription } from './local-store.ts';

/** The current shape, for typed access from IdbLocalStore. */
export interface SynclineDB extends DBSchema {
  rows: { key: [string, string]; value: PersistedRow; indexes: { bySubscription: string } };
  subscriptions: { key: string; value: PersistedSubscription };
  outbox: { key: number; value: OutboxEntry };
  drafts: { key: string; value: DraftRecord };
  /** Out-of-line keys: meta key → JSON value. */
  meta: { key: string; value: JsonValue };
}

export type StoreName = 'rows' | 'subscriptions' | 'outbox' | 'drafts' | 'meta';

/**
 * One step of the schema. Untyped on purpose: a migration is written against
 * the schema as it was at that version, not the current SynclineDB. It runs
 * inside the `versionchange` transaction: use only `db`/`tx` requests (no
 * awaiting anything else, or the transaction commits under you).
 */
export type IdbMigration = (
  db: IDBPDatabase<unknown>,
  tx: IDBPTransaction<unknown, ArrayLike<string>, 'versionchange'>,
) => void | Promise<void>;

/**
 * migrations[i] brings the database from version i to i + 1, so the schema
 * version is the list's length. Never edit a released step; append one:
 *
 *   // v2: e.g. an index to find rows by version
 *   (_db, tx) => { tx.objectStore('rows').createIndex('byVersion', 'version'); },
 */
export const IDB_MIGRATIONS: readonly IdbMigration[] = [
  // v1: initial schema.
  (db) => {
    // [subscriptionId, key]: one subscription's rows are a contiguous key range,
    // and the index serves getAll(subscriptionId) without a key range object.
    const rows = db.createObjectStore('rows', { keyPath: ['subscriptionId', 'key'] });
    rows.createIndex('bySubscription', 'subscriptionId');
    db.createObjectStore('subscriptions', { keyPath: 'id' });
    // Numeric keys sort numerically: the cursor order is send order.
    db.createObjectStore('outbox', { keyPath: 'mutationId' });
    db.createObjectStore('drafts', { keyPath: 'key' });
    db.createObjectStore('meta');
  },
];

export const IDB_SCHEMA_VERSION = IDB_MIGRATIONS.length;

/**
 * Runs the steps between oldVersion (0 for a new database) and newVersion, in
 * order. Steps are awaited one by one but only issue IDB requests, so the
 * versionchange transaction stays alive throughout.
 */
export async function runMigrations(
  db: IDBPDatabase<unknown>,
  tx: IDBPTransaction<unknown, ArrayLike<string>, 'versionchange'>,
  oldVersion: number,
  newVersion: number,
  migrations: readonly IdbMigration[],
): Promise<void> {
  for (let version = oldVersion; version < newVersion; version++) {
    const step = migrations[version];
    if (!step) throw new Error(`no migration from schema version ${version}`);
    await step(db, tx);
  }
}
