/**
 * Plain writes the demo allows besides its mutators: a user marks their own
 * notifications read (and nothing else about them); a dispatcher moves an
 * order between the board's columns and assigns its driver. Plain writes are
 * what undo/redo and `expectedVersion` conflicts work on: the board's moves
 * go through them, business actions with side effects stay mutators.
 */
import type { TableWriteRules } from '@syncline/server';

const ACTIVE = new Set(['pending', 'accepted', 'in_progress', 'delivering']);

export const demoWrites: Record<string, TableWriteRules> = {
  notification: { columns: ['read'], update: { eq: ['user_id', { claim: 'sub' }] } },
  // Onto the board's columns only, and never out of delivered (cancelled may come back: undo of a cancel).
  order: {
    columns: ['status', 'driver_id'],
    update: ({ claims, row, old }) =>
      claims['app_role'] === 'dispatcher' && ACTIVE.has(String(row?.['status'])) && old?.['status'] !== 'delivered',
  },
};
