/**
 * The demo's business actions: each commits the order change, its history and
 * the notifications together, and other clients get them as one message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SynclineServer } from '@syncline/server';
import { startDemoTestServer } from './testing/demo-test-server.ts';
import { type TestDatabase } from '../../../packages/server/test/test-database.ts';
import { testToken } from '../../../packages/server/test/test-token.ts';
import { SseReader, eventsUrl } from '../../../packages/server/test/sse-reader.ts';
import { DEMO_USERS } from './seed.ts';
import { demoMutate } from './testing/demo-mutate.ts';

const { alice, dmitri, olga } = DEMO_USERS;
let db: TestDatabase;
let server: SynclineServer;
beforeAll(async () => {
  ({ db, server } = await startDemoTestServer());
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

const mutate = demoMutate(() => server);
async function call(user: string, role: string, body: object) {
  const r = await mutate(user, role, body);
  return { status: r.status, body: r.body as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe('demo mutators', () => {
  it('orders.accept: order, chat, history and the customer’s notification in one transaction, one message', async () => {
    const customer = new SseReader(
      eventsUrl(
        server.url,
        'alice-phone',
        [
          { id: 'orders', collection: 'orders_my_customer' },
          { id: 'inbox', collection: 'user_notifications' },
        ],
        { token: testToken(alice, { app_role: 'customer' }) },
      ),
    );
    await customer.until((x) => x.of('snapshot').filter((e) => e.data.done).length === 2);
    const pending = await db.query<{ id: string }>(
      `SELECT id FROM "order" WHERE status = 'pending' AND customer_id = $1 LIMIT 1`,
      [alice],
    );
    const orderId = pending.rows[0]?.id as string;

    const r = await call(olga, 'driver', { mutator: 'orders.accept', args: { orderId } });
    expect(r.status).toBe(200);
    expect(r.body.rows.at(-1)).toMatchObject({
      table: 'public.order',
      key: orderId,
      row: { status: 'accepted', driver_id: olga },
    });
    await customer.until((x) => x.of('changes').length >= 1);
    const msg = customer.of('changes')[0]?.data;
    expect(msg.mutations).toEqual([{ clientId: `${olga}-device`, mutationId: 1 }]);
    const kinds = msg.changes.map((c: { subscription: string; op: string }) => `${c.subscription}:${c.op}`).sort();
    // accept updates the order twice (status, then updated_at): both, and the notification, in one message
    expect(kinds).toEqual(['inbox:insert', 'orders:update', 'orders:update']);
    expect((await db.query(`SELECT action FROM order_history WHERE order_id = $1`, [orderId])).rows).toEqual([
      { action: 'accepted' },
    ]);

    const late = await call(dmitri, 'driver', { mutator: 'orders.accept', args: { orderId } });
    expect(late).toMatchObject({ status: 409, body: { error: { code: 'CONFLICT' } } });
    const notDriver = await call(alice, 'customer', { mutator: 'orders.accept', args: { orderId } });
    expect(notDriver.status).toBe(403);
    const badArgs = await call(olga, 'driver', {
      mutator: 'orders.accept',
      args: { orderId: '\'; DROP TABLE "order"; --' },
    });
    expect(badArgs.status).toBe(400);
    const unknown = await call(olga, 'driver', { mutator: 'orders.explode', args: {} });
    expect(unknown.status).toBe(400);
    customer.close();
  });

  it('orders.create, updateStatus, cancel and chat.send keep their rules', async () => {
    const created = await call(alice, 'customer', {
      mutator: 'orders.create',
      args: { title: 'Tea', address: '1 Main St', total: '4.50' },
    });
    expect(created.status).toBe(200);
    const orderId = created.body.rows[0].key as string;
    expect((await call(olga, 'driver', { mutator: 'orders.accept', args: { orderId } })).status).toBe(200);
    expect(
      (await call(dmitri, 'driver', { mutator: 'orders.updateStatus', args: { orderId, status: 'in_progress' } }))
        .status,
    ).toBe(403);
    expect(
      (await call(olga, 'driver', { mutator: 'orders.updateStatus', args: { orderId, status: 'delivered' } })).status,
    ).toBe(409);
    expect(
      (await call(olga, 'driver', { mutator: 'orders.updateStatus', args: { orderId, status: 'in_progress' } })).status,
    ).toBe(200);
    const chat = await db.query<{ id: string }>(`SELECT id FROM chat WHERE order_id = $1`, [orderId]);
    expect(
      (await call(alice, 'customer', { mutator: 'chat.send', args: { chatId: chat.rows[0]?.id, body: 'Ring twice' } }))
        .status,
    ).toBe(200);
    expect(
      (await call(dmitri, 'driver', { mutator: 'chat.send', args: { chatId: chat.rows[0]?.id, body: 'hi' } })).status,
    ).toBe(403);
    expect((await call(alice, 'customer', { mutator: 'orders.cancel', args: { orderId } })).status).toBe(200);
    const actions = await db.query(`SELECT action FROM order_history WHERE order_id = $1 ORDER BY created_at`, [
      orderId,
    ]);
    expect(actions.rows.map((r) => r['action'])).toEqual(['created', 'accepted', 'status', 'cancelled']);
  });

  it('a plain write: users mark their own notifications read, not anyone else’s (write rule and RLS)', async () => {
    const mine = await db.query<{ id: string }>(`SELECT id FROM notification WHERE user_id = $1 LIMIT 1`, [alice]);
    const theirs = await db.query<{ id: string }>(`SELECT id FROM notification WHERE user_id <> $1 LIMIT 1`, [alice]);
    const ok = await call(alice, 'customer', {
      ops: [{ type: 'set', table: 'notification', id: mine.rows[0]?.id, key: 'read', value: true }],
    });
    expect(ok.status).toBe(200);
    const no = await call(alice, 'customer', {
      ops: [{ type: 'set', table: 'notification', id: theirs.rows[0]?.id, key: 'read', value: true }],
    });
    expect([403, 404]).toContain(no.status); // the rule refuses it; RLS does not even show it
    const body = await call(alice, 'customer', {
      ops: [{ type: 'set', table: 'notification', id: mine.rows[0]?.id, key: 'body', value: 'forged' }],
    });
    expect(body.status).toBe(403);
  });

  it('orders.create takes the id the client made (its prediction’s row); a taken or malformed id changes nothing', async () => {
    const id = '20000000-0000-4000-8000-000000000001';
    const args = { id, title: 'Kettle', address: '2 Tea St', total: '30.00' };
    const ok = await call(alice, 'customer', { mutator: 'orders.create', args });
    expect(ok.status).toBe(200);
    expect(ok.body.rows[0]).toMatchObject({ key: id, row: { id, title: 'Kettle', customer_id: alice } });
    const again = await call(alice, 'customer', { mutator: 'orders.create', args: { ...args, title: 'Second' } });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('CONFLICT');
    const bad = await call(alice, 'customer', { mutator: 'orders.create', args: { ...args, id: "1'; DROP TABLE x" } });
    expect(bad.status).toBe(400);
    const rows = await db.query(`SELECT title FROM "order" WHERE id = $1 OR title = 'Second'`, [id]);
    expect(rows.rows).toEqual([{ title: 'Kettle' }]);
  });
});
