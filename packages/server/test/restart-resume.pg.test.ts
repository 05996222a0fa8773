/**
 * A restart costs no resync. A cursor with nothing missing after it resumes:
 *   - after 20,000 transactions that only carry another application's logical
 *     messages (they are decoded and skipped: the log holds none of them);
 *   - after the node is stopped (SIGTERM) or killed (SIGKILL) and started again
 *     while SQL commits go on — on a database otherwise quiet, and on one busy
 *     with tables Syncline does not sync (whose WAL moves the slot past the
 *     last synced transaction).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SynclineServer } from '../src/server.ts';
import { restartableNode } from './restartable-node.ts';
import { eventually, watchedClient } from './client-harness.ts';
import { COLLECTIONS, SCHEMA } from './fixtures.ts';
import { SseReader, eventsUrl } from './sse-reader.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';
import { startTestServer } from './test-server.ts';

describe('transactions with nothing for Syncline', () => {
  let db: TestDatabase;
  let server: SynclineServer;
  beforeAll(async () => {
    db = await createTestDatabase(`${SCHEMA} CREATE TABLE noise (id serial PRIMARY KEY, pad text);`);
    server = await startTestServer(db, COLLECTIONS);
  });
  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  it('20,000 foreign logical messages never enter the log, and a cursor from before them resumes', async () => {
    const first = new SseReader(eventsUrl(server.url, 'quiet-1', [{ id: 'a', collection: 'items_all' }]));
    await first.until((r) => r.of('snapshot').some((e) => e.data.done));
    await db.query(`INSERT INTO item (id, status) VALUES ('before', 'open')`);
    await first.until((r) => r.of('changes').length === 1);
    const cursor = first.of('changes')[0]?.id as string;
    first.close();

    const logBefore = server.router.log.size;
    const skippedBefore = server.capture?.skipped ?? 0;
    // Each its own transaction, as another sync engine's heartbeats would be.
    await db.query(`DO $$ BEGIN
      FOR i IN 1..20000 LOOP PERFORM pg_logical_emit_message(true, 'other-app', 'x'); COMMIT; END LOOP;
    END $$`);
    await db.query(`INSERT INTO noise (pad) SELECT 'x' FROM generate_series(1, 1000)`);
    await eventually(() => (server.capture?.skipped ?? 0) - skippedBefore >= 20_000, 60_000, 'all skipped');
    expect(server.router.log.size).toBe(logBefore);

    const second = new SseReader(eventsUrl(server.url, 'quiet-1', [{ id: 'a', collection: 'items_all', cursor }]));
    await second.until((r) => r.of('subscribed').length === 1);
    await db.query(`INSERT INTO item (id, status) VALUES ('after', 'open')`);
    await second.until((r) => r.of('changes').some((e) => JSON.stringify(e.data).includes('"after"')));
    expect(second.of('resync')).toEqual([]);
    expect(second.of('snapshot')).toEqual([]);
    second.close();
  }, 90_000);
});

describe('restarting a node', () => {
  const node = restartableNode(`${SCHEMA} CREATE TABLE noise (id serial PRIMARY KEY, pad text);`);

  it('SIGTERM and SIGKILL while commits go on, quiet and busy with unsynced tables: every client resumes, none resyncs', async () => {
    const { db, clients } = node;
    let server = await node.start();
    for (const transport of ['sse', 'ws', 'ws'] as const)
      clients.push(watchedClient(server.url, [{ id: 'counter', collection: 'counters' }], undefined, transport));
    await Promise.all(clients.map((c) => c.subs['counter']?.ready()));

    let stop = false;
    let busy = false;
    let n = 0;
    const writer = (async () => {
      while (!stop) {
        const r = await db.query<{ n: number }>('UPDATE counter SET n = n + 1 WHERE id = 1 RETURNING n');
        n = r.rows[0]?.n ?? n;
        if (busy) await db.query(`INSERT INTO noise (pad) SELECT 'x' FROM generate_series(1, 50)`);
        await new Promise((res) => setTimeout(res, 2));
      }
    })();
    const converged = (what: string) =>
      eventually(
        () => clients.every((c) => (c.subs['counter']?.get('1')?.['n'] as number) >= n && n > 0),
        30_000,
        what,
      );

    for (const phase of ['quiet', 'busy'] as const) {
      busy = phase === 'busy';
      for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
        await new Promise((res) => setTimeout(res, 1_500)); // WAL (and, when busy, unsynced rows) flows
        await server.kill(signal);
        await new Promise((res) => setTimeout(res, 500)); // commits go on while it is down
        server = await node.restart();
        await converged(`${phase}, after ${signal}`);
      }
    }
    stop = true;
    await writer;
    await converged('at the end');
    for (const c of clients) {
      expect(c.resyncs).toBe(0);
      expect(new Set(c.applied).size).toBe(c.applied.length); // nothing applied twice
    }
  }, 120_000);
});
