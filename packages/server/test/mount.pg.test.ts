/**
 * Syncline mounted into an app's own server, on its one port: plain node:http (with `handle` /
 * `handleUpgrade`, and with `attach`), Express and Hono. Each app keeps its own route, its own
 * 404 and its own WebSocket route; Syncline serves /v1 beside them, and `stop()` leaves the app up.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { serve, type HttpBindings } from '@hono/node-server';
import express from 'express';
import { Hono } from 'hono';
import WebSocket, { WebSocketServer } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synclineExpress } from '../src/express.ts';
import { synclineHono } from '../src/hono.ts';
import { createSyncline, type Syncline } from '../src/mount.ts';
import { COLLECTIONS, SCHEMA } from './fixtures.ts';
import { SseReader, eventsUrl } from './sse-reader.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';
import { testOptions } from './test-server.ts';
import { testToken } from './test-token.ts';
import { WsReader, wsUrl } from './ws-reader.ts';

/** The app's own WebSocket route, `/app/ws` (an echo); it leaves every other upgrade alone. */
function appUpgrade(): (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void {
  const wss = new WebSocketServer({ noServer: true });
  return (req, socket, head) => {
    if (req.url !== '/app/ws') return;
    wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (m) => ws.send(`echo ${m.toString()}`)));
  };
}

/** The app's own routes in plain node:http. */
const nodeApp: http.RequestListener = (req, res) => {
  if (req.url === '/hello') return void res.end('hello from the app');
  res.writeHead(404).end('app: not found');
};

/** Builds the app around Syncline as its snippet in the README does, listening on a free port. */
type Setup = (syncline: Syncline) => http.Server;

const setups: Record<string, Setup> = {
  'node:http with handle and handleUpgrade': (syncline) => {
    const server = http.createServer((req, res) => syncline.handle(req, res, () => nodeApp(req, res)));
    const app = appUpgrade();
    server.on('upgrade', (req, socket, head) => {
      if (!syncline.handleUpgrade(req, socket, head)) app(req, socket, head);
    });
    return server.listen(0, '127.0.0.1');
  },
  'node:http with attach': (syncline) => {
    const server = syncline.attach(http.createServer(nodeApp)).listen(0, '127.0.0.1');
    server.on('upgrade', appUpgrade());
    return server;
  },
  Express: (syncline) => {
    const app = express();
    app.use(synclineExpress(syncline));
    app.use(express.json());
    app.get('/hello', (_req, res) => void res.send('hello from the app'));
    app.use((_req, res) => void res.status(404).send('app: not found'));
    const server = app.listen(0, '127.0.0.1').on('upgrade', syncline.handleUpgrade);
    server.on('upgrade', appUpgrade());
    return server;
  },
  Hono: (syncline) => {
    const app = new Hono<{ Bindings: HttpBindings }>();
    app.get('/hello', (c) => c.text('hello from the app'));
    app.all('/v1/*', synclineHono(syncline));
    app.get('/metrics', synclineHono(syncline));
    app.notFound((c) => c.text('app: not found', 404));
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }).on(
      'upgrade',
      syncline.handleUpgrade,
    ) as http.Server;
    server.on('upgrade', appUpgrade());
    return server;
  },
};

const subs = [{ id: 'all', collection: 'items_all' }];
const snapshotDone = (r: SseReader | WsReader) =>
  r.of('snapshot').some((e) => e.data.subscription === 'all' && e.data.done);
const sawKey = (key: string) => (r: SseReader | WsReader) =>
  r.of('changes').some((e) => e.data.changes.some((ch: { key: string }) => ch.key === key));

/** Opens the app's WebSocket route and returns its answer to one message. */
function echo(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(new URL('/app/ws', url.replace(/^http/, 'ws')));
    ws.on('error', reject);
    ws.on('open', () => ws.send('hi'));
    ws.on('message', (m) => {
      resolve(m.toString());
      ws.close();
    });
  });
}

describe.each(Object.entries(setups))('mounted into %s', (_name, setup) => {
  let db: TestDatabase;
  let syncline: Syncline;
  let server: http.Server;
  let url: string;

  beforeAll(async () => {
    db = await createTestDatabase(SCHEMA);
    syncline = await createSyncline(
      testOptions(db, COLLECTIONS, { writes: { item: { columns: ['id', 'status', 'owner'], insert: true } } }),
    );
    server = setup(syncline);
    await new Promise<void>((r) => (server.listening ? r() : server.once('listening', () => r())));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await syncline?.stop();
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await db?.drop();
  });

  it("answers the app's own route, and the app's 404 for a path that is not Syncline's", async () => {
    const hello = await fetch(new URL('/hello', url));
    expect([hello.status, await hello.text()]).toEqual([200, 'hello from the app']);
    const other = await fetch(new URL('/nope', url));
    expect([other.status, await other.text()]).toEqual([404, 'app: not found']);
  });

  it("answers an unknown /v1 path with Syncline's JSON 404", async () => {
    const res = await fetch(new URL('/v1/nope', url));
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  it('serves /metrics', async () => {
    const res = await fetch(new URL('/metrics', url));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('syncline_build_info');
  });

  it('streams a snapshot and then a live change from a SQL write over SSE', async () => {
    const r = new SseReader(eventsUrl(url, 'sse-client', subs));
    await r.until(snapshotDone, 10_000, 'snapshot');
    await db.query(`INSERT INTO item (id, status) VALUES ('sse1', 'open')`);
    await r.until(sawKey('sse1'), 10_000, 'the change');
    r.close();
  });

  it('streams over WebSocket on the same port, beside the app’s own WebSocket route', async () => {
    const r = new WsReader(wsUrl(url, 'ws-client'), subs);
    await r.until(snapshotDone, 10_000, 'snapshot');
    await db.query(`INSERT INTO item (id, status) VALUES ('ws1', 'open')`);
    await r.until(sawKey('ws1'), 10_000, 'the change');
    r.ws.close();
    await r.closed();
    expect(await echo(url)).toBe('echo hi');
  });

  it('applies a POST /v1/mutate', async () => {
    const res = await fetch(new URL('/v1/mutate', url), {
      method: 'POST',
      headers: { Authorization: `Bearer ${testToken('ann')}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        clientId: 'writer',
        mutationId: 1,
        ops: [{ type: 'insert', table: 'item', row: { id: 'm1', status: 'open', owner: 'ann' } }],
      }),
    });
    expect(res.status).toBe(200);
    expect((await db.query(`SELECT owner FROM item WHERE id = 'm1'`)).rows).toEqual([{ owner: 'ann' }]);
  });

  it('stop() ends its streams and leaves the app serving', async () => {
    const r = new SseReader(eventsUrl(url, 'sse-at-stop', subs));
    await r.until(snapshotDone, 10_000, 'snapshot');
    await syncline.stop();
    await r.done;
    expect(server.listening).toBe(true);
    const hello = await fetch(new URL('/hello', url));
    expect([hello.status, await hello.text()]).toEqual([200, 'hello from the app']);
    const health = await fetch(new URL('/v1/health', url));
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ error: { retryable: true } });
    expect(await echo(url)).toBe('echo hi');
  });
});
