// idb checks values against the global IDB* classes; this installs fake ones.
// Each test still gets its own IDBFactory, i.e. its own empty "device".
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it, vi } from 'vitest';
import { IDB_MIGRATIONS, IDB_SCHEMA_VERSION, type IdbMigration } from './idb-schema.ts';
import { IdbLocalStore } from './idb-local-store.ts';
import { runLocalStoreSuite } from './local-store-suite.ts';
import { deleteNamespace } from './namespace.ts';

/**
 * Failure injection (see LocalStoreEnv): every write request of a database opened
 * with a fault asks it first, naming its object store; throwing fails that request
 * inside the real transaction, which the store must then abort as a whole.
 */
const faults = new WeakMap<IDBDatabase, (step: string) => void>();
for (const method of ['add', 'put', 'delete', 'clear'] as const) {
  const original = IDBObjectStore.prototype[method] as (this: IDBObjectStore, ...args: unknown[]) => IDBRequest;
  Object.defineProperty(IDBObjectStore.prototype, method, {
    configurable: true,
    writable: true,
    value: function (this: IDBObjectStore, ...args: unknown[]): IDBRequest {
      faults.get(this.transaction.db)?.(this.name);
      return original.apply(this, args);
    },
  });
}

/** The factory, but databases it opens consult `fault` before each write request. */
function faulty(factory: IDBFactory, fault: (step: string) => void): IDBFactory {
  return new Proxy(factory, {
    get(target, property) {
      if (property !== 'open') {
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return (name: string, version?: number) => {
        const request = target.open(name, version);
        request.addEventListener('success', () => faults.set(request.result, fault));
        return request;
      };
    },
  });
}

runLocalStoreSuite('IdbLocalStore', () => {
  const indexedDB = new IDBFactory();
  return {
    open: (options, fault) =>
      IdbLocalStore.open({ ...options, indexedDB: fault ? faulty(indexedDB, fault) : indexedDB }),
  };
});

describe('IdbLocalStore: database', () => {
  it('names the database syncline:<namespace> with the expected stores and keys', async () => {
    const indexedDB = new IDBFactory();
    const store = await IdbLocalStore.open({ namespace: 'abc123', indexedDB });
    expect(await indexedDB.databases()).toEqual([{ name: 'syncline:abc123', version: IDB_SCHEMA_VERSION }]);
    await store.close();

    const raw = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open('syncline:abc123');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error ?? new Error('open failed'));
    });
    expect([...raw.objectStoreNames].sort()).toEqual(['drafts', 'meta', 'outbox', 'rows', 'subscriptions']);
    const tx = raw.transaction(['rows', 'outbox']);
    expect(tx.objectStore('rows').keyPath).toEqual(['subscriptionId', 'key']);
    expect(tx.objectStore('rows').index('bySubscription').keyPath).toBe('subscriptionId');
    expect(tx.objectStore('outbox').keyPath).toBe('mutationId');
    raw.close();
  });

  it('closes itself when another tab deletes the namespace (sign-out) instead of blocking it', async () => {
    const indexedDB = new IDBFactory();
    const store = await IdbLocalStore.open({ namespace: 'u1', indexedDB });
    await store.drafts.put('form', 'x');
    await deleteNamespace(indexedDB, 'u1');
    expect(await indexedDB.databases()).toEqual([]);
    await expect(store.drafts.keys()).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

describe('IdbLocalStore: migrations', () => {
  it('runs every step on a new database, in order', async () => {
    const calls: string[] = [];
    const migrations: IdbMigration[] = [
      ...IDB_MIGRATIONS.map(
        (step, i): IdbMigration =>
          (db, tx) => (calls.push(`v${i + 1}`), step(db, tx)),
      ),
      () => void calls.push('v2'),
    ];
    const store = await IdbLocalStore.open({ namespace: 'u1', indexedDB: new IDBFactory(), migrations });
    expect(calls).toEqual(['v1', 'v2']);
    await store.close();
  });

  it('upgrades a version 1 database with only the new step, keeping the data', async () => {
    const indexedDB = new IDBFactory();
    const v1 = await IdbLocalStore.open({ namespace: 'u1', indexedDB });
    await v1.subscriptions.put({ id: 's1', collection: 'c', params: null, cursor: null });
    await v1.applyTransaction('s1', [{ op: 'insert', key: 'a', row: { v: 1 }, version: 1 }], '0003');
    await v1.close();

    // A v2 step that both changes the schema and touches data (awaiting requests is fine).
    const v2Step = vi.fn<IdbMigration>(async (_db, tx) => {
      const rows = tx.objectStore('rows');
      rows.createIndex('byVersion', 'version');
      expect(await rows.count()).toBe(1);
    });
    const v2 = await IdbLocalStore.open({ namespace: 'u1', indexedDB, migrations: [...IDB_MIGRATIONS, v2Step] });
    expect(v2Step).toHaveBeenCalledTimes(1);
    expect(await v2.rows.getAll('s1')).toEqual([{ subscriptionId: 's1', key: 'a', row: { v: 1 }, version: 1 }]);
    expect((await v2.subscriptions.get('s1'))?.cursor).toBe('0003');
    await v2.close();
    expect(await indexedDB.databases()).toEqual([{ name: 'syncline:u1', version: 2 }]);
  });

  it('a failing step aborts the upgrade: the database stays at the old version', async () => {
    const indexedDB = new IDBFactory();
    await (await IdbLocalStore.open({ namespace: 'u1', indexedDB })).close();
    const broken: IdbMigration = () => {
      throw new Error('bad step');
    };
    await expect(
      IdbLocalStore.open({ namespace: 'u1', indexedDB, migrations: [...IDB_MIGRATIONS, broken] }),
    ).rejects.toThrow('bad step');
    expect(await indexedDB.databases()).toEqual([{ name: 'syncline:u1', version: 1 }]);
  });

  it('an older app opening a newer database fails with SCHEMA_TOO_NEW', async () => {
    const indexedDB = new IDBFactory();
    const newer = await IdbLocalStore.open({ namespace: 'u1', indexedDB, migrations: [...IDB_MIGRATIONS, () => {}] });
    await newer.close();
    await expect(IdbLocalStore.open({ namespace: 'u1', indexedDB })).rejects.toMatchObject({ code: 'SCHEMA_TOO_NEW' });
  });
});
