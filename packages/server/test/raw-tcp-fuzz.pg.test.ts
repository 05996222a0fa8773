/**
 * Nothing a client sends over TCP stops the node: thousands of malformed request
 * lines, headers and WebSocket upgrades, written raw (no HTTP client would send
 * them), while an SSE and a WebSocket client stay subscribed. Afterwards both
 * still receive a new row, and the process never saw an uncaught exception.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SynclineServer } from '../src/server.ts';
import { COLLECTIONS, SCHEMA } from './fixtures.ts';
import { SseReader, eventsUrl } from './sse-reader.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';
import { startTestServer } from './test-server.ts';
import { testToken } from './test-token.ts';
import { WsReader, wsUrl } from './ws-reader.ts';
import { prng } from './soak-ops.ts';

let db: TestDatabase;
let server: SynclineServer;
const uncaught: unknown[] = [];
const onUncaught = (e: unknown) => uncaught.push(e);
beforeAll(async () => {
  process.on('uncaughtException', onUncaught);
  db = await createTestDatabase(SCHEMA);
  server = await startTestServer(db, COLLECTIONS);
});
afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  await server?.stop();
  await db?.drop();
});

const TARGETS = [
  'http://[/v1/health',
  'http://[::1/v1/sync/ws',
  'http://%zz/v1/health',
  'http://a:b@[/x',
  '//[/v1/health',
  '/v1/sync/events?subscribe=%E0%A4%A',
  '/v1/sync/events?subscribe=' + encodeURIComponent('{"id":'),
  '/v1/sync/events?subscribe={"id":"x","collection":"items_all\'; DROP TABLE item; --"}',
  '/v1/sync/ws?token=%00%01',
  '/v1/mutate',
  '/v1/sync?x=' + 'a'.repeat(9000),
  '*',
  '/../../etc/passwd',
  '/v1/health#frag',
  '\u0000',
  'http://localhost:99999/v1/health',
  'https://[fe80::1%25eth0]/v1/health',
];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'G\u0000T', 'GET GET', '', 'CONNECT'];
const HEADERS = [
  'Host: [',
  'Content-Length: -1',
  'Content-Length: 99999999999999999999',
  'Content-Length: 5\r\nContent-Length: 6',
  'Transfer-Encoding: chunked\r\nContent-Length: 3',
  'Transfer-Encoding: chunked',
  'Authorization: Bearer ' + 'x'.repeat(5000),
  'Authorization: Bearer a.b.c',
  'Authorization: Basic Zm9vOmJhcg==',
  'Origin: \u00ff\u00fe',
  'Origin: http://[',
  'X-Client-Id: ' + 'z'.repeat(3000),
  'X-Client-Id: ../../../',
  'Cookie: ' + ';'.repeat(2000),
  'Bad Header Line',
  ': empty-name',
  'Last-Event-ID: 0/0',
  'Last-Event-ID: not-a-cursor\u0001',
  'Content-Type: application/json; charset=ebcdic',
];
const UPGRADE = [
  'Upgrade: websocket\r\nConnection: Upgrade',
  'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short',
  'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 99\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
  'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
  'Upgrade: h2c\r\nConnection: Upgrade',
  'Upgrade: \u0000\r\nConnection: Upgrade',
];
const BODIES = ['', '{', '{"clientId":1}', '\u0000\u0000\u0000', '0\r\n\r\n', 'zz\r\nxx\r\n', '[' + '['.repeat(5000)];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)] as T;
}

function request(r: () => number, token: string): string {
  const kind = r();
  if (kind < 0.08) {
    // Bytes that are not HTTP at all.
    return Array.from({ length: 1 + Math.floor(r() * 200) }, () => String.fromCharCode(Math.floor(r() * 256))).join('');
  }
  const target =
    r() < 0.6
      ? pick(r, TARGETS)
      : `/v1/${pick(r, ['health', 'sync/ws', 'sync/events', 'mutate', 'sync', 'sync/subscribe'])}`;
  const method = r() < 0.8 ? (target.includes('ws') ? 'GET' : pick(r, ['GET', 'POST'])) : pick(r, METHODS);
  const version = r() < 0.9 ? 'HTTP/1.1' : pick(r, ['HTTP/1.0', 'HTTP/9.9', 'HTTP/', 'FOO']);
  const lines = [`${method} ${target} ${version}`];
  if (r() < 0.9) lines.push('Host: 127.0.0.1');
  for (let i = Math.floor(r() * 4); i > 0; i--) lines.push(pick(r, HEADERS));
  if (r() < 0.3) lines.push(`Authorization: Bearer ${token}`);
  if (r() < 0.35) lines.push(pick(r, UPGRADE));
  return `${lines.join('\r\n')}\r\n\r\n${pick(r, BODIES)}`;
}

/** Writes one raw request; resolves when the server has closed or answered (or after 2 s). */
function send(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    const done = () => {
      clearTimeout(t);
      s.destroy();
      resolve(got);
    };
    const t = setTimeout(done, 2_000);
    s.on('error', done);
    s.on('close', done);
    s.on('data', (d) => {
      got += d.toString('latin1');
      // An answer's status line is all we need; streams (an accepted SSE or upgrade) are cut here.
      if (got.includes('\r\n\r\n')) done();
    });
    s.write(Buffer.from(bytes, 'latin1'));
    s.end();
  });
}

describe('raw TCP fuzz', () => {
  it('thousands of malformed request lines, headers and upgrades leave the node serving its other clients', async () => {
    const sse = new SseReader(eventsUrl(server.url, 'fuzz-sse', [{ id: 'a', collection: 'items_all' }]));
    const ws = new WsReader(wsUrl(server.url, 'fuzz-ws'), [{ id: 'a', collection: 'items_all' }]);
    const snapshotDone = (r: SseReader | WsReader) => r.of('snapshot').some((e) => e.data.done);
    await Promise.all([sse.until(snapshotDone), ws.until(snapshotDone)]);

    const seed = Number(process.env['FUZZ_SEED'] ?? 20261201);
    const r = prng(seed); // deterministic, so a failure names its seed
    const token = testToken('fuzzer');
    const answers = new Map<string, number>();
    const TOTAL = 3_000;
    const PARALLEL = 40;
    let next = 0;
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        while (next < TOTAL) {
          next++;
          const reply = await send(server.port, request(r, token));
          const status = /^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 'closed';
          answers.set(status, (answers.get(status) ?? 0) + 1);
        }
      }),
    );

    // The node never answered 500 to bad input and never threw into the process.
    expect(uncaught, `seed ${seed}`).toEqual([]);
    expect(answers.get('500') ?? 0, `seed ${seed}: ${JSON.stringify([...answers])}`).toBe(0);
    expect(answers.get('400') ?? 0).toBeGreaterThan(100);

    // The node still serves: health, and both live clients get a new row.
    const health = await fetch(new URL('/v1/health', server.url));
    expect(health.status).toBe(200);
    await db.query(`INSERT INTO item (id, status) VALUES ('after-fuzz', 'open')`);
    const gotRow = (r: SseReader | WsReader) =>
      r.of('changes').some((e) => JSON.stringify(e.data).includes('after-fuzz'));
    await Promise.all([sse.until(gotRow, 10_000, 'row over SSE'), ws.until(gotRow, 10_000, 'row over WS')]);
    expect(sse.ended).toBe(false);
    sse.close();
    ws.close();
  }, 120_000);
});
