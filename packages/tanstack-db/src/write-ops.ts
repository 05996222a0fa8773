/** TanStack DB's pending mutations as Syncline write ops (one Syncline mutation per TanStack transaction). */
import type { WriteOp } from '@syncline/protocol';
import type { PendingMutation } from '@tanstack/db';

/** A key TanStack DB names as the row id the server expects (the primary key value). */
type RowId = string | number;

export function writeOps<T extends object>(table: string, mutations: readonly PendingMutation<T>[]): WriteOp[] {
  return mutations.map((m): WriteOp => {
    const id = m.key as RowId;
    switch (m.type) {
      case 'insert':
        return { type: 'insert', table, row: { ...(m.modified as Record<string, unknown>) } };
      case 'update':
        // Only the columns the user changed: a concurrent change to another column survives.
        return { type: 'update', table, id, values: { ...(m.changes as Record<string, unknown>) } };
      case 'delete':
        return { type: 'delete', table, id };
    }
  });
}
