/**
 * The real client over WebSocket against the real server: snapshot and live
 * changes, resync, resume by cursor after the connection drops, token refresh
 * before expiry, and falling back to SSE where WebSocket is blocked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyncClient, type WebSocketConstructor } from '@syncline/client';
import type { SynclineServer } from '../src/server.ts';
import { eventually, watchedClient, type WatchedClient } from './client-harness.ts';
import { COLLECTIONS, SCHEMA } from './fixtures.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';
import { startTestServer } from './test-server.ts';
import { testToken } from './test-token.ts';

let db: TestDatabase;
let server: SynclineServer;
const clients: WatchedClient[] = [];
beforeAll(async () => {
  db = await createTestDatabase(SCHEMA);
  await db.query(`INSERT INTO counter (id, n) VALUES (1, 0)`);
  server = await startTestServer(db, COLLECTIONS, { limits: { tokenWarningSec: 2 } });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.client.close()));
  await server?.stop();
  await db?.drop();
});

function wsClient(subs: Array<{ id: string; collection: string }>, token?: () => string): WatchedClient {
  const c = watchedClient(server.url, subs, token, 'ws');
  clients.push(c);
  return c;
}

describe('SyncClient over WebSocket', () => {
  it('gets the snapshot and live changes, one transaction at a time', async () => {
    await db.query(`INSERT INTO item (id, status) VALUES ('ws1', 'open')`);
    const c = wsClient([{ id: 'all', collection: 'items_all' }]);
    await c.subs['all']?.ready();
    expect(c.client.transport).toBe('ws');
    expect(c.subs['all']?.get('ws1')).toMatchObject({ status: 'open' });
    const conn = db.pool;
    await conn.query(`INSERT INTO item (id, status) VALUES ('ws2', 'open')`);
    await conn.query(`UPDATE item SET status = 'done' WHERE id = 'ws1'`);
    await eventually(() => c.subs['all']?.get('ws1')?.['status'] === 'done' && c.subs['all']?.get('ws2') !== undefined);
    expect(new Set(c.applied).size).toBe(c.applied.length);
    expect(
      (await fetch(new URL('/v1/sync/stats', server.url), {
        headers: { Authorization: `Bearer ${testToken('x')}` },
      }).then((r) => r.json())) as unknown,
    ).toMatchObject({
      connections: { ws: 1 },
    });
  });

  it('resyncs after TRUNCATE and resumes from its cursor after the connection drops', async () => {
    const c = wsClient([{ id: 'count', collection: 'counters' }]);
    await c.subs['count']?.ready();
    await db.query('UPDATE counter SET n = 1 WHERE id = 1');
    await eventually(() => c.subs['count']?.get('1')?.['n'] === 1);
    // Drop every stream server-side (as a node restart would): the client reconnects and resumes.
    const before = c.resyncs;
    await db.query('UPDATE counter SET n = 2 WHERE id = 1');
    await eventually(() => c.subs['count']?.get('1')?.['n'] === 2);
    const stats0 = c.client.stats.connects;
    // Close every stream from the server side (as a node restart would), keeping the server.
    for (const s of [
      ...(server.router as unknown as { byClient: Map<string, Set<{ close(): void }>> }).byClient.values(),
    ])
      for (const conn of s) conn.close();
    await db.query('UPDATE counter SET n = 3 WHERE id = 1'); // while reconnecting
    await eventually(
      () => c.client.stats.connects > stats0 && c.subs['count']?.get('1')?.['n'] === 3,
      15_000,
      'resumed',
    );
    expect(c.resyncs).toBe(before); // resumed by cursor, no resync
    await db.query('TRUNCATE counter');
    await eventually(() => c.resyncs > before && c.subs['count']?.rows().length === 0, 10_000, 'resynced empty');
    await db.query(`INSERT INTO counter (id, n) VALUES (1, 10)`);
    await eventually(() => c.subs['count']?.get('1')?.['n'] === 10);
  });

  it('refreshes its token on TOKEN_EXPIRING_SOON and keeps the stream past the first expiry', async () => {
    let minted = 0;
    const c = wsClient([{ id: 'notes', collection: 'notes' }], () => {
      minted++;
      return testToken('refresher', {}, 3);
    });
    await c.subs['notes']?.ready();
    const connects = c.client.stats.connects;
    await new Promise((r) => setTimeout(r, 4_000));
    await db.query(`INSERT INTO note (body) VALUES ('after refresh')`);
    await eventually(() => c.subs['notes']?.rows().some((r) => r['body'] === 'after refresh') === true);
    expect(minted).toBeGreaterThanOrEqual(2);
    expect(c.client.stats.connects).toBe(connects); // same connection: refreshed in place
  });

  it('falls back to SSE when WebSocket cannot connect', async () => {
    class Blocked {
      readyState = 3;
      onopen: ((ev: unknown) => void) | null = null;
      onmessage: ((ev: { data: unknown }) => void) | null = null;
      onclose: ((ev: { code: number; reason: string }) => void) | null = null;
      onerror: ((ev: unknown) => void) | null = null;
      constructor() {
        setTimeout(() => this.onclose?.({ code: 1006, reason: 'blocked' }), 5);
      }
      send(): void {}
      close(): void {}
    }
    const client = new SyncClient({
      url: server.url,
      token: () => testToken('behind-proxy'),
      transport: 'ws',
      WebSocket: Blocked as unknown as WebSocketConstructor,
      backoff: { baseMs: 20, maxMs: 50 },
    });
    const sub = client.subscribe({ id: 'all', collection: 'items_all' });
    await sub.ready();
    expect(client.transport).toBe('sse');
    await client.close();
  });
});
