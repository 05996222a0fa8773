/**
 * Transactions after which a table's subscriptions cannot continue change by
 * change, and must start over from a snapshot:
 *  - TRUNCATE: the rows are gone without a delete per row;
 *  - a transaction above the size bound: its rows were not kept;
 *  - a new table shape (Relation message): rows sent earlier lack a column a
 *    fresh SELECT has (e.g. ADD COLUMN … DEFAULT), or carry one it no longer has.
 */
import type { ResyncReason } from '@syncline/protocol';
import type { CapturedTransaction } from '../capture/captured-transaction.ts';

export function tableResets(tx: CapturedTransaction): Map<string, ResyncReason> {
  const resets = new Map<string, ResyncReason>();
  for (const t of tx.schemaChanged) resets.set(t, 'schema-changed');
  for (const t of tx.oversizedTables ?? []) resets.set(t, 'transaction-too-large');
  for (const t of tx.truncated) resets.set(t, 'truncate');
  return resets;
}
