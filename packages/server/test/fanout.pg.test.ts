/**
 * Fan-out economics: identical snapshot requests share one query, a change
 * evaluates only the instances the routing index points at, and one message
 * for many subscribers is serialised once.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SynclineServer } from '../src/server.ts';
import { COLLECTIONS, SCHEMA } from './fixtures.ts';
import { SseReader, eventsUrl } from './sse-reader.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';
import { startTestServer } from './test-server.ts';

let db: TestDatabase;
let server: SynclineServer;
beforeAll(async () => {
  db = await createTestDatabase(SCHEMA);
  await db.query(
    `INSERT INTO item (id, status, owner) SELECT 'f' || g, 'open', 'o' || (g % 100) FROM generate_series(1, 300) g`,
  );
  server = await startTestServer(db, COLLECTIONS);
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

const allDone = (ids: string[]) => (r: SseReader) =>
  ids.every((id) => r.of('snapshot').some((e) => e.data.subscription === id && e.data.done));

it('coalesces concurrent identical snapshot requests into one query', async () => {
  const before = { ...server.router.stats };
  const subs = Array.from({ length: 20 }, (_, i) => ({
    id: `s${i}`,
    collection: 'items_by_owner',
    params: { owner: 'o42' },
  }));
  const r = new SseReader(eventsUrl(server.url, 'coalesce', subs));
  await r.until(allDone(subs.map((s) => s.id)));
  expect(server.router.stats.snapshotQueries - before.snapshotQueries).toBe(1);
  expect(server.router.stats.snapshotsCoalesced - before.snapshotsCoalesced).toBe(19);
  for (const s of subs)
    expect(
      r
        .of('snapshot')
        .filter((e) => e.data.subscription === s.id)
        .flatMap((e) => e.data.rows),
    ).toHaveLength(3);
  r.close();
});

it('routes a change only to the instances its values can match', async () => {
  const subs = Array.from({ length: 100 }, (_, i) => ({
    id: `o${i}`,
    collection: 'items_by_owner',
    params: { owner: `o${i}` },
  }));
  const r = new SseReader(eventsUrl(server.url, 'routing', subs));
  await r.until(allDone(subs.map((s) => s.id)));
  const before = server.router.stats.instancesEvaluated;
  await db.query(`UPDATE item SET owner = 'o8' WHERE id = 'f7'`); // moves from o7 to o8
  await r.until((x) => x.of('changes').length >= 1);
  // old owner's and new owner's instances only — not 100 (items_all/items_open are not subscribed here)
  expect(server.router.stats.instancesEvaluated - before).toBe(2);
  const ops = r
    .of('changes')[0]
    ?.data.changes.map((c: { subscription: string; op: string }) => `${c.subscription}:${c.op}`);
  expect(ops.sort()).toEqual(['o7:delete', 'o8:insert']);
  r.close();
});

it('serialises one transaction once for many connections that subscribed alike', async () => {
  const readers = Array.from(
    { length: 50 },
    (_, i) => new SseReader(eventsUrl(server.url, `fan${i}`, [{ id: 'open', collection: 'items_open' }])),
  );
  await Promise.all(readers.map((r) => r.until(allDone(['open']))));
  const before = { ...server.router.stats };
  await db.query(`UPDATE item SET body = 'fan' WHERE id = 'f1'`);
  await Promise.all(readers.map((r) => r.until((x) => x.of('changes').length >= 1)));
  expect(server.router.stats.messagesQueued - before.messagesQueued).toBe(50);
  expect(server.router.stats.framesSerialised - before.framesSerialised).toBe(1);
  const bodies = new Set(readers.map((r) => JSON.stringify(r.of('changes')[0]?.data)));
  expect(bodies.size).toBe(1);
  for (const r of readers) r.close();
});
