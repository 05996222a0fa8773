import { PROTOCOL_VERSION } from '@syncline/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SynclineServer } from '../src/server.ts';
import { COLLECTIONS, SCHEMA } from './fixtures.ts';
import { TRANSPORTS, openStream, type StreamReader } from './stream-reader.ts';
import type { TestDatabase } from './test-database.ts';
import { createTestDatabase } from './test-database.ts';
import { startTestServer } from './test-server.ts';

const snapshotDone = (id: string) => (r: StreamReader) =>
  r.of('snapshot').some((e) => e.data.subscription === id && e.data.done);

// One suite, two transports: the same messages must arrive over SSE and WebSocket.
// Each transport gets its own database and server, so the assertions stay exact.
describe.each(TRANSPORTS)('core pipeline over %s', (transport) => {
  let db: TestDatabase;
  let server: SynclineServer;
  beforeAll(async () => {
    db = await createTestDatabase(SCHEMA);
    server = await startTestServer(db, COLLECTIONS);
  });
  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });
  const open = (subs: object[]) => openStream(transport, server.url, `c${Math.random().toString(36).slice(2)}`, subs);

  it('sends hello, then a snapshot, then direct-SQL insert/update/delete with the right op and row', async () => {
    await db.query(`INSERT INTO item (id, status, big, amount) VALUES ('a1', 'open', 9007199254740993, 12.50)`);
    const r = open([{ id: 'all', collection: 'items_all' }]);
    await r.until(snapshotDone('all'));
    expect(r.events[0]?.event).toBe('hello');
    expect(r.events[0]?.data.protocol).toBe(PROTOCOL_VERSION);
    const snap = r.of('snapshot').flatMap((e) => e.data.rows);
    expect(snap).toEqual([
      {
        key: 'a1',
        version: 1,
        row: {
          id: 'a1',
          status: 'open',
          owner: null,
          big: '9007199254740993',
          amount: '12.50',
          body: null,
          version: 1,
        },
      },
    ]);

    await db.query(`INSERT INTO item (id, status) VALUES ('a2', 'open')`);
    await db.query(`UPDATE item SET body = 'x' WHERE id = 'a2'`);
    await db.query(`DELETE FROM item WHERE id = 'a1'`);
    await r.until((x) => x.of('changes').length >= 3);
    const ops = r.of('changes').map((e) => e.data.changes.map((c: { op: string; key: string }) => `${c.op}:${c.key}`));
    expect(ops).toEqual([['insert:a2'], ['update:a2'], ['delete:a1']]);
    const upd = r.of('changes')[1]?.data.changes[0];
    expect(upd).toMatchObject({ subscription: 'all', row: { id: 'a2', body: 'x', version: 2 }, version: 2 });
    // every changes event carries its cursor (SSE: as the event id)
    for (const e of r.of('changes')) expect(e.id).toBe(e.data.cursor);
    r.close();
  });

  it('delivers a multi-statement, multi-table transaction as exactly one changes event', async () => {
    const r = open([
      { id: 'i', collection: 'items_all' },
      { id: 'n', collection: 'notes' },
    ]);
    await r.until((x) => snapshotDone('i')(x) && snapshotDone('n')(x));
    const c = await db.pool.connect();
    await c.query('BEGIN');
    await c.query(`INSERT INTO item (id, status) VALUES ('t1', 'open'), ('t2', 'open')`);
    await c.query(`INSERT INTO note (item_id, body) VALUES ('t1', 'hello')`);
    await c.query(`UPDATE item SET status = 'done' WHERE id = 't2'`);
    await c.query('COMMIT');
    c.release();
    await db.query(`INSERT INTO note (item_id, body) VALUES ('t1', 'after')`);
    await r.until((x) => x.of('changes').length >= 2);
    const first = r.of('changes')[0]?.data;
    expect(
      first.changes.map(
        (ch: { subscription: string; op: string; key: string }) => `${ch.subscription}:${ch.op}:${ch.key}`,
      ),
    ).toEqual(['i:insert:t1', 'i:insert:t2', 'i:update:t2', 'n:insert:1']); // grouped by subscription, commit order within each
    expect(r.of('changes')[1]?.data.changes).toHaveLength(1);
    r.close();
  });

  it('turns an update out of a filter into a delete, and into a filter into an insert', async () => {
    await db.query(`INSERT INTO item (id, status) VALUES ('m1', 'open'), ('m2', 'closed')`);
    const r = open([{ id: 'open', collection: 'items_open' }]);
    await r.until(snapshotDone('open'));
    const keys = r.of('snapshot').flatMap((e) => e.data.rows.map((x: { key: string }) => x.key));
    expect(keys).toContain('m1');
    expect(keys).not.toContain('m2');
    await db.query(`UPDATE item SET status = 'closed' WHERE id = 'm1'`);
    await db.query(`UPDATE item SET status = 'open' WHERE id = 'm2'`);
    await db.query(`UPDATE item SET body = 'still closed' WHERE id = 'm1'`); // invisible: no event
    await db.query(`UPDATE item SET body = 'visible' WHERE id = 'm2'`);
    await r.until((x) => x.of('changes').length >= 3);
    const ops = r
      .of('changes')
      .map((e) => e.data.changes.map((c: { op: string; key: string }) => `${c.op}:${c.key}`).join());
    expect(ops).toEqual(['delete:m1', 'insert:m2', 'update:m2']);
    r.close();
  });
});
