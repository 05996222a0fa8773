/**
 * The demo's presence rooms under its RLS: who may be in an order's room is
 * who may see the order (dispatchers any, customers and drivers their own);
 * a driver the order is taken from leaves its room at once; only drivers and
 * dispatchers are in `drivers-online`; a chat's room is its two members'.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SynclineServer } from '@syncline/server';
import { startDemoTestServer } from './testing/demo-test-server.ts';
import { type TestDatabase } from '../../../packages/server/test/test-database.ts';
import { testToken } from '../../../packages/server/test/test-token.ts';
import { WsReader, wsUrl } from '../../../packages/server/test/ws-reader.ts';
import { presenceView } from '../../../packages/server/test/presence-view.ts';
import { DEMO_USERS } from './seed.ts';

const { alice, bob, dmitri, olga, dana } = DEMO_USERS;
let db: TestDatabase;
let server: SynclineServer;
const readers: WsReader[] = [];
beforeAll(async () => {
  ({ db, server } = await startDemoTestServer({ limits: { maxConnectionsPerUser: 100, requestsPerSecond: 10_000 } }));
});
afterAll(async () => {
  for (const r of readers) r.close();
  await server?.stop();
  await db?.drop();
});

const as = async (user: string, role: string) => {
  const r = new WsReader(wsUrl(server.url, `${user}-rooms`, testToken(user, { app_role: role })));
  readers.push(r);
  await r.until((x) => x.of('hello').length === 1);
  return r;
};
const join = (r: WsReader, room: string) => r.send({ type: 'PRESENCE_SET', room, state: {} });
const refusal = (r: WsReader, room: string) => r.of('error').find((e) => e.data.room === room)?.data.code;

it('rooms follow what RLS lets each user see, and revocation is live', async () => {
  const order = (
    await db.query<{ id: string }>(`SELECT id FROM "order" WHERE customer_id = $1 AND driver_id = $2 LIMIT 1`, [
      bob,
      dmitri,
    ])
  ).rows[0]?.id as string;
  expect(order).toBeDefined();
  const room = `order:${order}`;
  const [da, al, bo, dm] = [
    await as(dana, 'dispatcher'),
    await as(alice, 'customer'),
    await as(bob, 'customer'),
    await as(dmitri, 'driver'),
  ];
  for (const r of [da, al, bo, dm]) join(r, room);
  await da.until((r) => presenceView(r, room).users.size === 3, 10_000, 'dana, bob and dmitri');
  await al.until((r) => refusal(r, room) !== undefined);
  expect(refusal(al, room)).toBe('FORBIDDEN');

  // The order goes to Olga: Dmitri may no longer see it, and leaves its room at once.
  await db.query(`UPDATE "order" SET driver_id = $2 WHERE id = $1`, [order, olga]);
  await da.until((r) => !presenceView(r, room).users.has(dmitri), 10_000, 'dmitri gone');
  await dm.until((r) => refusal(r, room) === 'FORBIDDEN');

  join(dm, 'drivers-online');
  join(da, 'drivers-online');
  join(al, 'drivers-online');
  await da.until((r) => presenceView(r, 'drivers-online').users.has(dmitri));
  await al.until((r) => refusal(r, 'drivers-online') !== undefined);
  expect(refusal(al, 'drivers-online')).toBe('FORBIDDEN');
});
