/**
 * The demo's plain writes on orders: a dispatcher moves an order between the
 * board's columns and assigns its driver; nobody else may, and nothing leaves
 * the board that way (delivering is the driver's mutator, cancelling has its own).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SynclineServer } from '@syncline/server';
import { startDemoTestServer } from './testing/demo-test-server.ts';
import { type TestDatabase } from '../../../packages/server/test/test-database.ts';
import { DEMO_USERS } from './seed.ts';
import { demoMutate } from './testing/demo-mutate.ts';

const { dana, dmitri, alice } = DEMO_USERS;
const pending = '10000000-0000-4000-8000-000000000001';
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
const write = async (user: string, role: string, ops: object[]) => (await mutate(user, role, { ops })).status;
const row = async () =>
  (
    await db.query<{ status: string; driver_id: string | null }>(
      `SELECT status, driver_id FROM "order" WHERE id = $1`,
      [pending],
    )
  ).rows[0];

describe('plain writes on orders', () => {
  // A driver or customer gets 404: RLS (order_dispatcher_update) hides the row from their UPDATE
  // before the write rule is asked, so a refused write says no more than a missing row.
  it('a dispatcher moves and assigns; a driver or customer may not; nobody writes an order off the board', async () => {
    expect(
      await write(dana, 'dispatcher', [
        { type: 'update', table: 'order', id: pending, values: { status: 'accepted', driver_id: dmitri } },
      ]),
    ).toBe(200);
    expect(await row()).toEqual({ status: 'accepted', driver_id: dmitri });
    expect(
      await write(dmitri, 'driver', [{ type: 'set', table: 'order', id: pending, key: 'status', value: 'pending' }]),
    ).toBe(404);
    expect(
      await write(alice, 'customer', [{ type: 'set', table: 'order', id: pending, key: 'status', value: 'pending' }]),
    ).toBe(404);
    expect(
      await write(dana, 'dispatcher', [
        { type: 'set', table: 'order', id: pending, key: 'status', value: 'delivered' },
      ]),
    ).toBe(403);
    expect(await row()).toEqual({ status: 'accepted', driver_id: dmitri });
  });
});
