/**
 * Who sees what, on the demo's schema with seed 000's RLS policies, over both
 * transports: tenant isolation (snapshot, live, differential sync, forged
 * params and client ids), permissions taken away live, token expiry and
 * refresh, and RLS stopping rows a too-broad filter would let through.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SynclineServer } from '@syncline/server';
import { startDemoTestServer } from './testing/demo-test-server.ts';
import { TRANSPORTS, openStream, type StreamReader } from '../../../packages/server/test/stream-reader.ts';
import { type TestDatabase } from '../../../packages/server/test/test-database.ts';
import { testToken } from '../../../packages/server/test/test-token.ts';
import { stateOf } from '../../../packages/server/test/replay-state.ts';
import { WsReader, wsUrl } from '../../../packages/server/test/ws-reader.ts';
import { SseReader, eventsUrl } from '../../../packages/server/test/sse-reader.ts';
import { eventually, watchedClient } from '../../../packages/server/test/client-harness.ts';
import { demoCollections } from './collections.ts';
import { DEMO_USERS } from './seed.ts';

const { alice, bob, dmitri, olga, dana } = DEMO_USERS;
const as = (user: string, role: string, expiresInSec = 3600) => testToken(user, { app_role: role }, expiresInSec);
const done = (id: string) => (r: StreamReader) =>
  r.of('snapshot').some((e) => e.data.subscription === id && e.data.done);
const errorFor = (r: StreamReader, id: string) => r.of('error').find((e) => e.data.subscription === id)?.data.code;

let db: TestDatabase;
let server: SynclineServer;
beforeAll(async () => {
  ({ db, server } = await startDemoTestServer({
    // A deliberately too-broad collection: no filter at all. Only RLS stands between users.
    collections: [...demoCollections, { name: 'orders_everything', table: 'order' }],
    limits: { tokenWarningSec: 2, maxConnectionsPerUser: 1_000, requestsPerSecond: 100_000 },
  }));
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

async function diffSync(token: string, subscription: object, versions: Record<string, number>) {
  const res = await fetch(new URL('/v1/sync', server.url), {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ subscription, versions }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe.each(TRANSPORTS)('access over %s', (transport) => {
  it("isolates tenants: Bob never receives Alice's rows — snapshot, live, forged params or client id", async () => {
    const bobStream = openStream(
      transport,
      server.url,
      `alice-device-${transport}`,
      [
        // Bob reuses Alice's client id: identity comes from the token, not the client id.
        { id: 'mine', collection: 'orders_my_customer' },
        { id: 'forged', collection: 'orders_my_customer', params: { customerId: alice } },
        { id: 'theirs', collection: 'chats_my' },
        { id: 'board', collection: 'orders_active' },
      ],
      as(bob, 'customer'),
    );
    await bobStream.until(
      (x) =>
        done('mine')(x) &&
        done('theirs')(x) &&
        errorFor(x, 'forged') !== undefined &&
        errorFor(x, 'board') !== undefined,
    );
    expect(errorFor(bobStream, 'forged')).toBe('BAD_REQUEST');
    expect(errorFor(bobStream, 'board')).toBe('FORBIDDEN');
    const mine = stateOf(bobStream.events, 'mine');
    const bobs = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "order" WHERE customer_id = $1`, [bob]);
    expect(mine.size).toBe(bobs.rows[0]?.n);
    for (const row of mine.values()) expect(row['customer_id']).toBe(bob);

    const a = await db.query<{ id: string }>(
      `INSERT INTO "order" (customer_id, title, address) VALUES ($1, 'alice secret', 'x') RETURNING id`,
      [alice],
    );
    await db.query(`UPDATE "order" SET title = 'alice secret 2' WHERE customer_id = $1`, [alice]);
    await db.query(`INSERT INTO "order" (customer_id, title, address) VALUES ($1, 'bob new', 'y')`, [bob]);
    await bobStream.until((x) => [...stateOf(x.events, 'mine').values()].some((r) => r['title'] === 'bob new'));
    const everything = JSON.stringify(bobStream.events);
    expect(everything).not.toContain(alice);
    expect(everything).not.toContain(a.rows[0]?.id);
    expect(everything).not.toContain('alice secret');
    bobStream.close();
  });

  it("denies a chat Bob is not in, and RLS alone stops Alice's rows when a filter is too broad", async () => {
    const chat = await db.query<{ id: string }>(`SELECT id FROM chat WHERE customer_id = $1 LIMIT 1`, [alice]);
    const r = openStream(
      transport,
      server.url,
      `bob-${transport}`,
      [
        { id: 'spy', collection: 'chat_messages', params: { chatId: chat.rows[0]?.id } },
        { id: 'broad', collection: 'orders_everything' },
      ],
      as(bob, 'customer'),
    );
    await r.until((x) => done('broad')(x) && errorFor(x, 'spy') !== undefined);
    expect(errorFor(r, 'spy')).toBe('FORBIDDEN');
    const broad = stateOf(r.events, 'broad');
    expect(broad.size).toBeGreaterThan(0);
    for (const row of broad.values()) expect(row['customer_id']).toBe(bob); // the filter allowed everything; RLS did not
    r.close();
  });

  it('takes rows away live, as deletes, when a driver leaves a chat or an order is reassigned', async () => {
    const chat = await db.query<{ id: string; order_id: string }>(
      `SELECT id, order_id FROM chat WHERE driver_id = $1 LIMIT 1`,
      [dmitri],
    );
    const chatId = chat.rows[0]?.id as string;
    await db.query(`INSERT INTO chat_message (chat_id, author_id, body) VALUES ($1, $2, 'before')`, [chatId, dmitri]);
    const order = await db.query<{ id: string }>(`SELECT id FROM "order" WHERE driver_id = $1 AND id <> $2 LIMIT 1`, [
      dmitri,
      chat.rows[0]?.order_id,
    ]);
    const r = openStream(
      transport,
      server.url,
      `dmitri-${transport}`,
      [
        { id: 'chat', collection: 'chat_messages', params: { chatId } },
        { id: 'jobs', collection: 'orders_my_driver' },
      ],
      as(dmitri, 'driver'),
    );
    await r.until((x) => done('chat')(x) && done('jobs')(x));
    const had = stateOf(r.events, 'chat');
    expect(had.size).toBeGreaterThanOrEqual(2);

    // One transaction: Dmitri is replaced by Olga, and a message follows in the same commit.
    const c = await db.pool.connect();
    await c.query('BEGIN');
    await c.query(`UPDATE chat SET driver_id = $2 WHERE id = $1`, [chatId, olga]);
    await c.query(`INSERT INTO chat_message (chat_id, author_id, body) VALUES ($1, $2, 'after dmitri left')`, [
      chatId,
      olga,
    ]);
    await c.query('COMMIT');
    c.release();
    await r.until((x) => errorFor(x, 'chat') === 'FORBIDDEN');
    expect(stateOf(r.events, 'chat').size).toBe(0);
    const deleted = r
      .of('changes')
      .flatMap((e) => e.data.changes)
      .filter((ch: { subscription: string; op: string }) => ch.subscription === 'chat' && ch.op === 'delete');
    expect(deleted.map((d: { key: string }) => d.key).sort()).toEqual([...had.keys()].sort());
    expect(JSON.stringify(r.events)).not.toContain('after dmitri left');
    await db.query(`UPDATE chat SET driver_id = $2 WHERE id = $1`, [chatId, dmitri]); // restore for the other transport

    await db.query(`UPDATE "order" SET driver_id = $2 WHERE id = $1`, [order.rows[0]?.id, olga]);
    await r.until((x) => !stateOf(x.events, 'jobs').has(order.rows[0]?.id as string));
    await db.query(`UPDATE "order" SET driver_id = $2 WHERE id = $1`, [order.rows[0]?.id, dmitri]);
    r.close();
  });

  it('answers differential sync under the same access, with a cursor that resumes live', async () => {
    const token = as(alice, 'customer');
    const r = openStream(
      transport,
      server.url,
      `alice-${transport}`,
      [{ id: 'mine', collection: 'orders_my_customer' }],
      token,
    );
    await r.until(done('mine'));
    const have = stateOf(r.events, 'mine');
    r.close();
    const [first, second, third] = [...have.keys()];
    await db.query(`UPDATE "order" SET title = 'changed' WHERE id = $1`, [first]);
    await db.query(`DELETE FROM chat_message WHERE chat_id IN (SELECT id FROM chat WHERE order_id = $1)`, [second]);
    await db.query(`DELETE FROM chat WHERE order_id = $1`, [second]);
    await db.query(`DELETE FROM "order" WHERE id = $1`, [second]);
    const fresh = await db.query<{ id: string }>(
      `INSERT INTO "order" (customer_id, title, address) VALUES ($1, 'fresh', 'z') RETURNING id`,
      [alice],
    );
    const bobsOrder = await db.query<{ id: string }>(`SELECT id FROM "order" WHERE customer_id = $1 LIMIT 1`, [bob]);
    const versions = Object.fromEntries([...have].map(([k, row]) => [k, Number(row['version'])]));
    versions[bobsOrder.rows[0]?.id as string] = 1; // pretending to have Bob's row reveals nothing
    const d = await diffSync(token, { id: 'mine', collection: 'orders_my_customer' }, versions);
    expect(d.status).toBe(200);
    expect(d.body['new'].map((x: { key: string }) => x.key)).toEqual([fresh.rows[0]?.id]);
    expect(d.body['updated'].map((x: { key: string }) => x.key)).toEqual([first]);
    expect(d.body['removed'].sort()).toEqual([second, bobsOrder.rows[0]?.id].sort());
    expect(d.body['unchanged']).toContain(third);
    expect(JSON.stringify(d.body)).not.toContain(bob);

    // The answer's cursor resumes the subscription: later changes arrive live.
    const resumed = openStream(
      transport,
      server.url,
      `alice2-${transport}`,
      [{ id: 'mine', collection: 'orders_my_customer', cursor: d.body['cursor'] }],
      token,
    );
    await resumed.until((x) => x.of('hello').length === 1);
    await db.query(`UPDATE "order" SET title = 'after diff' WHERE id = $1`, [first]);
    await resumed.until((x) =>
      x
        .of('changes')
        .some((e) => e.data.changes.some((c: { row: { title?: string } | null }) => c.row?.title === 'after diff')),
    );
    resumed.close();

    const denied = await diffSync(
      as(bob, 'customer'),
      {
        id: 'x',
        collection: 'chat_messages',
        params: { chatId: (await db.query(`SELECT id FROM chat WHERE customer_id = $1 LIMIT 1`, [alice])).rows[0]?.id },
      },
      {},
    );
    expect(denied.status).toBe(403);
    const broad = await diffSync(as(bob, 'customer'), { id: 'b', collection: 'orders_everything' }, {});
    for (const row of broad.body['new']) expect(row.row.customer_id).toBe(bob);
  });
});

describe('token lifetime', () => {
  it('WebSocket: warns before expiry, and TOKEN_REFRESH keeps the stream alive', async () => {
    const r = new WsReader(wsUrl(server.url, 'refresher', as(dana, 'dispatcher', 3)), [
      { id: 'board', collection: 'orders_active' },
    ]);
    await r.until((x) => x.of('token_expiring_soon').length === 1, 5_000);
    expect(r.of('token_expiring_soon')[0]?.data['expiresIn']).toBeLessThanOrEqual(2);
    r.send({ type: 'TOKEN_REFRESH', token: as(dana, 'dispatcher', 3600) });
    await new Promise((res) => setTimeout(res, 3_000)); // past the first token's exp
    await db.query(
      `UPDATE "order" SET title = 'still live' WHERE status = 'pending' AND id = (SELECT id FROM "order" WHERE status = 'pending' LIMIT 1)`,
    );
    await r.until((x) => x.of('changes').length > 0);
    expect(r.of('error')).toEqual([]);
    r.close();
  });

  it('WebSocket and SSE: an expired token ends the stream with AUTH_FAILED', async () => {
    const ws = new WsReader(wsUrl(server.url, 'expiring', as(dana, 'dispatcher', 2)));
    await ws.closed(8_000);
    expect(ws.of('error').map((e) => e.data.code)).toEqual(['AUTH_FAILED']);
    const sse = new SseReader(eventsUrl(server.url, 'expiring-sse', [], { token: as(dana, 'dispatcher', 2) }));
    await sse.done;
    expect(sse.of('error').map((e) => e.data.code)).toEqual(['AUTH_FAILED']);
  });

  it('SSE with the real client: an expired token ends the stream, and a token function reconnects and resumes', async () => {
    let minted = 0;
    const c = watchedClient(server.url, [{ id: 'notes', collection: 'user_notifications' }], () => {
      minted++;
      return as(alice, 'customer', 2);
    });
    await c.subs['notes']?.ready();
    await new Promise((res) => setTimeout(res, 3_000)); // past the first token's exp: AUTH_FAILED, reconnect
    const n = await db.query<{ id: string }>(
      `INSERT INTO notification (user_id, kind, body) VALUES ($1, 'x', 'after expiry') RETURNING id`,
      [alice],
    );
    await eventually(
      () => c.subs['notes']?.get(n.rows[0]?.id as string) !== undefined,
      10_000,
      'change after reconnect',
    );
    expect(minted).toBeGreaterThanOrEqual(2);
    expect(c.client.state).not.toBe('closed');
    await c.client.close();
  });

  it('a refresh that narrows access revokes what is no longer allowed, and a token for another user is refused', async () => {
    const r = new WsReader(wsUrl(server.url, 'narrowed', as(dana, 'dispatcher')), [
      { id: 'board', collection: 'orders_active' },
      { id: 'notes', collection: 'user_notifications' },
    ]);
    await r.until((x) => done('board')(x as StreamReader) && done('notes')(x as StreamReader));
    expect(stateOf(r.events, 'board').size).toBeGreaterThan(0);
    r.send({ type: 'TOKEN_REFRESH', token: as(dana, 'customer') });
    await r.until((x) => errorFor(x as StreamReader, 'board') === 'FORBIDDEN');
    expect(stateOf(r.events, 'board').size).toBe(0); // deleted on the client
    expect(errorFor(r as StreamReader, 'notes')).toBeUndefined(); // still allowed, still live
    r.send({ type: 'TOKEN_REFRESH', token: as(alice, 'dispatcher') });
    await r.closed();
    expect(r.of('error').at(-1)?.data.code).toBe('AUTH_FAILED');
  });
});
