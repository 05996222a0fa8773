/**
 * `createCollection(synclineCollectionOptions({ client, collection, getKey }))`:
 * a TanStack DB collection over one Syncline subscription.
 *
 *   sync ──▶ client.subscribe ──▶ CollectionSync: snapshot, one commit per transaction, resync
 *   onInsert/onUpdate/onDelete ──▶ client.mutate(ops) ──▶ Confirmations: settles once the
 *        server's rows are in the collection, rejects (TanStack DB rolls back) on 'rejected'
 */
import { SyncError, type SubscriptionHandle, type SubscriptionParams, type SyncClient } from '@syncline/client';
import type { CollectionConfig, PendingMutation, SyncConfig } from '@tanstack/db';
import { CollectionSync } from './collection-sync.ts';
import { Confirmations } from './confirmations.ts';
import { writeOps } from './write-ops.ts';

export interface SynclineCollectionOptions<T extends object, K extends string | number> {
  client: SyncClient;
  /** The server collection to subscribe to. */
  collection: string;
  params?: SubscriptionParams;
  /** The row's primary key value; writes name the row by it. */
  getKey: (row: T) => K;
  /** Subscription id (and TanStack DB collection id); default `collection`. Give one per params. */
  id?: string;
  /** The table writes go to; default: the subscription's table, known after its snapshot. */
  table?: string;
}

export interface SynclineCollectionUtils extends Record<string, unknown> {
  /** The subscription while the collection syncs (status, cursor, error). */
  subscription(): SubscriptionHandle | undefined;
  /** Resolves once mutation `id` (from `client.mutate`) is in this collection; rejects if refused. */
  awaitMutation(id: number): Promise<void>;
}

interface Run<T extends object, K extends string | number> {
  handle: SubscriptionHandle;
  sync: CollectionSync<T, K>;
  confirmations: Confirmations;
}

export function synclineCollectionOptions<T extends object, K extends string | number>(
  options: SynclineCollectionOptions<T, K>,
): CollectionConfig<T, K, never, SynclineCollectionUtils> & { id: string; utils: SynclineCollectionUtils } {
  const { client, getKey } = options;
  const id = options.id ?? options.collection;
  let run: Run<T, K> | undefined;

  const sync: SyncConfig<T, K>['sync'] = ({ begin, write, commit, markReady, markError, truncate }) => {
    const handle = client.subscribe({
      id,
      collection: options.collection,
      ...(options.params ? { params: options.params } : {}),
    });
    const confirmations = new Confirmations(client, handle.id);
    const bridge = new CollectionSync<T, K>(
      client,
      handle,
      getKey,
      { begin, write, commit, markReady, markError, truncate: () => truncate() },
      (committed) => confirmations.committed(committed),
    );
    const current: Run<T, K> = { handle, sync: bridge, confirmations };
    run = current;
    bridge.start();
    return () => {
      bridge.stop();
      confirmations.stop(new SyncError('UNSUBSCRIBED', `collection ${id} stopped syncing`, handle.id));
      handle.unsubscribe();
      if (run === current) run = undefined;
    };
  };

  async function send(mutations: readonly PendingMutation<T>[]): Promise<void> {
    const r = run;
    if (r === undefined) throw new SyncError('UNSUBSCRIBED', `collection ${id} is not syncing`);
    const table = options.table ?? tableOf(r.handle);
    if (table === undefined) throw new Error(`collection ${id}: table not known before the snapshot; pass \`table\``);
    const mutationId = await client.mutate(writeOps(table, mutations));
    await r.confirmations.wait(mutationId);
  }

  return {
    id,
    getKey,
    sync: { sync, rowUpdateMode: 'full' },
    onInsert: ({ transaction }) => send(transaction.mutations),
    onUpdate: ({ transaction }) => send(transaction.mutations),
    onDelete: ({ transaction }) => send(transaction.mutations),
    utils: {
      subscription: () => run?.handle,
      awaitMutation: (mutationId) => {
        if (run === undefined) return Promise.reject(new SyncError('UNSUBSCRIBED', `collection ${id} is not syncing`));
        return run.confirmations.wait(mutationId);
      },
    },
  };
}

/**
 * The subscription's table: the client's Subscription has a `table` getter
 * (set from `subscribed`/`snapshot`), which the SubscriptionHandle type does not declare.
 */
function tableOf(handle: SubscriptionHandle): string | undefined {
  const table = (handle as { readonly table?: unknown }).table;
  return typeof table === 'string' ? table : undefined;
}
