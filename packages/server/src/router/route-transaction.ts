/**
 * Decides what one row change means for one instance: the predicate on the old
 * and the new row turns an UPDATE into an insert (move-in), a delete
 * (move-out), an update, or nothing.
 */
import type { Row } from '@syncline/protocol';
import type { RowChange } from '../capture/captured-transaction.ts';
import type { CollectionInstance } from '../collections/collection-instance.ts';

export interface InstanceChange {
  op: 'insert' | 'update' | 'delete';
  key: string;
  row: Row | null;
  version: number;
}

export function changesFor(instance: CollectionInstance, change: RowChange, out: InstanceChange[]): void {
  const { collection } = instance;
  const was = change.old !== null && safeMatches(instance, change.old);
  const is = change.row !== null && safeMatches(instance, change.row);
  if (change.op === 'update' && change.old === null) {
    // No old row (replica identity was not FULL): we cannot know whether it was
    // visible, and a delete of an unknown key is harmless on the client.
    if (is && change.row) out.push(upsert('update', instance, change.row));
    else if (change.row) out.push(del(collection.keyOf(change.row), change.row));
    return;
  }
  if (was && is && change.old && change.row) {
    const oldKey = collection.keyOf(change.old);
    const w = collection.toWire(change.row);
    if (oldKey !== w.key) out.push(del(oldKey, change.old)); // primary key changed
    out.push({ op: oldKey !== w.key ? 'insert' : 'update', key: w.key, row: w.row, version: w.version });
  } else if (is && change.row) {
    out.push(upsert('insert', instance, change.row));
  } else if (was && change.old) {
    out.push(del(collection.keyOf(change.old), change.old));
  }
}

function upsert(op: 'insert' | 'update', instance: CollectionInstance, row: Row): InstanceChange {
  const w = instance.collection.toWire(row);
  return { op, key: w.key, row: w.row, version: w.version };
}

function del(key: string, old: Row): InstanceChange {
  return { op: 'delete', key, row: null, version: Number(old['version'] ?? 0) };
}

/**
 * A row that breaks the wire contract (a column the filter needs is missing after
 * a schema change, a value of the wrong type) matches nothing rather than
 * stopping the stream for everyone.
 */
function safeMatches(instance: CollectionInstance, row: Row): boolean {
  try {
    return instance.bound.matches(row);
  } catch {
    return false;
  }
}
