/**
 * When the client gives up on WebSocket, end to end:
 *   - a node restarted twice (SIGTERM, then SIGKILL) while WebSocket clients are
 *     connected: while it is down their sockets and the health probe are refused
 *     alike, which is no evidence against WebSocket, so they come back on it;
 *   - a proxy that refuses every upgrade but passes plain HTTP (SSE included):
 *     the client falls back to SSE and keeps syncing.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SynclineServer } from '../src/server.ts';
import { restartableNode } from './restartable-node.ts';
import { eventually, watchedClient, type WatchedClient } from './client-harness.ts';
import { COLLECTIONS, SCHEMA } from './fixtures.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';
import { startTestServer } from './test-server.ts';
import { testToken } from './test-token.ts';

async function connections(url: string): Promise<{ sse: number; ws: number }> {
  const res = await fetch(new URL('/v1/sync/stats', url), { headers: { Authorization: `Bearer ${testToken('x')}` } });
  return ((await res.json()) as { connections: { sse: number; ws: number } }).connections;
}

describe('WebSocket clients across node restarts', () => {
  const node = restartableNode();

  it('come back on WebSocket after the node was down twice', async () => {
    const { db, clients } = node;
    let server = await node.start();
    for (let i = 0; i < 3; i++)
      clients.push(watchedClient(server.url, [{ id: 'counter', collection: 'counters' }], undefined, 'ws'));
    await Promise.all(clients.map((c) => c.subs['counter']?.ready()));
    expect(clients.map((c) => c.client.transport)).toEqual(['ws', 'ws', 'ws']);
    expect(await connections(server.url)).toEqual({ sse: 0, ws: 3 });

    let n = 0;
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      const reconnects = clients.map((c) => c.client.stats.reconnects);
      await server.kill(signal);
      // Down long enough for several refused attempts each (backoff 100 ms to 1 s); two used to mean "blocked".
      await eventually(
        () => clients.every((c, i) => c.client.stats.reconnects >= (reconnects[i] ?? 0) + 3),
        20_000,
        `refused attempts after ${signal}`,
      );
      server = await node.restart();
      n = (await db.query<{ n: number }>('UPDATE counter SET n = n + 1 WHERE id = 1 RETURNING n')).rows[0]?.n ?? n;
      await eventually(
        () => clients.every((c) => c.client.state === 'open' && c.subs['counter']?.get('1')?.['n'] === n),
        30_000,
        `synced after ${signal}`,
      );
      expect(clients.map((c) => c.client.transport)).toEqual(['ws', 'ws', 'ws']);
      expect(await connections(server.url)).toEqual({ sse: 0, ws: 3 });
    }
    for (const c of clients) expect(c.resyncs).toBe(0);
  }, 120_000);
});

/** An HTTP proxy to `target` that answers every WebSocket upgrade with 403, as some corporate proxies do. */
async function upgradeRefusingProxy(target: string) {
  const to = new URL(target);
  const state = { upgradesRefused: 0 };
  const proxy = http.createServer((req, res) => {
    const upstream = http.request(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    res.on('close', () => upstream.destroy()); // the client went: end the upstream SSE stream too
    req.pipe(upstream);
  });
  proxy.on('upgrade', (_req, socket: import('node:stream').Duplex) => {
    state.upgradesRefused++;
    socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        proxy.closeAllConnections();
        proxy.close(() => resolve());
      }),
  };
}

describe('behind a proxy that refuses WebSocket upgrades', () => {
  let db: TestDatabase;
  let server: SynclineServer;
  let proxy: Awaited<ReturnType<typeof upgradeRefusingProxy>>;
  let c: WatchedClient | undefined;
  beforeAll(async () => {
    db = await createTestDatabase(SCHEMA);
    server = await startTestServer(db, COLLECTIONS);
    proxy = await upgradeRefusingProxy(server.url);
  });
  afterAll(async () => {
    await c?.client.close();
    await proxy?.close();
    await server?.stop();
    await db?.drop();
  });

  it('falls back to SSE through the proxy and keeps syncing', async () => {
    await db.query(`INSERT INTO item (id, status) VALUES ('p1', 'open')`);
    c = watchedClient(proxy.url, [{ id: 'all', collection: 'items_all' }], undefined, 'ws');
    await c.subs['all']?.ready();
    expect(c.client.transport).toBe('sse');
    expect(proxy.state.upgradesRefused).toBe(2);
    expect(c.subs['all']?.get('p1')).toMatchObject({ status: 'open' });
    await db.query(`INSERT INTO item (id, status) VALUES ('p2', 'open')`);
    await db.query(`UPDATE item SET status = 'done' WHERE id = 'p1'`);
    await eventually(() => c?.subs['all']?.get('p1')?.['status'] === 'done' && c.subs['all']?.get('p2') !== undefined);
    expect(await connections(server.url)).toEqual({ sse: 1, ws: 0 });
    expect(c.client.transport).toBe('sse');
  });
});
