/**
 * PostgreSQL fast-restarted several times while 16 clients write through
 * `POST /v1/mutate`, snapshots start and streams are live. The node is a
 * separate process, so "never exits" is observed, not assumed: writes answer
 * 503 retryable while the database is away, then succeed (each exactly once),
 * and every live client converges to the database.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startEmbeddedPostgres, type RunningPostgres } from '../src/setup/embedded-postgres.ts';
import { startChildServer, type ChildServer } from './child-server.ts';
import { eventually, watchedClient, type WatchedClient } from './client-harness.ts';
import { COLLECTIONS, SCHEMA } from './fixtures.ts';
import { freePort } from './free-port.ts';
import { SseReader, eventsUrl } from './sse-reader.ts';
import { testToken } from './test-token.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const WRITERS = 16;
let cluster: RunningPostgres;
let pool: pg.Pool;
let server: ChildServer;
const clients: WatchedClient[] = [];

beforeAll(async () => {
  const port = await freePort();
  cluster = await startEmbeddedPostgres({
    dataDir: path.join(root, '.syncline', 'test-pg', `restart-w-${port}`),
    port,
  });
  pool = new pg.Pool({ connectionString: cluster.url, max: 2 });
  pool.on('error', () => {});
  await pool.query(SCHEMA);
  await pool.query(`INSERT INTO counter (id, n) SELECT g, 0 FROM generate_series(1, ${WRITERS}) g`);
  server = await startChildServer({
    databaseUrl: cluster.url,
    port: await freePort(),
    slot: 'restart_writes',
    collections: COLLECTIONS,
    extra: { writes: { counter: { columns: ['n'], update: true } } },
  });
}, 90_000);
afterAll(async () => {
  await Promise.all(clients.map((c) => c.client.close()));
  await server?.kill();
  await pool?.end();
  await cluster?.stop();
});

interface WriterLog {
  ok: number;
  retryable: number;
  other: string[];
}

/** One client's writes: mutation ids 1, 2, … in order, each retried until it is answered for good. */
async function writer(i: number, until: () => boolean, log: WriterLog): Promise<number> {
  const clientId = `writer-${i}`;
  const token = testToken(`user-${i}`);
  let id = 1;
  while (!until()) {
    const res = await fetch(`${server.url}/v1/mutate`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, 'X-Client-Id': clientId },
      body: JSON.stringify({
        clientId,
        mutationId: id,
        ops: [{ type: 'set', table: 'counter', id: String(i), key: 'n', value: id }],
      }),
    }).catch(() => null);
    if (!res) throw new Error('the node stopped answering');
    const body = (await res.json()) as { error?: { code: string; retryable?: boolean } };
    if (res.status === 200) {
      log.ok++;
      id++;
    } else if (res.status === 503 && body.error?.retryable) {
      log.retryable++;
      await new Promise((r) => setTimeout(r, 50));
    } else {
      log.other.push(`${res.status} ${JSON.stringify(body)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return id - 1;
}

it('survives fast restarts of PostgreSQL under 16 writers, live streams and snapshots', async () => {
  for (const transport of ['sse', 'ws'] as const)
    clients.push(
      watchedClient(server.url, [{ id: 'c', collection: 'counters' }], () => testToken('reader'), transport),
    );
  await Promise.all(clients.map((c) => c.subs['c']?.ready()));

  let stop = false;
  const log: WriterLog = { ok: 0, retryable: 0, other: [] };
  const writers = Array.from({ length: WRITERS }, (_, i) => writer(i + 1, () => stop, log));
  // New subscriptions keep arriving, so snapshots are in flight when the database goes.
  let snapshots = 0;
  const snapshotter = (async () => {
    while (!stop) {
      const r = new SseReader(eventsUrl(server.url, `snap-${snapshots++}`, [{ id: 's', collection: 'items_all' }]));
      await r
        .until(
          (x) => x.of('snapshot').some((e) => e.data.done) || x.of('error').length > 0 || x.of('resync').length > 0,
          20_000,
        )
        .catch(() => {});
      r.close();
    }
  })();

  for (let round = 0; round < 3; round++) {
    await new Promise((r) => setTimeout(r, 1_500));
    await cluster.stop(); // SIGINT: a fast shutdown, every backend gets 57P01
    await new Promise((r) => setTimeout(r, 300));
    expect(server.proc.exitCode, `node exited in round ${round}`).toBe(null);
    await cluster.start();
  }
  await new Promise((r) => setTimeout(r, 1_500));
  stop = true;
  const last = await Promise.all(writers);
  await snapshotter;

  expect(server.proc.exitCode).toBe(null);
  expect(server.proc.signalCode).toBe(null);
  expect(log.other).toEqual([]);
  expect(log.retryable).toBeGreaterThan(0); // the database really was away while they wrote
  // Each writer's last answered id is what the database holds: nothing applied twice or lost.
  const { rows } = await pool.query<{ id: number; n: number }>('SELECT id, n FROM counter ORDER BY id');
  expect(rows.map((r) => r.n)).toEqual(last);
  for (const c of clients)
    await eventually(
      () => rows.every((r) => c.subs['c']?.get(String(r.id))?.['n'] === r.n),
      30_000,
      'client converged to the database',
    );
}, 120_000);
