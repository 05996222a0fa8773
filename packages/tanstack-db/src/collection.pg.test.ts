/**
 * TanStack DB collections over a real Syncline server and PostgreSQL: the
 * collection equals the database under random SQL writes and resyncs, a
 * transaction is one sync commit in every collection it touches, an optimistic
 * insert is confirmed once and never shown twice, and a join across two
 * collections stays live.
 */
import { createLiveQueryCollection, eq } from '@tanstack/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Row } from '@syncline/protocol';
import { wireTypes } from '../../server/src/capture/pg-values.ts';
import { prng } from '../../server/test/soak-ops.ts';
import { countedCollection, eventually, startEnv, type Env, type Item, type Note } from './testing/harness.ts';

let env: Env;
beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => {
  await env?.stop();
});

const itemKey = (r: Item) => r.id;
const noteKey = (r: Note) => r.id;
const dbItems = async (where = 'true') =>
  (await env.db.pool.query<Row>({ text: `SELECT * FROM item WHERE ${where} ORDER BY id`, types: wireTypes })).rows;
/** A row without TanStack DB's virtual props (`$synced`, `$origin`, …). */
const plain = <T extends object>(row: T | undefined) =>
  row && Object.fromEntries(Object.entries(row).filter(([k]) => !k.startsWith('$')));
const sorted = (rows: Iterable<Item>) =>
  [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((r) => plain(r));

describe('synclineCollectionOptions', () => {
  it('stays equal to the database under random SQL writes and resyncs (TRUNCATE)', async () => {
    const seed = process.env['SOAK_SEED'] !== undefined ? Number(process.env['SOAK_SEED']) : Date.now() % 2 ** 31;
    console.log(`[tanstack soak] seed ${seed} (SOAK_SEED=${seed} to reproduce)`);
    const random = prng(seed);
    const int = (n: number) => Math.floor(random() * n);
    const id = () => `s${String(int(40)).padStart(2, '0')}`;
    const status = () => (['open', 'done', 'closed'] as const)[int(3)];

    const client = env.client();
    const all = countedCollection<Item, string>({ client, collection: 'items_all', getKey: itemKey });
    const open = countedCollection<Item, string>({ client, collection: 'items_open', getKey: itemKey });
    await Promise.all([all.collection.stateWhenReady(), open.collection.stateWhenReady()]);

    // TRUNCATE: a resync the client answers by differential sync (it has rows; versions tell).
    // ALTER TABLE: a schema change, where versions cannot tell: a resync with a fresh snapshot.
    const truncateAt = new Set([120, 300]);
    for (let i = 0; i < 400; i++) {
      if (truncateAt.has(i)) {
        await env.db.query('TRUNCATE item');
        continue;
      }
      if (i === 200) {
        await env.db.query('ALTER TABLE item ADD COLUMN extra text');
        continue;
      }
      const roll = random();
      if (roll < 0.35) {
        await env.db.query(
          `INSERT INTO item (id, status, body) VALUES ($1, $2, $3)
           ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, body = EXCLUDED.body`,
          [id(), status(), `b${i}`],
        );
      } else if (roll < 0.65) {
        await env.db.query(`UPDATE item SET status = $2, body = body || '+' WHERE id = $1`, [id(), status()]);
      } else if (roll < 0.8) {
        // Several rows, one transaction.
        await env.db.query(`UPDATE item SET body = 'multi' || $2 WHERE id = ANY($1)`, [[id(), id(), id()], `${i}`]);
      } else {
        await env.db.query(`DELETE FROM item WHERE id = $1`, [id()]);
      }
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 20)); // let the stream catch up now and then
    }
    await env.db.query(`INSERT INTO item (id, status, body) VALUES ('zz-end', 'open', 'end')`);

    await eventually(() => all.collection.has('zz-end') && open.collection.has('zz-end'), 'the end marker');
    const expectAll = await dbItems();
    const expectOpen = await dbItems(`status = 'open'`);
    // The subscription itself first: a difference there is the client's, not this package's.
    expect(sorted(all.collection.utils.subscription()?.rows() as Item[])).toEqual(expectAll);
    expect(sorted(all.collection.values())).toEqual(expectAll);
    expect(sorted(open.collection.values())).toEqual(expectOpen);
    expect(client.stats.resyncs).toBeGreaterThanOrEqual(3);
    expect(client.stats.diffSyncs).toBeGreaterThanOrEqual(1);
    // A snapshot resync replaces the rows in the transaction that brings the fresh snapshot: never shown empty.
    expect(all.log.truncates).toBeGreaterThanOrEqual(1);
    expect(all.log.begins).toBe(all.log.commits);
    expect(all.collection.status).toBe('ready');
  });

  it('commits one transaction that touches two tables as one batch in both collections', async () => {
    const client = env.client();
    const items = countedCollection<Item, string>({ client, collection: 'items_all', getKey: itemKey });
    const notes = countedCollection<Note, number>({ client, collection: 'notes', getKey: noteKey });
    await Promise.all([items.collection.stateWhenReady(), notes.collection.stateWhenReady()]);
    const before = { items: items.log.commits, notes: notes.log.commits };
    const itemEvents: number[] = [];
    const noteEvents: number[] = [];
    items.collection.subscribeChanges((changes) => itemEvents.push(changes.length));
    notes.collection.subscribeChanges((changes) => noteEvents.push(changes.length));

    const c = await env.db.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query(`INSERT INTO item (id, status, body) VALUES ('tx-a', 'open', 'a'), ('tx-b', 'open', 'b')`);
      await c.query(`INSERT INTO note (item_id, body) VALUES ('tx-a', 'n1'), ('tx-b', 'n2'), ('tx-b', 'n3')`);
      await c.query('COMMIT');
    } finally {
      c.release();
    }

    await eventually(() => items.collection.has('tx-b') && notes.collection.size >= 3, 'the transaction');
    expect(items.log.commits - before.items).toBe(1);
    expect(notes.log.commits - before.notes).toBe(1);
    expect(items.log.batches.at(-1)?.sort()).toEqual(['tx-a', 'tx-b']);
    expect(notes.log.batches.at(-1)).toHaveLength(3);
    expect(itemEvents).toEqual([2]);
    expect(noteEvents).toEqual([3]);
  });

  it('confirms an optimistic insert once and never shows it twice', async () => {
    const client = env.client();
    const items = countedCollection<Item, string>({ client, collection: 'items_open', getKey: itemKey });
    await items.collection.stateWhenReady();
    const events: string[] = [];
    const seen: number[] = [];
    items.collection.subscribeChanges((changes) => {
      for (const c of changes) if (c.key === 'opt-1') events.push(c.type);
      seen.push(items.collection.toArray.filter((r) => r.id === 'opt-1').length);
    });

    // Only what the client may write: the server sets `version` (and the columns left out).
    const tx = items.collection.insert({ id: 'opt-1', status: 'open', body: 'mine' } as Item);
    expect(items.collection.get('opt-1')?.body).toBe('mine'); // optimistic, at once
    await tx.isPersisted.promise;

    // Settled only once the server's row is in the synced state: the row shown now is the server's.
    expect(items.collection.get('opt-1')).toMatchObject({ id: 'opt-1', body: 'mine', version: 1 });
    expect(items.log.batches.flat().filter((k) => k === 'opt-1')).toHaveLength(1);
    const server = (await dbItems(`id = 'opt-1'`))[0];
    expect(plain(items.collection.get('opt-1'))).toEqual(server);
    // Inserted once (then replaced by the server's version in place), never removed, never two copies.
    expect(events[0]).toBe('insert');
    expect(events.filter((t) => t !== 'update')).toEqual(['insert']);
    expect(Math.max(...seen)).toBe(1);
    expect(Math.min(...seen)).toBe(1);

    // Nothing arrives later that would show it again or take it away.
    await new Promise((r) => setTimeout(r, 300));
    expect(events.filter((t) => t !== 'update')).toEqual(['insert']);
    expect(items.collection.toArray.filter((r) => r.id === 'opt-1')).toHaveLength(1);
  });

  it('settles a write whose row is not for this collection, in a transaction that brings other rows', async () => {
    const client = env.client();
    const items = countedCollection<Item, string>({ client, collection: 'items_open', getKey: itemKey });
    await items.collection.stateWhenReady();
    // A trigger adds an open item for every closed one inserted: the writer's transaction then
    // reaches its connection as `changes` (the echo) and leaves out nothing for items_open.
    await env.db.query(`
      CREATE FUNCTION echo_closed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO item (id, status) VALUES (NEW.id || '-echo', 'open'); RETURN NEW; END $$;
      CREATE TRIGGER echo_closed AFTER INSERT ON item FOR EACH ROW WHEN (NEW.status = 'closed') EXECUTE FUNCTION echo_closed();`);
    try {
      const tx = items.collection.insert({ id: 'closed-1', status: 'closed', body: 'not open' } as Item);
      await tx.isPersisted.promise; // used to wait for 'closed-1' to reach items_open, which it never does
      await eventually(() => items.collection.has('closed-1-echo'), 'the echo');
      expect(items.collection.has('closed-1')).toBe(false);
    } finally {
      await env.db.query(`DROP TRIGGER echo_closed ON item; DROP FUNCTION echo_closed();`);
    }
  });

  it('rolls back an update the server refuses', async () => {
    const client = env.client();
    const notes = countedCollection<Note, number>({ client, collection: 'notes', getKey: noteKey });
    await notes.collection.stateWhenReady();
    // The server only allows inserts into note: an update is refused (FORBIDDEN) and TanStack rolls back.
    await env.db.query(`INSERT INTO note (item_id, body) VALUES ('dup', 'orig')`);
    await eventually(() => notes.collection.toArray.some((n) => n.body === 'orig'), 'the note');
    const note = notes.collection.toArray.find((n) => n.body === 'orig');
    const tx = notes.collection.update(note!.id, (draft) => {
      draft.body = 'changed';
    });
    expect(notes.collection.get(note!.id)?.body).toBe('changed');
    await expect(tx.isPersisted.promise).rejects.toMatchObject({ name: 'SyncError', code: 'FORBIDDEN' });
    expect(notes.collection.get(note!.id)?.body).toBe('orig');
  });

  it('keeps a live query that joins two collections up to date', async () => {
    const client = env.client();
    const items = countedCollection<Item, string>({ client, collection: 'items_all', getKey: itemKey });
    const notes = countedCollection<Note, number>({ client, collection: 'notes', getKey: noteKey });
    await env.db.query(`INSERT INTO item (id, status, body) VALUES ('j-1', 'open', 'first')`);
    await env.db.query(`INSERT INTO note (item_id, body) VALUES ('j-1', 'hello')`);
    const joined = createLiveQueryCollection((q) =>
      q
        .from({ n: notes.collection })
        .join({ i: items.collection }, ({ n, i }) => eq(n.item_id, i.id), 'inner')
        .where(({ i }) => eq(i.id, 'j-1'))
        .select(({ n, i }) => ({ note: n.body, item: i.body, status: i.status })),
    );
    await joined.preload();
    await eventually(() => joined.toArray.length === 1, 'the joined row');
    expect(joined.toArray.map(plain)).toEqual([{ note: 'hello', item: 'first', status: 'open' }]);

    await env.db.query(`UPDATE item SET body = 'renamed', status = 'done' WHERE id = 'j-1'`);
    await eventually(() => joined.toArray[0]?.item === 'renamed', 'the item change in the join');
    expect(joined.toArray.map(plain)).toEqual([{ note: 'hello', item: 'renamed', status: 'done' }]);

    await env.db.query(`INSERT INTO note (item_id, body) VALUES ('j-1', 'again')`);
    await eventually(() => joined.toArray.length === 2, 'a second note in the join');
    await env.db.query(`DELETE FROM item WHERE id = 'j-1'`);
    await eventually(() => joined.toArray.length === 0, 'the item deleted from the join');
  });
});
