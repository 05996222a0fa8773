/**
 * Reload: a new client instance on the same IndexedDB shows the data with the
 * server unreachable, then resumes from the stored cursor and transfers only
 * the delta — asserted on the bytes received.
 */
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { IdbLocalStore, SyncClient } from '@syncline/client';
import { wireTypes } from '../src/capture/pg-values.ts';
import type { SynclineServer } from '../src/server.ts';
import { eventually } from './client-harness.ts';
import { COLLECTIONS, SCHEMA } from './fixtures.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';
import { startTestServer } from './test-server.ts';
import { testToken } from './test-token.ts';

let db: TestDatabase;
let server: SynclineServer;
beforeAll(async () => {
  db = await createTestDatabase(SCHEMA);
  await db.query(
    `INSERT INTO item (id, status, body) SELECT 'r' || g, 'open', repeat('b', 100) FROM generate_series(1, 500) g`,
  );
  server = await startTestServer(db, COLLECTIONS);
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

/** fetch that counts the response bytes it hands over. */
function countingFetch() {
  const counter = { bytes: 0 };
  const fetchFn = async (url: string, init: RequestInit) => {
    const res = await fetch(url, init);
    if (!res.body) return res;
    const body = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, ctl) {
          counter.bytes += chunk.byteLength;
          ctl.enqueue(chunk);
        },
      }),
    );
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
  return { counter, fetchFn };
}

const rowsOf = async () =>
  new Map((await db.pool.query({ text: 'SELECT * FROM item', types: wireTypes })).rows.map((r) => [r.id as string, r]));

it('a reload shows stored rows without the network, then resumes from the cursor with only the delta', async () => {
  const idb = new IDBFactory();
  const token = () => testToken('reloader');
  const open = async (url: string, fetchFn?: (u: string, i: RequestInit) => Promise<Response>) =>
    SyncClient.open({
      url,
      token,
      transport: 'sse',
      store: await IdbLocalStore.open({ namespace: 'reloader', indexedDB: idb }),
      backoff: { baseMs: 50, maxMs: 200 },
      ...(fetchFn ? { fetch: fetchFn } : {}),
    });

  // First visit: full snapshot, a few live changes, stored as they arrive.
  const first = countingFetch();
  const c1 = await open(server.url, first.fetchFn);
  const s1 = c1.subscribe({ id: 'all', collection: 'items_all' });
  await s1.ready();
  const snapshotBytes = first.counter.bytes;
  await db.query(`UPDATE item SET status = 'done' WHERE id IN ('r1', 'r2', 'r3')`);
  await eventually(() => s1.get('r3')?.['status'] === 'done');
  await c1.flushStorage();
  await c1.close();

  // Offline reload: the server cannot be reached, the rows are there at once.
  const c2 = await open('http://127.0.0.1:1');
  expect(c2.clientId).toBe(c1.clientId); // kept in the store: unsent mutations keep their id
  const s2 = c2.subscribe({ id: 'all', collection: 'items_all' });
  expect(s2.rows()).toHaveLength(500);
  expect(s2.get('r3')?.['status']).toBe('done');
  expect(s2.status).toBe('live');
  await c2.close();

  // Meanwhile the database moved on; the next reload resumes and catches up.
  await db.query(`UPDATE item SET body = 'changed' WHERE id IN ('r10', 'r11', 'r12', 'r13', 'r14')`);
  await db.query(`DELETE FROM item WHERE id = 'r20'`);
  const third = countingFetch();
  const c3 = await open(server.url, third.fetchFn);
  const s3 = c3.subscribe({ id: 'all', collection: 'items_all' });
  expect(s3.rows()).toHaveLength(500); // before any network
  const expected = await rowsOf();
  await eventually(
    () => s3.rows().length === expected.size && s3.get('r14')?.['body'] === 'changed',
    10_000,
    'caught up',
  );
  for (const [id, row] of expected) expect(s3.get(id)).toEqual(row);
  expect(c3.stats.snapshotsCompleted).toBe(0); // no snapshot from the server: resumed by cursor
  expect(third.counter.bytes).toBeLessThan(snapshotBytes / 10);
  await c3.flushStorage();
  await c3.close();
});
