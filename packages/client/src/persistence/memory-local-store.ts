import type { JsonValue } from '@syncline/protocol';
import {
  DraftsFullError,
  DuplicateMutationError,
  LocalStoreError,
  OutboxFullError,
  UnknownSubscriptionError,
} from './errors.ts';
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
  OutboxEntry,
  PersistedRow,
  PersistedSubscription,
  RowChange,
  RowsArea,
  SubscriptionsArea,
  SubscriptionUpdate,
} from './local-store.ts';
import { databaseName } from './namespace.ts';

interface MemoryData {
  rows: Map<string, Map<string, PersistedRow>>;
  subscriptions: Map<string, PersistedSubscription>;
  outbox: Map<number, OutboxEntry>;
  drafts: Map<string, DraftRecord>;
  meta: Map<string, JsonValue>;
}

/**
 * The in-memory counterpart of an IDBFactory: namespaces outlive a store
 * instance, so "close and reopen" and "user A vs user B" behave as with
 * IndexedDB. Share one instance between stores to simulate a device.
 */
export class MemoryDatabases {
  private readonly byNamespace = new Map<string, MemoryData>();

  /** @internal */
  open(namespace: string): MemoryData {
    let data = this.byNamespace.get(namespace);
    if (!data) {
      data = { rows: new Map(), subscriptions: new Map(), outbox: new Map(), drafts: new Map(), meta: new Map() };
      this.byNamespace.set(namespace, data);
    }
    return data;
  }

  delete(namespace: string): void {
    this.byNamespace.delete(namespace);
  }

  has(namespace: string): boolean {
    return this.byNamespace.has(namespace);
  }
}

export interface MemoryLocalStoreOptions extends Partial<LocalStoreOptions> {
  /** Defaults to a private instance (nothing survives the store). */
  readonly databases?: MemoryDatabases;
  /**
   * Failure injection for tests: called before each step of a write that spans
   * stores (`outbox.append`: 'meta', then 'outbox'). Throwing there is a crash
   * in the middle of that write; the store undoes the steps already made, as an
   * aborted IndexedDB transaction would, and the write rejects with that error.
   */
  readonly beforeStep?: (write: string, step: StepName) => void;
}

export type StepName = keyof MemoryData;

/** One change of a multi-step write: makes it and returns how to undo it. */
type Step = readonly [StepName, () => () => void];

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * LocalStore in plain Maps. Values are structured-cloned on the way in and
 * out, exactly like IndexedDB: a caller mutating a row it read (or wrote) must
 * not change what is stored, or tests against this store would pass code
 * that breaks on IndexedDB. Each write validates and clones everything before
 * touching a Map, so a failing write changes nothing (atomic, like an IDB
 * transaction).
 */
export class MemoryLocalStore implements LocalStore {
  readonly namespace: string;
  readonly rows: RowsArea;
  readonly subscriptions: SubscriptionsArea;
  readonly outbox: OutboxArea;
  readonly drafts: DraftsArea;
  readonly meta: MetaArea;
  private readonly databases: MemoryDatabases;
  private readonly limits: ResolvedLimits;
  private readonly now: () => number;
  private readonly beforeStep: ((write: string, step: StepName) => void) | undefined;
  private closed = false;

  static async open(options: MemoryLocalStoreOptions = {}): Promise<MemoryLocalStore> {
    return new MemoryLocalStore(options);
  }

  constructor(options: MemoryLocalStoreOptions = {}) {
    this.namespace = options.namespace ?? 'default';
    databaseName(this.namespace); // same validation as IndexedDB
    this.databases = options.databases ?? new MemoryDatabases();
    this.databases.open(this.namespace);
    this.limits = resolveLimits(options);
    this.now = options.now ?? Date.now;
    this.beforeStep = options.beforeStep;
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

  async applyTransactions(updates: readonly SubscriptionUpdate[]): Promise<void> {
    const data = this.data();
    for (const { subscriptionId } of updates) {
      if (!data.subscriptions.has(subscriptionId)) throw new UnknownSubscriptionError(subscriptionId);
    }
    const staged = updates.map((update) => ({ ...update, changes: structuredClone(update.changes) }));
    for (const { subscriptionId, changes, cursor, replace } of staged) {
      if (replace) data.rows.delete(subscriptionId);
      applyChanges(this.subscriptionRows(subscriptionId), subscriptionId, changes);
      const sub = data.subscriptions.get(subscriptionId);
      if (sub) data.subscriptions.set(subscriptionId, { ...sub, cursor });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  async destroy(): Promise<void> {
    this.closed = true;
    this.databases.delete(this.namespace);
  }

  private data(): MemoryData {
    if (this.closed) throw new LocalStoreError('CLOSED', 'the local store is closed');
    return this.databases.open(this.namespace);
  }

  /** Makes the steps in order; if one throws (see `beforeStep`), undoes those made, newest first. */
  private steps(write: string, steps: readonly Step[]): void {
    const undo: Array<() => void> = [];
    try {
      for (const [name, make] of steps) {
        this.beforeStep?.(write, name);
        undo.push(make());
      }
    } catch (error) {
      for (const back of undo.reverse()) back();
      throw error;
    }
  }

  private subscriptionRows(subscriptionId: string): Map<string, PersistedRow> {
    const rows = this.data().rows;
    let map = rows.get(subscriptionId);
    if (!map) rows.set(subscriptionId, (map = new Map()));
    return map;
  }

  private rowsArea(): RowsArea {
    return {
      getAll: async (subscriptionId) => {
        const map = this.data().rows.get(subscriptionId);
        if (!map) return [];
        return structuredClone([...map.values()].sort((a, b) => byString(a.key, b.key)));
      },
      putMany: async (rows) => {
        this.data();
        for (const row of structuredClone(rows)) this.subscriptionRows(row.subscriptionId).set(row.key, row);
      },
      deleteMany: async (subscriptionId, keys) => {
        const map = this.data().rows.get(subscriptionId);
        for (const key of keys) map?.delete(key);
      },
      clear: async (subscriptionId) => {
        this.data().rows.delete(subscriptionId);
      },
    };
  }

  private subscriptionsArea(): SubscriptionsArea {
    return {
      get: async (id) => structuredClone(this.data().subscriptions.get(id)),
      list: async () => structuredClone([...this.data().subscriptions.values()].sort((a, b) => byString(a.id, b.id))),
      put: async (subscription) => {
        this.data().subscriptions.set(subscription.id, structuredClone(subscription));
      },
      delete: async (id) => {
        const data = this.data();
        data.subscriptions.delete(id);
        data.rows.delete(id);
      },
    };
  }

  private outboxArea(): OutboxArea {
    return {
      add: async (entry) => {
        const outbox = this.data().outbox;
        if (outbox.has(entry.mutationId)) throw new DuplicateMutationError(entry.mutationId);
        if (outbox.size >= this.limits.maxOutbox) throw new OutboxFullError(this.limits.maxOutbox);
        outbox.set(entry.mutationId, structuredClone(entry));
      },
      append: async (entry) => {
        const { outbox, meta } = this.data();
        const last = meta.get('lastMutationId') as number | undefined;
        if (last !== undefined && entry.mutationId <= last)
          throw new DuplicateMutationError(entry.mutationId, `is not above the last allocated id ${last}`);
        if (outbox.has(entry.mutationId)) throw new DuplicateMutationError(entry.mutationId);
        if (outbox.size >= this.limits.maxOutbox) throw new OutboxFullError(this.limits.maxOutbox);
        const copy = structuredClone(entry);
        this.steps('append', [
          [
            'meta',
            () => {
              meta.set('lastMutationId', entry.mutationId);
              return () => (last === undefined ? meta.delete('lastMutationId') : meta.set('lastMutationId', last));
            },
          ],
          [
            'outbox',
            () => {
              outbox.set(entry.mutationId, copy);
              return () => outbox.delete(entry.mutationId);
            },
          ],
        ]);
      },
      list: async () => structuredClone([...this.data().outbox.values()].sort((a, b) => a.mutationId - b.mutationId)),
      count: async () => this.data().outbox.size,
      delete: async (mutationId) => {
        this.data().outbox.delete(mutationId);
      },
      deleteMany: async (mutationIds) => {
        const outbox = this.data().outbox;
        for (const id of mutationIds) outbox.delete(id);
      },
    };
  }

  private draftsArea(): DraftsArea {
    return {
      get: async (key) => structuredClone(this.data().drafts.get(key)),
      put: async (key, value) => {
        checkDraft(key, value, this.limits);
        const drafts = this.data().drafts;
        if (!drafts.has(key) && drafts.size >= this.limits.maxDrafts) throw new DraftsFullError(this.limits.maxDrafts);
        const record: DraftRecord = { key, value: structuredClone(value), updatedAt: this.now() };
        drafts.set(key, record);
        return structuredClone(record);
      },
      delete: async (key) => this.data().drafts.delete(key),
      keys: async () => [...this.data().drafts.keys()].sort(byString),
    };
  }

  private metaArea(): MetaArea {
    return {
      get: async <K extends keyof LocalMeta>(key: K) =>
        structuredClone(this.data().meta.get(key)) as LocalMeta[K] | undefined,
      set: async (key, value) => {
        this.data().meta.set(key, structuredClone(value));
      },
      delete: async (key) => {
        this.data().meta.delete(key);
      },
    };
  }
}

/** insert/update put the row, delete removes it; a row-less insert/update is skipped (as RowStore does). */
function applyChanges(map: Map<string, PersistedRow>, subscriptionId: string, changes: readonly RowChange[]): void {
  for (const change of changes) {
    if (change.op === 'delete') map.delete(change.key);
    else if (change.row !== null)
      map.set(change.key, { subscriptionId, key: change.key, row: change.row, version: change.version });
  }
}
