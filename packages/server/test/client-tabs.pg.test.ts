/**
 * Two tabs: two clients on one IndexedDB database (fake-indexeddb), one
 * BroadcastChannel name and one lock manager, as two tabs of an origin have.
 * One holds the connection; both views update; a mutation made in one shows
 * in the other with the server not answering; when the leader closes, the
 * other takes over and sends the outbox entries it left, each applied once.
 */
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { IdbLocalStore, MemoryTabLocks, SyncClient, type WebSocketConstructor } from '@syncline/client';
import type { SynclineOptions } from '../src/config.ts';
import type { SynclineServer } from '../src/server.ts';
import { eventually } from './client-harness.ts';
import { COLLECTIONS, SCHEMA } from './fixtures.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';
import { startTestServer } from './test-server.ts';
import { testToken } from './test-token.ts';

let db: TestDatabase;
let server: SynclineServer;
const writes: SynclineOptions['writes'] = { item: { insert: true, update: true, delete: true } };

beforeAll(async () => {
  db = await createTestDatabase(SCHEMA);
  await db.query(`INSERT INTO item (id, status, body) SELECT 't' || g, 'open', 'v1' FROM generate_series(1, 50) g`);
  server = await startTestServer(db, COLLECTIONS, { writes });
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

/** A fetch whose POST /v1/mutate requests wait until `release()` (the server "not answering" writes). */
function gatedFetch() {
  let open = false;
  const waiting: Array<() => void> = [];
  const fetchFn = async (url: string, init: RequestInit) => {
    if (url.includes('/v1/mutate') && !open) await new Promise<void>((resolve) => waiting.push(resolve));
    return fetch(url, init);
  };
  return {
    fetchFn,
    release: () => {
      open = true;
      for (const w of waiting.splice(0)) w();
    },
  };
}

const connections = async () =>
  ((await (await fetch(`${server.url}/v1/health`)).json()) as { connections: unknown }).connections;

const idOf = (r: Record<string, unknown>) => String(r['id']);

it('two tabs share one connection and their mutations; the other tab takes over without losing the outbox', async () => {
  const idb = new IDBFactory();
  const locks = new MemoryTabLocks();
  const open = async (fetchFn: (u: string, i: RequestInit) => Promise<Response>) =>
    SyncClient.open({
      url: server.url,
      token: () => testToken('tab-user'),
      transport: 'ws',
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      store: await IdbLocalStore.open({ namespace: 'tabs', indexedDB: idb }),
      backoff: { baseMs: 50, maxMs: 300 },
      fetch: fetchFn,
      tabs: { locks, channel: (name) => new BroadcastChannel(name) },
    });

  const gateA = gatedFetch();
  const a = await open(gateA.fetchFn);
  const b = await open(fetch);
  expect(a.tabRole).toBe('leader');
  expect(b.tabRole).toBe('follower');

  // One subscription shared by id, one only the follower has: the leader's connection carries both.
  const aAll = a.subscribe({ id: 'all', collection: 'items_all' });
  const bAll = b.subscribe({ id: 'all', collection: 'items_all' });
  const bOpen = b.subscribe({ id: 'open', collection: 'items_open' });
  await Promise.all([aAll.ready(), bAll.ready(), bOpen.ready()]);
  expect(bAll.rows()).toHaveLength(50);
  expect(bOpen.rows()).toHaveLength(50);
  expect(await connections()).toEqual({ sse: 0, ws: 1 });
  expect(b.stats.connects).toBe(0);
  expect(b.state).toBe('open');
  expect(b.connectionId).toBe(a.connectionId);

  // A change in the database reaches both views through the one connection.
  await db.query(`UPDATE item SET status = 'done' WHERE id = 't1'`);
  await eventually(() => bAll.get('t1')?.['status'] === 'done' && aAll.get('t1')?.['status'] === 'done');
  await eventually(() => bOpen.get('t1') === undefined, 5_000, 'moved out of the follower-only subscription');

  // Mutations from either tab show in both while the server has not answered any of them.
  await b.mutate([{ type: 'update', table: 'item', id: 't2', values: { body: 'from-b' } }]);
  await a.mutate([{ type: 'update', table: 'item', id: 't3', values: { body: 'from-a' } }]);
  await b.mutate([{ type: 'insert', table: 'item', row: { id: 'tb1', status: 'open', body: 'new-b' } }]);
  await b.mutate([{ type: 'insert', table: 'item', row: { id: 'tb2', status: 'open', body: 'new-b' } }]);
  const bodyIn = (c: SyncClient, id: string) => c.view('item').find((r) => idOf(r) === id)?.['body'];
  for (const c of [a, b]) {
    await eventually(
      () => bodyIn(c, 't2') === 'from-b' && bodyIn(c, 't3') === 'from-a' && bodyIn(c, 'tb2') === 'new-b',
    );
    expect(c.pendingMutations).toBe(4);
  }
  expect((await db.query(`SELECT count(*)::int AS n FROM item WHERE id LIKE 'tb%'`)).rows[0]).toEqual({ n: 0 });

  // The leader goes with all four unanswered; the follower takes over and sends them.
  await a.close();
  await eventually(() => b.tabRole === 'leader', 5_000, 'takeover');
  await eventually(() => b.pendingMutations === 0, 20_000, 'outbox drained by the new leader');
  // The server rows reach the subscriptions (the stream leaves our own out; the answers bring them).
  await eventually(
    () => bAll.get('t2')?.['body'] === 'from-b' && bAll.get('tb2')?.['body'] === 'new-b',
    10_000,
    'own rows',
  );
  const rows = await db.query<{ id: string; body: string }>(
    `SELECT id, body FROM item WHERE id IN ('t2', 't3', 'tb1', 'tb2') ORDER BY id`,
  );
  expect(rows.rows).toEqual([
    { id: 't2', body: 'from-b' },
    { id: 't3', body: 'from-a' },
    { id: 'tb1', body: 'new-b' },
    { id: 'tb2', body: 'new-b' },
  ]);
  // Applied once each: the mutation log has exactly four for this client, ids 1..4.
  const log = await db.query<{ mutation_id: string }>(
    `SELECT mutation_id::text FROM syncline.mutations WHERE client_id = $1 ORDER BY mutation_id`,
    [b.clientId],
  );
  expect(log.rows.map((r) => Number(r.mutation_id))).toEqual([1, 2, 3, 4]);
  expect(b.clientId).toBe(a.clientId);

  // The new leader holds the connection, resumed from the cursor, and its views stay live.
  await eventually(() => b.state === 'open' && b.stats.connects === 1);
  await db.query(`UPDATE item SET body = 'after' WHERE id = 't9'`);
  await eventually(() => bAll.get('t9')?.['body'] === 'after' && bOpen.get('t9')?.['body'] === 'after');
  expect(bAll.rows()).toHaveLength(52);
  expect(b.stats.snapshotsCompleted).toBe(0); // resumed, not re-snapshotted
  gateA.release();
  await b.close();
}, 60_000);
