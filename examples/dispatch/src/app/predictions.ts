/**
 * What the demo's mutators will do, predicted in the client so the screen
 * changes at once (and a rejection rolls it back). The server's mutators stay
 * the authority: history rows, chats and notifications come from them.
 *
 * Undo sends a prediction's inverse as plain writes, which only a dispatcher
 * may make on orders (writes.ts): for drivers and customers these mutators are
 * registered `undoable: false`, so undo never offers what the server refuses.
 */
import type { SyncClient } from '@syncline/client';
import type { JsonValue } from '@syncline/protocol';
import type { Role } from './session.ts';

interface OrderArgs {
  orderId: string;
  status?: string;
}

export interface CreateOrderArgs {
  id: string;
  title: string;
  address: string;
  total: string;
}

export function registerPredictions(client: SyncClient, me: string, role: Role): () => void {
  const options = { undoable: role === 'dispatcher' };
  /** A mutator that changes one order's columns: predicted as that update. */
  const orderUpdate = (name: string, values: (a: OrderArgs) => Record<string, JsonValue>) =>
    client.registerMutator(
      name,
      (_view, args) => [
        { type: 'update', table: 'order', id: (args as OrderArgs).orderId, values: values(args as OrderArgs) },
      ],
      options,
    );
  const offs = [
    // The new order's id comes in the args (predictions are recomputed on every change below them).
    client.registerMutator(
      'orders.create',
      (_view, args) => {
        const a = args as CreateOrderArgs;
        return [
          {
            type: 'insert',
            table: 'order',
            row: {
              id: a.id,
              customer_id: me,
              driver_id: null,
              status: 'pending',
              title: a.title,
              address: a.address,
              total: a.total,
            },
          },
          // One timestamp per mutation, kept across recomputations (a Date here would move on each).
          { type: 'set-now', table: 'order', id: a.id, key: 'created_at' },
        ];
      },
      { undoable: false },
    ),
    orderUpdate('orders.accept', () => ({ status: 'accepted', driver_id: me })),
    orderUpdate('orders.updateStatus', (a) => ({ status: a.status ?? null })),
    orderUpdate('orders.cancel', () => ({ status: 'cancelled' })),
  ];
  return () => offs.forEach((off) => off());
}
