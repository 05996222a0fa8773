/**
 * The long randomized run of the client issue: three clients (two over
 * WebSocket, one over SSE), thousands of operations chosen by a seeded PRNG —
 * client mutations (some with stale versions, some on missing rows), direct SQL
 * writes from outside, random disconnects that reopen over the same local store
 * (resuming from stored cursors and replaying the stored outbox) and one server
 * restart in the middle. At the end every client's view equals the database.
 *
 * Reproduce a run with `SOAK_SEED=<seed printed by the run>`.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  MemoryLocalStore,
  SyncClient,
  type SubscriptionHandle,
  type WebSocketConstructor,
  type RejectedEvent,
} from '@syncline/client';
import type { WriteOp } from '@syncline/protocol';
import type { SynclineOptions } from '../src/config.ts';
import type { SynclineServer } from '../src/server.ts';
import { eventually } from './client-harness.ts';
import { COLLECTIONS, SCHEMA } from './fixtures.ts';
import { freePort } from './free-port.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';
import { startTestServer } from './test-server.ts';
import { testToken } from './test-token.ts';
import { byId, prng, soakOps } from './soak-ops.ts';

const TOTAL_OPS = 2_400;
const SEED = process.env['SOAK_SEED'] !== undefined ? Number(process.env['SOAK_SEED']) : Date.now() % 2 ** 31;
const random = prng(SEED);

let db: TestDatabase;
let ops: ReturnType<typeof soakOps>;
let server: SynclineServer | null = null;
let port: number;
const writes: SynclineOptions['writes'] = { item: { insert: true, update: true, delete: true } };
const start = async () => (server = await startTestServer(db, COLLECTIONS, { port, writes }));

beforeAll(async () => {
  db = await createTestDatabase(SCHEMA);
  ops = soakOps(db, random);
  // Some rows to start from, so early updates and deletes find something.
  await db.query(
    `INSERT INTO item (id, status, body) SELECT 'k' || lpad(g::text, 2, '0'), 'open', 'seed' FROM generate_series(0, 19) g`,
  );
  port = await freePort();
  await start();
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

interface Slot {
  name: string;
  clientId: string;
  transport: 'ws' | 'sse';
  withOpen: boolean;
  store: MemoryLocalStore;
  client: SyncClient | null;
  all: SubscriptionHandle | null;
  open: SubscriptionHandle | null;
  /** Operation number at which a closed client comes back. */
  reopenAt: number;
  /** Its mutate() calls not yet awaited (they resolve once the mutation is stored, not sent). */
  inflight: Array<Promise<unknown>>;
  opened: number;
  rejected: RejectedEvent[];
  errors: string[];
}

const stats = {
  ops: {} as Record<string, number>,
  rejections: {} as Record<string, number>,
  reconnects: 0,
  reopens: 0,
  mutationsQueuedWhileDown: 0,
  storageErrors: 0,
};
const count = (bucket: Record<string, number>, key: string) => (bucket[key] = (bucket[key] ?? 0) + 1);

async function openSlot(s: Slot): Promise<void> {
  const client = await SyncClient.open({
    url: `http://127.0.0.1:${port}`,
    clientId: s.clientId, // the stored mutation ids belong to this client id
    token: () => testToken(s.name),
    transport: s.transport,
    ...(s.transport === 'ws' ? { WebSocket: WebSocket as unknown as WebSocketConstructor } : {}),
    store: s.store,
    backoff: { baseMs: 50, maxMs: 300 },
  });
  client.on('rejected', (e) => {
    s.rejected.push(e);
    count(stats.rejections, e.error.code);
  });
  client.on('error', (e) => s.errors.push(`${e.code}: ${e.message}`));
  client.on('storageError', () => stats.storageErrors++);
  s.client = client;
  s.all = client.subscribe({ id: 'all', collection: 'items_all' });
  s.open = s.withOpen ? client.subscribe({ id: 'open', collection: 'items_open' }) : null;
  s.opened++;
}

async function closeSlot(s: Slot): Promise<void> {
  const c = s.client;
  if (!c) return;
  // An app would have its mutate() promises settled (they resolve once stored) and its storage flushed.
  await Promise.all(s.inflight.splice(0));
  await c.flushStorage();
  stats.reconnects += c.stats.reconnects;
  s.client = null;
  s.all = null;
  s.open = null;
  await c.close();
}

it('a long randomized run across 3 clients with disconnects and a server restart ends with every view equal to the database', async () => {
  const { int, pick, chance, randomClientOp, directSql, dbRows } = ops;
  console.log(`[soak] seed ${SEED} (SOAK_SEED=${SEED} to reproduce)`);
  const started = Date.now();
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);

  const slots: Slot[] = [0, 1, 2].map((i) => ({
    name: `soak${i}`,
    clientId: `soak${i}-${SEED}`,
    transport: i === 2 ? 'sse' : 'ws',
    withOpen: i === 0,
    store: undefined as unknown as MemoryLocalStore,
    client: null,
    all: null,
    open: null,
    reopenAt: 0,
    inflight: [],
    opened: 0,
    rejected: [],
    errors: [],
  }));
  for (const s of slots) {
    s.store = await MemoryLocalStore.open();
    await openSlot(s);
  }
  await Promise.all(slots.map((s) => s.all?.ready()));

  const restartAt = Math.floor(TOTAL_OPS * (0.4 + random() * 0.2));
  let serverBackAt = -1;
  const sqlInflight: Array<Promise<unknown>> = [];
  const settleAll = async () => {
    await Promise.all(slots.flatMap((s) => s.inflight.splice(0)));
    await Promise.all(sqlInflight.splice(0));
  };
  let nextSettle = 1 + int(8);

  for (let n = 0; n < TOTAL_OPS; n++) {
    // Clients whose downtime is over come back over their own store.
    for (const s of slots) {
      if (!s.client && n >= s.reopenAt) {
        await openSlot(s);
        stats.reopens++;
      }
    }
    if (n === restartAt) {
      await settleAll();
      await server?.stop();
      server = null;
      serverBackAt = n + 20 + int(30);
      count(stats.ops, 'server-stop');
      console.log(`[soak] server stopped at op ${n}, back at op ${serverBackAt}`);
    }
    if (n === serverBackAt) {
      await start();
      count(stats.ops, 'server-start');
    }

    const roll = random();
    if (roll < 0.68) {
      const open = slots.filter((s) => s.client);
      if (open.length === 0) continue;
      const s = pick(open);
      const c = s.client as SyncClient;
      const ops: WriteOp[] = [];
      const kinds: string[] = [];
      const size = chance(0.1) ? 2 + int(2) : 1; // sometimes several ops in one transaction
      for (let k = 0; k < size; k++) {
        const { op, kind } = randomClientOp(c);
        ops.push(op);
        kinds.push(kind);
      }
      count(stats.ops, size > 1 ? `multi(${size})` : (kinds[0] as string));
      if (!server) stats.mutationsQueuedWhileDown++;
      s.inflight.push(c.mutate(ops));
    } else if (roll < 0.96) {
      const p = directSql().then((kind) => count(stats.ops, kind));
      if (chance(0.5)) await p;
      else sqlInflight.push(p);
    } else {
      const open = slots.filter((s) => s.client);
      if (open.length <= 1) continue; // keep at least one client connected
      const s = pick(open);
      await closeSlot(s);
      s.reopenAt = n + int(40);
      count(stats.ops, 'disconnect');
    }

    if (--nextSettle <= 0) {
      await settleAll();
      // Now and then let the clients catch up a little, so some expectedVersions are fresh.
      if (chance(0.3)) await new Promise((r) => setTimeout(r, int(30)));
      nextSettle = 1 + int(8);
    }
  }

  // The end: everyone back, the server up, every outbox drained.
  if (!server) await start();
  for (const s of slots) if (!s.client) await openSlot(s);
  await settleAll();
  const active = slots.map((s) => ({ s, c: s.client as SyncClient }));
  await eventually(
    () => active.every(({ c }) => c.pendingMutations === 0),
    90_000,
    `outboxes drained (pending ${active.map(({ c }) => c.pendingMutations).join('/')})`,
  );

  // A marker written after everything else: once a client shows it, it has seen all before it.
  const seesMarker = await ops.writeEndMarker(`end-${SEED}`);
  await eventually(
    () => slots.every((s) => seesMarker(s.client, s.open === null ? [s.all] : [s.all, s.open])),
    30_000,
    'marker seen by every client',
  );

  for (const s of slots) stats.reconnects += s.client?.stats.reconnects ?? 0;
  const totalOps = Object.entries(stats.ops)
    .filter(([k]) => !k.startsWith('server-'))
    .reduce((a, [, v]) => a + v, 0);
  console.log(
    `[soak] seed ${SEED}: ${totalOps} ops in ${((Date.now() - started) / 1000).toFixed(1)} s\n` +
      `  ops: ${JSON.stringify(stats.ops)}\n` +
      `  rejections: ${JSON.stringify(stats.rejections)}\n` +
      `  reopens: ${stats.reopens}, stream reconnects: ${stats.reconnects}, mutations queued while down: ${stats.mutationsQueuedWhileDown}\n` +
      `  per client: ${slots.map((s) => `${s.name}(${s.transport}) opened ${s.opened}x, ${s.rejected.length} rejected, ${s.errors.length} errors`).join('; ')}`,
  );

  const expected = await dbRows();
  const expectedOpen = new Map([...expected].filter(([, r]) => r['status'] === 'open'));
  for (const s of slots) {
    expect(byId(s.all?.rows() ?? []), `${s.name} items_all`).toEqual(expected);
    expect(byId(s.client?.view('item') ?? []), `${s.name} view('item')`).toEqual(expected);
    if (s.open) expect(byId(s.open.rows()), `${s.name} items_open`).toEqual(expectedOpen);
  }

  // Every rejection is one the run provokes on purpose; nothing else went wrong.
  const expectedCodes = new Set(['CONFLICT', 'NOT_FOUND']);
  const otherRejections = slots.flatMap((s) =>
    s.rejected.filter((e) => !expectedCodes.has(e.error.code)).map((e) => `${e.error.code}: ${e.error.message}`),
  );
  expect(otherRejections).toEqual([]);
  expect(stats.storageErrors).toBe(0);
  expect(totalOps).toBeGreaterThanOrEqual(2_000);
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);

  for (const s of slots) await closeSlot(s);
}, 180_000);
