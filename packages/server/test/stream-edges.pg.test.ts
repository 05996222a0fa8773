/**
 * The stream's unusual moments: TRUNCATE, a column added to a synced table, a
 * transaction above the size bound, unchanged TOAST values, a slot dropped by
 * hand, and a quiet database whose slot must still advance.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SynclineServer } from '../src/server.ts';
import { eventually, watchedClient, type WatchedClient } from './client-harness.ts';
import { COLLECTIONS, SCHEMA } from './fixtures.ts';
import { stateOf } from './replay-state.ts';
import { SseReader, eventsUrl } from './sse-reader.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';
import { startTestServer } from './test-server.ts';

let db: TestDatabase;
let server: SynclineServer;
const clients: WatchedClient[] = [];

beforeAll(async () => {
  db = await createTestDatabase(SCHEMA + 'CREATE TABLE unsynced (id serial PRIMARY KEY, v text);');
  server = await startTestServer(db, COLLECTIONS, { limits: { maxTransactionChanges: 200 } });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.client.close()));
  await server?.stop();
  await db?.drop();
});

function client(subs: Array<{ id: string; collection: string; params?: Record<string, string> }>): WatchedClient {
  const c = watchedClient(server.url, subs);
  clients.push(c);
  return c;
}

const done = (id: string) => (r: SseReader) => r.of('snapshot').some((e) => e.data.subscription === id && e.data.done);

describe('stream edge cases', () => {
  it('TRUNCATE empties subscribed clients (resync to the now-empty table)', async () => {
    await db.query(`INSERT INTO note (item_id, body) SELECT 'x', 'n' || g FROM generate_series(1, 20) g`);
    const c = client([{ id: 'notes', collection: 'notes' }]);
    await c.subs['notes']?.ready();
    expect(c.subs['notes']?.rows()).toHaveLength(20);
    await db.query('TRUNCATE note');
    await eventually(
      () => c.resyncs > 0 && c.subs['notes']?.status === 'live' && c.subs['notes']?.rows().length === 0,
      10_000,
      'empty after truncate',
    );
    await db.query(`INSERT INTO note (item_id, body) VALUES ('y', 'after truncate')`);
    await eventually(() => c.subs['notes']?.rows().length === 1, 10_000, 'live again');
  });

  it('after a column is added, clients resync to rows that have it, and keep streaming', async () => {
    await db.query(`INSERT INTO item (id, status) VALUES ('sc0', 'open')`);
    const c = client([{ id: 'all', collection: 'items_all' }]);
    await c.subs['all']?.ready();
    const before = c.resyncs;
    await db.query(`ALTER TABLE item ADD COLUMN priority integer DEFAULT 3`);
    await db.query(`INSERT INTO item (id, status, priority) VALUES ('sc1', 'open', 7)`);
    // A row written before the ALTER has the default in a fresh SELECT: the client must too.
    await eventually(
      () => c.resyncs > before && c.subs['all']?.get('sc0')?.['priority'] === 3,
      10_000,
      'resync to the new shape',
    );
    await db.query(`UPDATE item SET priority = 8 WHERE id = 'sc1'`);
    await eventually(() => c.subs['all']?.get('sc1')?.['priority'] === 8, 10_000, 'live after the schema change');
    expect(c.subs['all']?.get('sc1')).toMatchObject({ id: 'sc1', priority: 8, version: 2 });
  });

  it('a transaction above the size bound makes the affected collections resync instead of being held', async () => {
    const c = client([
      { id: 'all', collection: 'items_all' },
      { id: 'counter', collection: 'counters' },
    ]);
    await Promise.all([c.subs['all']?.ready(), c.subs['counter']?.ready()]);
    await db.query(`INSERT INTO item (id, status) SELECT 'big-' || g, 'open' FROM generate_series(1, 500) g`);
    await db.query(`INSERT INTO counter (id, n) VALUES (7, 7)`);
    const total = Number((await db.query<{ n: string }>('SELECT count(*)::text AS n FROM item')).rows[0]?.n);
    await eventually(() => c.subs['all']?.rows().length === total, 10_000, 'all rows after resync');
    expect(c.resyncs).toBeGreaterThan(0);
    await eventually(() => c.subs['counter']?.get('7') !== undefined, 10_000, 'other collection unaffected');
  });

  it('fills unchanged TOAST values, so a large column survives an update of another column', async () => {
    const big = randomBytes(40_000).toString('base64'); // incompressible: stored out of line
    await db.query(`INSERT INTO item (id, status, body) VALUES ('toast1', 'open', $1)`, [big]);
    const r = new SseReader(eventsUrl(server.url, 'toast', [{ id: 'open', collection: 'items_open' }]));
    await r.until(done('open'));
    await db.query(`UPDATE item SET owner = 'someone' WHERE id = 'toast1'`);
    await r.until((x) =>
      x.of('changes').some((e) => e.data.changes.some((ch: { key: string }) => ch.key === 'toast1')),
    );
    const row = stateOf(r.events, 'open').get('toast1');
    expect(row?.['owner']).toBe('someone');
    expect(row?.['body']).toBe(big);
    r.close();
  });

  it('advances the slot on a quiet database and on writes to unsynced tables, so WAL is not retained', async () => {
    const slotLsn = async () =>
      (
        await db.query<{ l: string }>(
          'SELECT confirmed_flush_lsn::text AS l FROM pg_replication_slots WHERE slot_name = $1',
          [db.slot],
        )
      ).rows[0]?.l ?? '';
    for (let i = 0; i < 50; i++) await db.query(`INSERT INTO unsynced (v) VALUES ('x')`);
    const target = (await db.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l')).rows[0]?.l as string;
    await eventually(
      async () =>
        (await db.query<{ ok: boolean }>('SELECT $1::pg_lsn >= $2::pg_lsn AS ok', [await slotLsn(), target])).rows[0]
          ?.ok === true,
      40_000,
      `slot to pass ${target}`,
    );
  }, 60_000);

  it('a slot dropped by hand is recreated and every client is told to resync, never resumed across the gap', async () => {
    await db.query('INSERT INTO counter (id, n) VALUES (1, 1) ON CONFLICT (id) DO NOTHING');
    const c = client([{ id: 'counter', collection: 'counters' }]);
    await c.subs['counter']?.ready();
    const before = c.resyncs;
    // The walsender holds the slot; terminate it and drop before we reconnect.
    for (let i = 0; i < 200; i++) {
      const r = await db.query<{ dropped: boolean }>(
        `SELECT pg_terminate_backend(active_pid) IS NOT NULL AS dropped FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL`,
        [db.slot],
      );
      void r;
      const ok = await db.query('SELECT pg_drop_replication_slot($1)', [db.slot]).then(
        () => true,
        () => false,
      );
      if (ok) break;
    }
    // Written while no slot exists: only a fresh snapshot can deliver it.
    await db.query('UPDATE counter SET n = 999 WHERE id = 1');
    await eventually(() => c.resyncs > before, 20_000, 'resync after slot loss');
    await eventually(() => c.subs['counter']?.get('1')?.['n'] === 999, 20_000, 'converged after resync');
    await db.query('UPDATE counter SET n = 1000 WHERE id = 1');
    await eventually(() => c.subs['counter']?.get('1')?.['n'] === 1000, 20_000, 'live on the new slot');
  });
});
