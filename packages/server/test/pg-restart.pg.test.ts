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
