/**
 * The client's presence API against a real node (as its own process, so it
 * can be killed): `client.presence(room, params, state)` over WebSocket and
 * over SSE, members and updates, broadcasts, and a rejoin by itself after the
 * node dies and comes back.
 */
import { SyncClient, type PresenceRoom, type WebSocketConstructor } from '@syncline/client';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChildServer, type ChildServer } from './child-server.ts';
import { eventually } from './client-harness.ts';
import { COLLECTIONS, SCHEMA } from './fixtures.ts';
import { freePort } from './free-port.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';
import { testToken } from './test-token.ts';

describe('client presence', () => {
  let db: TestDatabase;
  let server: ChildServer;
  let port: number;
  const clients: SyncClient[] = [];
  const start = () =>
    startChildServer({
      databaseUrl: db.url,
      port,
      slot: db.slot,
      collections: COLLECTIONS,
      extra: { rooms: [{ name: 'order:{orderId}' }], limits: { maxConnectionsPerUser: 100, requestsPerSecond: 1_000 } },
    });
  beforeAll(async () => {
    db = await createTestDatabase(SCHEMA);
    port = await freePort();
    server = await start();
  }, 60_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server?.kill();
    await db?.drop();
  });

  const client = (user: string, transport: 'ws' | 'sse') => {
    const c = new SyncClient({
      url: server.url,
      token: () => testToken(user),
      transport,
      backoff: { baseMs: 100, maxMs: 500 },
      WebSocket: WebSocket as unknown as WebSocketConstructor,
    });
    clients.push(c);
    return c;
  };
  const users = (r: PresenceRoom) =>
    r
      .members()
      .map((m) => m.user)
      .sort()
      .join();

  it('members, updates and broadcasts over WebSocket and SSE; a rejoin after the node comes back', async () => {
    const ann = client('ann', 'ws');
    const ben = client('ben', 'sse');
    // ann also subscribes; ben's room alone opens his connection.
    ann.subscribe({ id: 'c', collection: 'counters' });
    const a = ann.presence('order:{orderId}', { orderId: 7 }, { viewing: true });
    const b = ben.presence('order:{orderId}', { orderId: 7 }, { viewing: true });
    expect(a.room).toBe('order:7');
    await eventually(() => users(a) === 'ann,ben' && users(b) === 'ann,ben', 10_000, 'both see both');

    b.set({ viewing: true, typing: true });
    await eventually(
      () => a.members().find((m) => m.user === 'ben')?.metas[0]?.state?.['typing' as never] === true,
      10_000,
      'ben typing',
    );
    const heard: unknown[] = [];
    b.on('broadcast', (e) => heard.push(e));
    a.broadcast('cursor', { x: 1 });
    await eventually(() => heard.length === 1, 10_000, 'a broadcast');
    expect(heard[0]).toEqual({ from: 'ann', event: 'cursor', payload: { x: 1 } });

    // The node dies with everyone's presence; both clients rejoin by themselves when it is back.
    await server.kill('SIGKILL');
    server = await start();
    await eventually(() => users(a) === 'ann,ben' && users(b) === 'ann,ben', 20_000, 'rejoined');

    const errors: string[] = [];
    const big = ann.presence('order:{orderId}', { orderId: 8 }, { note: 'x'.repeat(5_000) });
    big.on('error', (e) => errors.push(e.code));
    await eventually(() => errors.length === 1, 10_000, 'refused');
    expect(errors).toEqual(['TOO_LARGE']);

    b.leave();
    await eventually(() => users(a) === 'ann', 10_000, 'ben left');
    expect(() => ann.presence('order:{orderId}')).toThrow(/needs param "orderId"/);
  }, 60_000);
});
