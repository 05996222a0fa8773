/**
 * Per-connection send buffers are bounded: a client that stops reading is told
 * to resync and dropped, while a large snapshot to a client that does read is
 * not mistaken for a slow consumer.
 */
import http from 'node:http';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SynclineServer } from '../src/server.ts';
import { eventually } from './client-harness.ts';
import { COLLECTIONS, SCHEMA } from './fixtures.ts';
import { SseReader, eventsUrl } from './sse-reader.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';
import { startTestServer } from './test-server.ts';
import { testToken } from './test-token.ts';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

let db: TestDatabase;
let server: SynclineServer;
beforeAll(async () => {
  db = await createTestDatabase(SCHEMA);
  server = await startTestServer(db, COLLECTIONS, {
    limits: { maxBufferedBytes: 4 * 1024 * 1024, logBytes: 8 * 1024 * 1024 },
  });
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
  // SSE says `subscribed` too, before the snapshot (from then on an ack covers the subscription).
  const names = r.events.map((e) => e.event);
  expect(names.indexOf('subscribed')).toBeGreaterThan(names.indexOf('hello'));
  expect(names.indexOf('subscribed')).toBeLessThan(names.indexOf('snapshot'));
  expect(r.of('subscribed')[0]?.data).toEqual({ id: 'notes', table: 'public.note', count: 1 });
  r.close();
  await db.query('DELETE FROM note');
});

it('drops a client that stops reading while 50 MB of changes are produced: heap stays bounded, it gets RESYNC, others keep up', async () => {
  const url = eventsUrl(server.url, 'stalled', [{ id: 'all', collection: 'items_all' }]);
  const res = await new Promise<http.IncomingMessage>((resolve) => http.get(url, resolve));
  let received = '';
  res.once('data', (chunk: Buffer) => {
    received += chunk.toString();
    res.pause(); // stop reading: the kernel buffers fill, then the server's
  });
  // The bystander only counts whole events: it must not hold 50 MB itself, or it would be what we measure.
  const fastCounts = { changes: 0, resync: 0 };
  let pending = '';
  const fastRes = await new Promise<http.IncomingMessage>((resolve) =>
    http.get(eventsUrl(server.url, 'fast', [{ id: 'all', collection: 'items_all' }]), resolve),
  );
  fastRes.on('data', (c: Buffer) => {
    const blocks = (pending + c.toString('latin1')).split('\n\n');
    pending = blocks.pop() ?? '';
    for (const b of blocks) {
      if (b.startsWith('event: changes')) fastCounts.changes++;
      if (b.startsWith('event: resync')) fastCounts.resync++;
    }
  });
  await eventually(async () => (await sseCount()) === 2, 10_000, 'both connected');

  // Retained memory, not garbage awaiting collection: measure after a full GC.
  const heap = () => {
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const before = heap();
  let peak = before;
  const row = 'y'.repeat(25_000);
  const transactions = 200; // 10 rows × 25 KB each: 50 MB of row text through the server
  for (let i = 0; i < transactions; i++) {
    // The bystander keeps up by definition: the producer never runs more than a few
    // transactions (~1 MB) ahead of it. The stalled client reads nothing and falls behind.
    await eventually(() => fastCounts.changes >= i - 4 || fastCounts.resync > 0, 30_000, `bystander at ${i - 4}`);
    await db.query(
      `INSERT INTO item (id, status, body) SELECT 'bp' || $1 || '-' || g, 'open', $2 FROM generate_series(1, 10) g`,
      [i, row],
    );
    if (i % 20 === 19) peak = Math.max(peak, heap());
  }
  await eventually(() => fastCounts.changes >= transactions, 30_000, 'the fast client got every transaction');
  expect(fastCounts.resync).toBe(0);
  peak = Math.max(peak, heap());
  await eventually(async () => (await sseCount()) === 1, 20_000, 'the stalled connection to be dropped');
  // Bounded by configuration (4 MB send buffer, 8 MB resume log), not by what was produced.
  const grewMb = (peak - before) / 2 ** 20;
  console.log(`retained heap grew at most ${grewMb.toFixed(1)} MB while 50 MB went through`);
  expect(grewMb).toBeLessThan(40);

  res.resume();
  const tail = await new Promise<string>((resolve) => {
    let rest = '';
    res.on('data', (c: Buffer) => (rest += c.toString()));
    res.on('end', () => resolve(rest));
    res.on('error', () => resolve(rest));
  });
  expect(received + tail).toContain('event: resync\ndata: {"subscription":"all","reason":"buffer-overflow"}');
  fastRes.destroy();
}, 120_000);
