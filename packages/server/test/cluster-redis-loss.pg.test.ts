/**
 * Redis restarted under two nodes. Without persistence it comes back empty:
 * the nodes reconnect by themselves, the capture owner sees its epoch gone and
 * starts a new one, and clients resync (never resume across the gap) and
 * converge. With AOF (fsync always) it comes back whole: no resync. While Redis
 * is away (10 s), writes go on in PostgreSQL, nodes say they are not ready, the
 * slot is not confirmed past what Redis holds, and everything reaches everyone
 * once it is back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startChildServer, type ChildServer } from './child-server.ts';
import { eventually, watchedClient, type WatchedClient } from './client-harness.ts';
import { COLLECTIONS, SCHEMA } from './fixtures.ts';
import { freePort } from './free-port.ts';
import { redisMissing, startRedis, type RunningRedis } from './redis-server.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';

const skip = redisMissing();

describe.skipIf(skip !== null)('Redis restarted under the cluster', () => {
  let db: TestDatabase | null = null;
  let redis: RunningRedis | null = null;
  const nodes: ChildServer[] = [];
  const clients: WatchedClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.client.close()));
    await Promise.all(nodes.splice(0).map((n) => n.kill()));
    await redis?.remove();
    await db?.drop();
  });

  async function cluster(redisArgs?: string[]) {
    db = await createTestDatabase(SCHEMA);
    await db.query('INSERT INTO counter (id, n) VALUES (1, 0)');
    redis = await startRedis(redisArgs);
    for (let i = 0; i < 2; i++)
      nodes.push(
        await startChildServer({
          databaseUrl: db.url,
          port: await freePort(),
          slot: db.slot,
          collections: COLLECTIONS,
          env: { REDIS_URL: redis.url },
        }),
      );
    for (const n of nodes) clients.push(watchedClient(n.url, [{ id: 'counter', collection: 'counters' }]));
    await Promise.all(clients.map((c) => c.subs['counter']?.ready()));
    return { db, redis };
  }

  const bump = async (db: TestDatabase) =>
    (await db.query<{ n: number }>('UPDATE counter SET n = n + 1 WHERE id = 1 RETURNING n')).rows[0]?.n as number;
  const at = (n: number, what: string) =>
    eventually(() => clients.every((c) => c.subs['counter']?.get('1')?.['n'] === n), 30_000, what);

  it('without persistence: a new epoch, clients resync and converge', async () => {
    const { db, redis } = await cluster();
    for (let i = 0; i < 5; i++) await bump(db);
    await at(5, 'before');
    await redis.stop();
    let n = 0;
    for (let i = 0; i < 5; i++) n = await bump(db); // while Redis is away
    await redis.start();
    // The owner finds its epoch gone within a second or so and starts a new one: every client resyncs.
    await eventually(() => clients.every((c) => c.resyncs > 0), 20_000, 'a resync on every client');
    await at(n, 'after Redis came back empty');
    n = await bump(db);
    await at(n, 'live again');
  }, 90_000);

  it('with AOF (fsync always): nothing lost, no resync', async () => {
    const { db, redis } = await cluster(['--appendonly', 'yes', '--appendfsync', 'always', '--save', '']);
    for (let i = 0; i < 5; i++) await bump(db);
    await at(5, 'before');
    await redis.stop();
    let n = 0;
    for (let i = 0; i < 5; i++) n = await bump(db);
    await redis.start();
    await at(n, 'after Redis came back whole');
    for (const c of clients) expect(c.resyncs).toBe(0);
  }, 90_000);

  it('unreachable for 10 s: nodes say not ready, the slot is not confirmed past what Redis holds, nothing is lost', async () => {
    const { db, redis } = await cluster(['--appendonly', 'yes', '--appendfsync', 'always', '--save', '']);
    const slotAt = async () =>
      (
        await db.query<{ lsn: string }>(
          `SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1`,
          [db.slot],
        )
      ).rows[0]?.lsn;
    await bump(db);
    await at(1, 'before');
    await redis.stop();
    const confirmedWhenDown = await slotAt();
    let n = 1;
    const t0 = Date.now();
    while (Date.now() - t0 < 10_000) {
      n = await bump(db);
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const node of nodes) expect((await fetch(`${node.url}/v1/ready`)).status).toBe(503);
    // Nothing reached Redis, so nothing was confirmed: Postgres keeps it all for the nodes.
    expect(await slotAt()).toBe(confirmedWhenDown);
    await redis.start();
    await at(n, `all at ${n}`);
    for (const node of nodes)
      await eventually(async () => (await fetch(`${node.url}/v1/ready`)).status === 200, 10_000, 'ready again');
    for (const c of clients) expect(c.resyncs).toBe(0);
  }, 90_000);
});
