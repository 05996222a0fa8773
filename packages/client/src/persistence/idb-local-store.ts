import { wrap, type IDBPDatabase, type IDBPTransaction } from 'idb';
import {
  DraftsFullError,
  DuplicateMutationError,
  LocalStoreError,
  OutboxFullError,
  UnknownSubscriptionError,
} from './errors.ts';
import { IDB_MIGRATIONS, runMigrations, type IdbMigration, type StoreName, type SynclineDB } from './idb-schema.ts';
import { checkDraft, resolveLimits, type ResolvedLimits } from './limits.ts';
import type {
  ApplyOptions,
  DraftRecord,
  DraftsArea,
  LocalMeta,
  LocalStore,
  LocalStoreOptions,
  MetaArea,
  OutboxArea,
  PersistedSubscription,
  RowChange,
  RowsArea,
  SubscriptionsArea,
  SubscriptionUpdate,
} from './local-store.ts';
import { databaseName, deleteNamespace } from './namespace.ts';

export interface IdbLocalStoreOptions extends LocalStoreOptions {
  /** Defaults to `globalThis.indexedDB`; tests pass `new IDBFactory()` from fake-indexeddb. */
  readonly indexedDB?: IDBFactory;
  /** Defaults to IDB_MIGRATIONS; tests pass a longer list to exercise an upgrade. */
  readonly migrations?: readonly IdbMigration[];
}

type Db = IDBPDatabase<SynclineDB>;
type WriteTx = IDBPTransaction<SynclineDB, StoreName[], 'readwrite'>;

const noop = (): void => undefined;

/**
 * Attach a no-op handler now and hand back the original promise: requests
 * issued in a loop are awaited together later, and if the transaction aborts
 * meanwhile (a later request threw) their rejections must not surface as
 * "unhandled" before Promise.all gets to them.
 */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(noop);
  return promise;
}

/**
 * LocalStore on IndexedDB, one database per namespace (`syncline:<namespace>`).
 *
 * We open with idb's `wrap` over `factory.open()` rather than `openDB`:
 * openDB always uses the global `indexedDB`, and tests inject a fresh
 * IDBFactory per test for isolation. (idb still needs the IDB* classes as
 * globals; in Node, import 'fake-indexeddb/auto'.)
 *
 * Every write is one readwrite transaction; on any error (including a
 * synchronous DataCloneError, which the spec does NOT turn into an abort) we
 * abort it so earlier requests of the same write never commit.
 */
export class IdbLocalStore implements LocalStore {
  readonly namespace: string;
  readonly rows: RowsArea;
  readonly subscriptions: SubscriptionsArea;
  readonly outbox: OutboxArea;
  readonly drafts: DraftsArea;
  readonly meta: MetaArea;
  private readonly limits: ResolvedLimits;
  private readonly now: () => number;
  private closed = false;

  static async open(options: IdbLocalStoreOptions): Promise<IdbLocalStore> {
    const factory = options.indexedDB ?? globalThis.indexedDB;
    const migrations = options.migrations ?? IDB_MIGRATIONS;
    const request = factory.open(databaseName(options.namespace), migrations.length);
    let migrationError: unknown;
    request.addEventListener('upgradeneeded', (event) => {
      const tx = request.transaction;
      if (!tx) return;
      // idb types wrap(tx) as readonly; this one is the versionchange transaction.
      const wrappedTx = wrap(tx) as unknown as IDBPTransaction<unknown, ArrayLike<string>, 'versionchange'>;
      runMigrations(
        wrap(request.result),
        wrappedTx,
        event.oldVersion,
        event.newVersion ?? migrations.length,
        migrations,
      ).catch((error: unknown) => {
        migrationError = error;
        abortQuietly(wrappedTx);
      });
    });
    let db: IDBPDatabase | undefined;
    try {
      db = await wrap(request);
    } catch (error) {
      if (migrationError !== undefined) throw migrationError;
      if (error instanceof DOMException && error.name === 'VersionError') {
        // A newer app version (another tab, or a rollback) upgraded the database.
        throw new LocalStoreError('SCHEMA_TOO_NEW', 'the local database is newer than this app', { cause: error });
      }
      throw error;
    }
    if (!db) throw new LocalStoreError('CLOSED', 'opening the local database failed');
    return new IdbLocalStore(db as unknown as Db, factory, options);
  }

  private constructor(
    private readonly database: Db,
    private readonly factory: IDBFactory,
    options: IdbLocalStoreOptions,
  ) {
    this.namespace = options.namespace;
    this.limits = resolveLimits(options);
    this.now = options.now ?? Date.now;
    // Another tab wants to upgrade or delete (sign-out) this database: step
    // aside, or it stays blocked until this tab closes.
    database.addEventListener('versionchange', () => {
      this.closed = true;
      database.close();
    });
    // The browser closed it (storage cleared, disk error).
    database.addEventListener('close', () => (this.closed = true));
    this.rows = this.rowsArea();
    this.subscriptions = this.subscriptionsArea();
    this.outbox = this.outboxArea();
    this.drafts = this.draftsArea();
    this.meta = this.metaArea();
  }

  applyTransaction(
    subscriptionId: string,
    changes: readonly RowChange[],
    cursor: string,
    options: ApplyOptions = {},
  ): Promise<void> {
    return this.applyTransactions([{ subscriptionId, changes, cursor, ...options }]);
  }

  applyTransactions(updates: readonly SubscriptionUpdate[]): Promise<void> {
    return this.write(['rows', 'subscriptions'], async (tx) => {
      const subscriptions = tx.objectStore('subscriptions');
      const rows = tx.objectStore('rows');
      const latest = new Map<string, PersistedSubscription>();
      for (const { subscriptionId } of updates) {
        if (latest.has(subscriptionId)) continue;
        const sub = await subscriptions.get(subscriptionId);
        if (!sub) throw new UnknownSubscriptionError(subscriptionId);
        latest.set(subscriptionId, sub);
      }
      const pending: Promise<unknown>[] = [];
      for (const { subscriptionId, changes, cursor, replace } of updates) {
        if (replace) pending.push(...(await deleteSubscriptionRows(tx, subscriptionId)));
        for (const change of changes) {
          if (change.op === 'delete') pending.push(quiet(rows.delete([subscriptionId, change.key])));
          else if (change.row !== null) {
            const { key, row, version } = change;
            pending.push(quiet(rows.put({ subscriptionId, key, row, version })));
          }
        }
        const next = { ...latest.get(subscriptionId)!, cursor };
        latest.set(subscriptionId, next);
        pending.push(quiet(subscriptions.put(next)));
      }
      await Promise.all(pending);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.database.close();
  }

  async destroy(): Promise<void> {
    await this.close();
    await deleteNamespace(this.factory, this.namespace);
  }

  private db(): Db {
    if (this.closed) throw new LocalStoreError('CLOSED', 'the local store is closed');
    return this.database;
  }

  private async write<T>(names: StoreName[], body: (tx: WriteTx) => Promise<T>): Promise<T> {
    const tx = this.db().transaction(names, 'readwrite');
    try {
      const result = await body(tx);
      await tx.done;
      return result;
    } catch (error) {
      abortQuietly(tx);
      throw error;
    }
  }

  private rowsArea(): RowsArea {
    return {
      getAll: async (subscriptionId) => this.db().getAllFromIndex('rows', 'bySubscription', subscriptionId),
      putMany: (rows) =>
        this.write(['rows'], async (tx) => {
          const store = tx.objectStore('rows');
          await Promise.all(rows.map((row) => quiet(store.put(row))));
        }),
      deleteMany: (subscriptionId, keys) =>
        this.write(['rows'], async (tx) => {
          const store = tx.objectStore('rows');
          await Promise.all(keys.map((key) => quiet(store.delete([subscriptionId, key]))));
        }),
      clear: (subscriptionId) =>
        this.write(['rows'], async (tx) => {
          await Promise.all(await deleteSubscriptionRows(tx, subscriptionId));
        }),
    };
  }

  private subscriptionsArea(): SubscriptionsArea {
    return {
      get: async (id) => this.db().get('subscriptions', id),
      list: async () => this.db().getAll('subscriptions'),
      put: async (subscription) => {
        await this.db().put('subscriptions', subscription);
      },
      delete: (id) =>
        this.write(['subscriptions', 'rows'], async (tx) => {
          const deleted = quiet(tx.objectStore('subscriptions').delete(id));
          await Promise.all([deleted, ...(await deleteSubscriptionRows(tx, id))]);
        }),
    };
  }

  private outboxArea(): OutboxArea {
    return {
      add: (entry) =>
        this.write(['outbox'], async (tx) => {
          const store = tx.objectStore('outbox');
          // Checked and added in one transaction: two tabs cannot both squeeze past the limit.
          if ((await store.getKey(entry.mutationId)) !== undefined) throw new DuplicateMutationError(entry.mutationId);
          if ((await store.count()) >= this.limits.maxOutbox) throw new OutboxFullError(this.limits.maxOutbox);
          await store.add(entry);
        }),
      append: (entry) =>
        this.write(['outbox', 'meta'], async (tx) => {
          const store = tx.objectStore('outbox');
          const meta = tx.objectStore('meta');
          const last = (await meta.get('lastMutationId')) as number | undefined;
          if (last !== undefined && entry.mutationId <= last)
            throw new DuplicateMutationError(entry.mutationId, `is not above the last allocated id ${last}`);
          if ((await store.getKey(entry.mutationId)) !== undefined) throw new DuplicateMutationError(entry.mutationId);
          if ((await store.count()) >= this.limits.maxOutbox) throw new OutboxFullError(this.limits.maxOutbox);
          // The id first: if the entry cannot be stored (say, a DataCloneError), the abort takes the id back too.
          const counted = quiet(meta.put(entry.mutationId, 'lastMutationId'));
          await Promise.all([counted, store.add(entry)]);
        }),
      list: async () => this.db().getAll('outbox'),
      count: async () => this.db().count('outbox'),
      delete: async (mutationId) => this.db().delete('outbox', mutationId),
      deleteMany: (mutationIds) =>
        this.write(['outbox'], async (tx) => {
          const store = tx.objectStore('outbox');
          await Promise.all(mutationIds.map((id) => quiet(store.delete(id))));
        }),
    };
  }

  private draftsArea(): DraftsArea {
    return {
      get: async (key) => this.db().get('drafts', key),
      put: async (key, value) => {
        checkDraft(key, value, this.limits);
        return await this.write(['drafts'], async (tx) => {
          const store = tx.objectStore('drafts');
          const exists = (await store.getKey(key)) !== undefined;
          if (!exists && (await store.count()) >= this.limits.maxDrafts)
            throw new DraftsFullError(this.limits.maxDrafts);
          const record: DraftRecord = { key, value, updatedAt: this.now() };
          await store.put(record);
          return record;
        });
      },
      delete: (key) =>
        this.write(['drafts'], async (tx) => {
          const store = tx.objectStore('drafts');
          if ((await store.getKey(key)) === undefined) return false;
          await store.delete(key);
          return true;
        }),
      keys: async () => this.db().getAllKeys('drafts'),
    };
  }

  private metaArea(): MetaArea {
    return {
      get: async <K extends keyof LocalMeta>(key: K) => (await this.db().get('meta', key)) as LocalMeta[K] | undefined,
      set: async (key, value) => {
        await this.db().put('meta', value, key);
      },
      delete: async (key) => this.db().delete('meta', key),
    };
  }
}

/**
 * No key range: IDBKeyRange is a global we would rather not depend on next to
 * an injected factory. getAllKeys on the index costs one extra request.
 */
async function deleteSubscriptionRows(tx: WriteTx, subscriptionId: string): Promise<Promise<unknown>[]> {
  const rows = tx.objectStore('rows');
  const keys = await rows.index('bySubscription').getAllKeys(subscriptionId);
  return keys.map((key) => quiet(rows.delete(key)));
}

function abortQuietly(tx: { readonly done: Promise<void>; abort(): void }): void {
  tx.done.catch(noop);
  try {
    tx.abort();
  } catch {
    // Already finished or aborting (a failed request aborts it for us).
  }
}
