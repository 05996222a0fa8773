/**
 * What the demo's mutators will do, predicted in the client so the screen
 * changes at once (and a rejection rolls it back). The server's mutators stay
 * the authority: history rows, chats and notifications come from them.
 */
import type { SyncClient } from '@syncline/client';

interface OrderArgs {
  orderId: string;
  status?: string;
}

export function registerPredictions(client: SyncClient, me: string): () => void {
  const offs = [
    client.registerMutator('orders.accept', (_view, args) => [
      {
        type: 'update',
        table: 'order',
        id: (args as OrderArgs).orderId,
        values: { status: 'accepted', driver_id: me },
      },
    ]),
    client.registerMutator('orders.updateStatus', (_view, args) => [
      {
        type: 'set',
        table: 'order',
        id: (args as OrderArgs).orderId,
        key: 'status',
        value: (args as OrderArgs).status,
      },
    ]),
    client.registerMutator('orders.cancel', (_view, args) => [
      { type: 'set', table: 'order', id: (args as OrderArgs).orderId, key: 'status', value: 'cancelled' },
    ]),
  ];
  return () => offs.forEach((off) => off());
}
