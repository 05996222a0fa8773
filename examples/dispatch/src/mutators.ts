/**
 * Seed 000's business actions as named mutators. Each runs in the mutation's
 * one transaction: the order change, its history row and the notifications
 * commit together, reach other clients as one `changes` message, and a retry
 * of the same mutation id applies nothing twice.
 */
import { z } from 'zod';
import { defineMutator, SynclineError, type MutatorTx, type MutatorUser } from '@syncline/server';

const id = z.string().uuid();
const NEXT: Record<string, string[]> = {
  accepted: ['in_progress'],
  in_progress: ['delivering'],
  delivering: ['delivered'],
};

function args<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success)
    throw new SynclineError(
      'BAD_REQUEST',
      `invalid args: ${r.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
    );
  return r.data;
}

function role(user: MutatorUser): string {
  return String(user.claims['app_role'] ?? '');
}

async function lockOrder(tx: MutatorTx, orderId: string) {
  const [order] = await tx.query<{
    id: string;
    status: string;
    customer_id: string;
    driver_id: string | null;
    title: string;
  }>(`SELECT id, status, customer_id, driver_id, title FROM "order" WHERE id = $1 FOR UPDATE`, [orderId]);
  if (!order) throw new SynclineError('NOT_FOUND', 'no such order');
  return order;
}

async function history(
  tx: MutatorTx,
  orderId: string,
  actor: string,
  action: string,
  from: string | null,
  to: string | null,
) {
  await tx.query(
    `INSERT INTO order_history (order_id, actor_id, action, from_status, to_status) VALUES ($1, $2, $3, $4, $5)`,
    [orderId, actor, action, from, to],
  );
}

async function notify(tx: MutatorTx, userId: string, body: string, kind = 'order') {
  await tx.query(`INSERT INTO notification (user_id, kind, body) VALUES ($1, $2, $3)`, [userId, kind, body]);
}

export const demoMutators = [
  defineMutator('orders.create', async (tx, raw, user) => {
    const a = args(
      z.object({
        // The client names the new order (so its prediction is the very row the server inserts).
        id: id.optional(),
        title: z.string().min(1).max(200),
        address: z.string().min(1).max(300),
        total: z.string().regex(/^\d{1,10}(\.\d{1,2})?$/),
      }),
      raw,
    );
    if (role(user) !== 'customer') throw new SynclineError('FORBIDDEN', 'only customers create orders');
    const order = await tx.write({
      type: 'insert',
      table: 'order',
      row: {
        ...(a.id ? { id: a.id } : {}),
        customer_id: user.userId,
        title: a.title,
        address: a.address,
        total: a.total,
      },
    });
    await history(tx, order.key, user.userId, 'created', null, 'pending');
    for (const d of await tx.query<{ id: string }>(`SELECT id FROM "user" WHERE role = 'dispatcher'`))
      await notify(tx, d.id, `New order: ${a.title}`);
  }),

  defineMutator('orders.accept', async (tx, raw, user) => {
    const { orderId } = args(z.object({ orderId: id }), raw);
    if (role(user) !== 'driver') throw new SynclineError('FORBIDDEN', 'only drivers accept orders');
    const order = await lockOrder(tx, orderId);
    if (order.status !== 'pending') throw new SynclineError('CONFLICT', `order is ${order.status}, not pending`);
    await tx.write({
      type: 'update',
      table: 'order',
      id: orderId,
      values: { status: 'accepted', driver_id: user.userId },
    });
    await tx.write({ type: 'set-now', table: 'order', id: orderId, key: 'updated_at' });
    await tx.query(`INSERT INTO chat (order_id, customer_id, driver_id, title) VALUES ($1, $2, $3, $4)`, [
      orderId,
      order.customer_id,
      user.userId,
      order.title,
    ]);
    await history(tx, orderId, user.userId, 'accepted', 'pending', 'accepted');
    await notify(tx, order.customer_id, `Your order "${order.title}" was accepted`);
  }),

  defineMutator('orders.updateStatus', async (tx, raw, user) => {
    const { orderId, status } = args(
      z.object({ orderId: id, status: z.enum(['in_progress', 'delivering', 'delivered']) }),
      raw,
    );
    const order = await lockOrder(tx, orderId);
    if (order.driver_id !== user.userId) throw new SynclineError('FORBIDDEN', 'only the order’s driver moves it along');
    if (!NEXT[order.status]?.includes(status))
      throw new SynclineError('CONFLICT', `cannot go from ${order.status} to ${status}`);
    await tx.write({ type: 'update', table: 'order', id: orderId, values: { status } });
    await history(tx, orderId, user.userId, 'status', order.status, status);
    await notify(tx, order.customer_id, `Your order "${order.title}" is ${status.replace('_', ' ')}`);
  }),

  defineMutator('orders.cancel', async (tx, raw, user) => {
    const { orderId } = args(z.object({ orderId: id }), raw);
    const order = await lockOrder(tx, orderId);
    if (order.customer_id !== user.userId && role(user) !== 'dispatcher')
      throw new SynclineError('FORBIDDEN', 'only the customer or a dispatcher cancels');
    if (order.status === 'delivered' || order.status === 'cancelled')
      throw new SynclineError('CONFLICT', `order is already ${order.status}`);
    await tx.write({ type: 'update', table: 'order', id: orderId, values: { status: 'cancelled' } });
    await history(tx, orderId, user.userId, 'cancelled', order.status, 'cancelled');
    for (const u of [order.customer_id, order.driver_id])
      if (u && u !== user.userId) await notify(tx, u, `Order "${order.title}" was cancelled`);
  }),

  defineMutator('chat.send', async (tx, raw, user) => {
    const { chatId, body } = args(z.object({ chatId: id, body: z.string().min(1).max(4000) }), raw);
    const [chat] = await tx.query<{ customer_id: string; driver_id: string | null }>(
      `SELECT customer_id, driver_id FROM chat WHERE id = $1`,
      [chatId],
    );
    if (!chat || (chat.customer_id !== user.userId && chat.driver_id !== user.userId))
      throw new SynclineError('FORBIDDEN', 'not a member of this chat');
    await tx.write({ type: 'insert', table: 'chat_message', row: { chat_id: chatId, author_id: user.userId, body } });
    const other = chat.customer_id === user.userId ? chat.driver_id : chat.customer_id;
    if (other) await notify(tx, other, body.slice(0, 80), 'chat');
  }),
];
