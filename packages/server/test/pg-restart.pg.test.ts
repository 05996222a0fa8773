/**
 * PostgreSQL restarted under a running server: capture reconnects with backoff,
 * resumes from the slot, and subscribed clients converge without a resync.
 * Uses a private embedded cluster so the shared one stays up for other files.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SynclineServer } from '../src/server.ts';
import { startEmbeddedPostgres, type RunningPostgres } from '../src/setup/embedded-postgres.ts';
import { eventually, watchedClient, type WatchedClient } from './client-harness.ts';
import { COLLECTIONS, SCHEMA } from './fixtures.ts';
import { freePort } from './free-port.ts';
import type { TestDatabase } from './test-database.ts';
import { startTestServer } from './test-server.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
let cluster: RunningPostgres;
let pool: pg.Pool;
let server: SynclineServer;
let client: WatchedClient;

beforeAll(async () => {
  const port = await freePort();
  cluster = await startEmbeddedPostgres({ dataDir: path.join(root, '.syncline', 'test-pg', `restart-${port}`), port });
  pool = new pg.Pool({ connectionString: cluster.url, max: 2 });
  pool.on('error', () => {});
  await pool.query(SCHEMA);
  await pool.query('INSERT INTO counter (id, n) VALUES (1, 0)');
  const db = { url: cluster.url, slot: 'restart_slot' } as TestDatabase;
  server = await startTestServer(db, COLLECTIONS);
});
afterAll(async () => {
  await client?.client.close();
  await server?.stop();
  await pool?.end();
  await cluster?.stop();
});

async function bump(): Promise<number> {
  const r = await pool.query<{ n: number }>('UPDATE counter SET n = n + 1 WHERE id = 1 RETURNING n');
  return r.rows[0]?.n as number;
}

it('survives a PostgreSQL restart mid-stream; clients converge without a resync', async () => {
  client = watchedClient(server.url, [{ id: 'counter', collection: 'counters' }]);
  await client.subs['counter']?.ready();
  for (let i = 0; i < 20; i++) await bump();
  await eventually(() => client.subs['counter']?.get('1')?.['n'] === 20, 10_000, 'before restart');

  await cluster.stop();
  await cluster.start();
  // Writes right after the restart, while capture may still be reconnecting.
  let n = 0;
  for (let i = 0; i < 20; i++) {
    n = await retry(bump);
  }
  await eventually(() => client.subs['counter']?.get('1')?.['n'] === n, 30_000, `counter ${n} after restart`);
  expect(client.resyncs).toBe(0);
  expect(new Set(client.applied).size).toBe(client.applied.length);
  const health = (await (await fetch(new URL('/v1/health', server.url))).json()) as {
    status: string;
    replication: { connected: boolean };
  };
  expect(health.replication.connected).toBe(true);
}, 90_000);

it('recreates a slot PostgreSQL invalidated (wal_status = lost) and makes clients resync, never resume across the gap', async () => {
  const port = server.port;
  await server.stop(); // the slot is now inactive and may fall behind
  await pool.query(`ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'`);
  await pool.query('SELECT pg_reload_conf()');
  await pool.query('CREATE TABLE IF NOT EXISTS filler (id serial PRIMARY KEY, pad text)');
  await pool.query('UPDATE counter SET n = 5000 WHERE id = 1'); // lost with the WAL
  for (let i = 0; i < 6 && (await slotStatus()) !== 'lost'; i++) {
    await pool.query(`INSERT INTO filler (pad) SELECT repeat('x', 1000) FROM generate_series(1, 5000)`);
    await pool.query('SELECT pg_switch_wal()');
    await pool.query('CHECKPOINT');
  }
  expect(await slotStatus()).toBe('lost');

  const before = client.resyncs;
  server = await startTestServer({ url: cluster.url, slot: 'restart_slot' } as TestDatabase, COLLECTIONS, { port });
  await eventually(() => client.resyncs > before, 30_000, 'resync after the slot was lost');
  await eventually(() => client.subs['counter']?.get('1')?.['n'] === 5000, 30_000, 'converged from a fresh snapshot');
  const n = await bump();
  await eventually(() => client.subs['counter']?.get('1')?.['n'] === n, 30_000, 'live on the new slot');
  await pool.query('ALTER SYSTEM RESET max_slot_wal_keep_size');
  await pool.query('SELECT pg_reload_conf()');
}, 90_000);

async function slotStatus(): Promise<string | undefined> {
  const r = await pool.query<{ s: string }>(
    `SELECT wal_status AS s FROM pg_replication_slots WHERE slot_name = 'restart_slot'`,
  );
  return r.rows[0]?.s;
}

async function retry<T>(f: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await f();
    } catch (e) {
      if (i > 100) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
