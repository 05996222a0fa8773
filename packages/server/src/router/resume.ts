/**
 * Resuming subscriptions from their cursors: one pass over the log, one
 * `changes` message per transaction holding every resuming subscription's share,
 * so resume keeps the one-message-per-transaction rule. A transaction that resets
 * a subscription's table (see table-resets.ts) ends its replay with a resync.
 */
import type { ResyncReason } from '@syncline/protocol';
import { encodeCursor } from '../bus/cursor.ts';
import type { TransactionLog } from '../bus/transaction-log.ts';
import type { CollectionInstance, Subscriber } from '../collections/collection-instance.ts';
import type { ChangesEntry, SyncConnection } from '../transport/sync-connection.ts';
import type { InstanceChange } from './route-transaction.ts';
import { changesFor } from './route-transaction.ts';
import { tableResets } from './table-resets.ts';

export interface Resuming {
  instance: CollectionInstance;
  subscriber: Subscriber;
  /** Replay transactions after this LSN. */
  after: bigint;
}

/** Replays the log to `conn`; returns the subscriptions that made it (the others got `resync`) and the message count. */
export function replayLog(
  conn: SyncConnection,
  resuming: Resuming[],
  log: TransactionLog,
  epoch: string,
  onResync: (r: Resuming, reason: ResyncReason) => void,
): { active: Resuming[]; messages: number } {
  let from = resuming[0]?.after ?? log.head;
  for (const r of resuming) if (r.after < from) from = r.after;
  let active = resuming;
  let messages = 0;
  for (const tx of log.since(from)) {
    const entries: ChangesEntry[] = [];
    const resets = tableResets(tx);
    active = active.filter((r) => {
      if (tx.lsn <= r.after) return true;
      const table = r.instance.collection.table.qualified;
      const reset = resets.get(table);
      if (reset) {
        onResync(r, reset);
        return false;
      }
      const changes: InstanceChange[] = [];
      for (const change of tx.changes) if (change.table === table) changesFor(r.instance, change, changes);
      if (changes.length > 0) entries.push({ subId: r.subscriber.subId, instanceId: r.instance.id, changes });
      return true;
    });
    if (entries.length === 0) continue;
    conn.changes(encodeCursor(epoch, tx.lsn), entries, new Map());
    messages++;
  }
  return { active, messages };
}
