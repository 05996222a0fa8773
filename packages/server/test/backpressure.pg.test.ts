/**
 * Per-connection send buffers are bounded: a client that stops reading is told
 * to resync and dropped, while a large snapshot to a client that does read is
 * not mistaken for a slow consumer.
 */
import http from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SynclineServer } from '../src/server.ts';
import { eventually } from './client-harness.ts';
import { COLLECTIONS, SCHEMA } from './fixtures.ts';
import { SseReader, eventsUrl } from './sse-reader.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';
import { startTestServer } from './test-server.ts';
import { testToken } from './test-token.ts';

let db: TestDatabase;
let server: SynclineServer;
beforeAll(async () => {
  db = await createTestDatabase(SCHEMA);
  server = await startTestServer(db, COLLECTIONS, { limits: { maxBufferedBytes: 64 * 1024 } });
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

const sseCount = async () => {
  const res = await fetch(new URL('/v1/sync/stats', server.url), {
    headers: { Authorization: `Bearer ${testToken('test-user')}` },
  });
  return ((await res.json()) as { connections: { sse: number } }).connections.sse;
};

it('delivers a snapshot far larger than the send-buffer bound', async () => {
  await db.query(`INSERT INTO note (item_id, body) SELECT 'bulk', repeat('n', 400) FROM generate_series(1, 3000) g`); // ~1.3 MB
  const r = new SseReader(eventsUrl(server.url, 'big-snap', [{ id: 'notes', collection: 'notes' }]));
  await r.until((x) => x.of('snapshot').some((e) => e.data.done), 20_000);
  expect(r.of('snapshot').flatMap((e) => e.data.rows)).toHaveLength(3000);
  expect(r.of('error')).toEqual([]);
  r.close();
  await db.query('DELETE FROM note');
});

it('drops a client that stops reading, with MUST_RESYNC, instead of buffering without bound', async () => {
  const url = eventsUrl(server.url, 'stalled', [{ id: 'all', collection: 'items_all' }]);
  let received = '';
  const res = await new Promise<http.IncomingMessage>((resolve) => http.get(url, resolve));
  res.once('data', (chunk: Buffer) => {
    received += chunk.toString();
    res.pause(); // stop reading: the kernel buffers fill, then the server's
  });
  await eventually(async () => (await sseCount()) === 1, 10_000, 'connected');
  const big = 'x'.repeat(20_000);
  for (let i = 0; i < 400 && (await sseCount()) > 0; i++) {
    await db.query(`INSERT INTO item (id, status, body) VALUES ($1, 'open', $2)`, [`bp${i}`, big]);
  }
  await eventually(async () => (await sseCount()) === 0, 20_000, 'the stalled connection to be dropped');
  res.resume();
  const tail = await new Promise<string>((resolve) => {
    let rest = '';
    res.on('data', (c: Buffer) => (rest += c.toString()));
    res.on('end', () => resolve(rest));
    res.on('error', () => resolve(rest));
  });
  expect(received + tail).toContain('"code":"MUST_RESYNC"');
}, 60_000);
