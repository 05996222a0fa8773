/**
 * A randomized run across tabs: three tabs on one store (one lock manager, one
 * BroadcastChannel name), mutations from whichever tab, writes from outside,
 * and tabs closing at random — the leader too, so others take over mid-stream
 * with mutations in flight — and opening again. At the end every tab's view
 * equals the database, one connection serves them all, and the server applied
 * the store's mutation ids one after another with no gap.
 *
 * Reproduce a run with `SOAK_SEED=<seed printed by the run>`.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  MemoryDatabases,
  MemoryLocalStore,
  MemoryTabLocks,
  SyncClient,
  type RejectedEvent,
  type SubscriptionHandle,
  type WebSocketConstructor,
} from '@syncline/client';
import type { SynclineServer } from '../src/server.ts';
import { eventually } from './client-harness.ts';
import { COLLECTIONS, SCHEMA } from './fixtures.ts';
import { byId, prng, soakOps } from './soak-ops.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';
import { startTestServer } from './test-server.ts';
import { testToken } from './test-token.ts';

const TOTAL_OPS = 900;
const SEED = process.env['SOAK_SEED'] !== undefined ? Number(process.env['SOAK_SEED']) : Date.now() % 2 ** 31;
const random = prng(SEED);

let db: TestDatabase;
let server: SynclineServer;
let ops: ReturnType<typeof soakOps>;

beforeAll(async () => {
  db = await createTestDatabase(SCHEMA);
  await db.query(
    `INSERT INTO item (id, status, body) SELECT 'k' || lpad(g::text, 2, '0'), 'open', 'seed' FROM generate_series(0, 19) g`,
  );
  server = await startTestServer(db, COLLECTIONS, { writes: { item: { insert: true, update: true, delete: true } } });
  ops = soakOps(db, random);
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

interface Tab {
  name: string;
  client: SyncClient | null;
  all: SubscriptionHandle | null;
  reopenAt: number;
  inflight: Array<Promise<unknown>>;
}

it('tabs closing at random, the leader too: every view ends equal to the database, ids applied without a gap', async () => {
  const { int, pick, chance, randomClientOp, directSql, dbRows } = ops;
  console.log(`[tabs-soak] seed ${SEED} (SOAK_SEED=${SEED} to reproduce)`);
  const databases = new MemoryDatabases();
  const locks = new MemoryTabLocks();
  const rejected: RejectedEvent[] = [];
  const counts: Record<string, number> = {};
  const count = (k: string) => (counts[k] = (counts[k] ?? 0) + 1);
  let takeovers = 0;
  let storageErrors = 0;

  const open = async (t: Tab) => {
    const client = await SyncClient.open({
      url: server.url,
      token: () => testToken('tabs-soak'),
      transport: 'ws',
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      store: new MemoryLocalStore({ namespace: 'tabs-soak', databases }),
      backoff: { baseMs: 50, maxMs: 300 },
      tabs: { locks, channel: (name) => new BroadcastChannel(name) },
    });
    client.on('rejected', (e) => rejected.push(e));
    client.on('storageError', () => storageErrors++);
    t.client = client;
    t.all = client.subscribe({ id: 'all', collection: 'items_all' });
  };
  const close = async (t: Tab, graceful: boolean) => {
    const c = t.client;
    if (!c) return;
    // Graceful: what the app asked for is queued first. Otherwise the tab just goes; a mutate()
    // still waiting for the leader's answer rejects (the app was told it was not queued).
    if (graceful) await Promise.all(t.inflight.splice(0));
    else t.inflight.length = 0; // each already has its own catch
    if (c.tabRole === 'leader') takeovers++;
    t.client = null;
    t.all = null;
    await c.close();
  };

  const tabs: Tab[] = [0, 1, 2].map((i) => ({ name: `tab${i}`, client: null, all: null, reopenAt: 0, inflight: [] }));
  for (const t of tabs) await open(t);
  await Promise.all(tabs.map((t) => t.all?.ready()));
  expect(tabs.map((t) => t.client?.tabRole)).toEqual(['leader', 'follower', 'follower']);

  const sqlInflight: Array<Promise<unknown>> = [];
  for (let n = 0; n < TOTAL_OPS; n++) {
    for (const t of tabs) {
      if (!t.client && n >= t.reopenAt) {
        await open(t);
        count('reopen');
      }
    }
    const roll = random();
    const live = tabs.filter((t) => t.client);
    if (roll < 0.7) {
      const t = pick(live);
      const { op, kind } = randomClientOp(t.client as SyncClient);
      count(kind);
      t.inflight.push((t.client as SyncClient).mutate([op]).catch(() => count('not-queued')));
    } else if (roll < 0.96) {
      const p = directSql().then(count);
      if (chance(0.5)) await p;
      else sqlInflight.push(p);
    } else if (live.length > 1) {
      const t = chance(0.5) ? (live.find((x) => x.client?.tabRole === 'leader') ?? pick(live)) : pick(live);
      await close(t, chance(0.6));
      t.reopenAt = n + int(30);
      count('close');
    }
    if (chance(0.15)) {
      await Promise.all(sqlInflight.splice(0));
      await new Promise((r) => setTimeout(r, int(20)));
    }
  }

  for (const t of tabs) if (!t.client) await open(t);
  await Promise.all(sqlInflight.splice(0));
  await Promise.all(tabs.flatMap((t) => t.inflight.splice(0)));
  const clients = tabs.map((t) => t.client as SyncClient);
  await eventually(
    () => clients.every((c) => c.pendingMutations === 0),
    60_000,
    `mutations drained (pending ${clients.map((c) => c.pendingMutations).join('/')})`,
  );
  const seesMarker = await ops.writeEndMarker(`end-${SEED}`);
  await eventually(() => tabs.every((t) => seesMarker(t.client, [t.all])), 30_000, 'marker seen by every tab');
  console.log(
    `[tabs-soak] seed ${SEED}: ${JSON.stringify(counts)}; leader closed ${takeovers}x; ` +
      `${new Set(rejected.map((e) => e.mutationId)).size} mutations rejected (each tab hears of each)`,
  );

  const expected = await dbRows();
  for (const t of tabs) {
    expect(byId(t.all?.rows() ?? []), `${t.name} items_all`).toEqual(expected);
    expect(byId(t.client?.view('item') ?? []), `${t.name} view('item')`).toEqual(expected);
  }
  expect(clients.filter((c) => c.tabRole === 'leader')).toHaveLength(1);
  const health = (await (await fetch(`${server.url}/v1/health`)).json()) as { connections: unknown };
  expect(health.connections).toEqual({ sse: 0, ws: 1 });

  // One client id for the store; the server applied (or refused) each id once, in order, with no gap
  // (its log keeps the recent answers: they run on without a hole up to the last id it took).
  const clientId = clients[0]?.clientId;
  expect(new Set(clients.map((c) => c.clientId)).size).toBe(1);
  const log = await db.query<{ ids: string[]; last: string }>(
    `SELECT array_agg(m.mutation_id::text ORDER BY m.mutation_id) AS ids, c.last_mutation_id::text AS last
       FROM syncline.mutations m JOIN syncline.clients c USING (client_id) WHERE client_id = $1 GROUP BY c.last_mutation_id`,
    [clientId],
  );
  const ids = (log.rows[0]?.ids ?? []).map(Number);
  const last = Number(log.rows[0]?.last);
  expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => last - ids.length + 1 + i));
  expect(last).toBeGreaterThan(TOTAL_OPS * 0.5);

  const unexpected = rejected.filter((e) => !['CONFLICT', 'NOT_FOUND'].includes(e.error.code));
  expect(unexpected.map((e) => `${e.error.code}: ${e.error.message}`)).toEqual([]);
  expect(storageErrors).toBe(0);
  for (const t of tabs) await close(t, true);
}, 180_000);
