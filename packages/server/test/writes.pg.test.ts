/**
 * The write path: one transaction per mutation under the user's rules,
 * optimistic concurrency, idempotency, ordering of mutation ids, and what the
 * stream shows the initiator (an ack) versus everyone else (the rows).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SynclineServer } from '../src/server.ts';
import type { Filter } from '../src/collections/filter/filter-types.ts';
import { COLLECTIONS, SCHEMA } from './fixtures.ts';
import { stateOf } from './replay-state.ts';
import { SseReader, eventsUrl } from './sse-reader.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';
import { startTestServer } from './test-server.ts';
import { testToken } from './test-token.ts';

let db: TestDatabase;
let server: SynclineServer;
const owned: Filter = { eq: ['owner', { claim: 'sub' }] };

beforeAll(async () => {
  db = await createTestDatabase(
    SCHEMA +
      `INSERT INTO counter (id, n) VALUES (1, 0);
       CREATE FUNCTION count_note() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN UPDATE counter SET n = n + 1 WHERE id = 1; RETURN NEW; END $$;
       CREATE TRIGGER note_counts AFTER INSERT ON note FOR EACH ROW EXECUTE FUNCTION count_note();`,
  );
  server = await startTestServer(db, COLLECTIONS, {
    writes: {
      item: {
        columns: ['id', 'status', 'owner', 'body', 'amount', 'big'],
        insert: owned,
        update: owned,
        delete: owned,
      },
      note: { columns: ['item_id', 'body'], insert: true },
    },
  });
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

let nextId = 1;
const seq = new Map<string, number>();
/** POSTs a mutation as `user` from `clientId`, numbering mutations per client unless told. */
async function mutate(user: string, clientId: string, body: object, mutationId?: number) {
  const id = mutationId ?? (seq.get(clientId) ?? 0) + 1;
  if (mutationId === undefined) seq.set(clientId, id);
  const res = await fetch(new URL('/v1/mutate', server.url), {
    method: 'POST',
    headers: { Authorization: `Bearer ${testToken(user)}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ clientId, mutationId: id, ...body }),
  });
  return { status: res.status, body: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
}
const fresh = () => `w${nextId++}`;

describe('writes', () => {
  it('applies all ops of a mutation in one transaction and returns the rows, with their stream cursor', async () => {
    const id = fresh();
    const r = await mutate('ann', 'c-ann', {
      ops: [
        {
          type: 'insert',
          table: 'item',
          row: { id, status: 'open', owner: 'ann', big: '9007199254740993', amount: '12.50' },
        },
        { type: 'set', table: 'item', id, key: 'body', value: 'hello', expectedVersion: 1 },
        { type: 'update', table: 'item', id, values: { status: 'done', body: 'bye' } },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.body.rows.map((x: { version: number }) => x.version)).toEqual([1, 2, 3]);
    expect(r.body.rows[2]).toMatchObject({
      table: 'public.item',
      key: id,
      row: { status: 'done', body: 'bye', big: '9007199254740993', amount: '12.50' },
    });
    expect(r.body.cursor).toMatch(/^[0-9a-f]{24}$/);
    const d = await mutate('ann', 'c-ann', { ops: [{ type: 'delete', table: 'item', id, expectedVersion: 3 }] });
    expect(d.body.rows).toEqual([{ table: 'public.item', key: id, row: null, version: 3 }]);
  });

  it('two concurrent updates with the same expectedVersion: exactly one wins, the other gets 409 with the winner’s row (200 times)', async () => {
    const id = fresh();
    await mutate('bo', 'c-bo-0', { ops: [{ type: 'insert', table: 'item', row: { id, status: 's0', owner: 'bo' } }] });
    for (let i = 0; i < 200; i++) {
      const version = i + 1;
      const [a, b] = await Promise.all([
        mutate('bo', 'c-bo-a', {
          ops: [{ type: 'set', table: 'item', id, key: 'status', value: `a${i}`, expectedVersion: version }],
        }),
        mutate('bo', 'c-bo-b', {
          ops: [{ type: 'set', table: 'item', id, key: 'status', value: `b${i}`, expectedVersion: version }],
        }),
      ]);
      const statuses = [a.status, b.status].sort();
      expect(statuses, `round ${i}`).toEqual([200, 409]);
      const [win, lose] = a.status === 200 ? [a, b] : [b, a];
      expect(lose.body.error.code).toBe('CONFLICT');
      expect(lose.body.current).toEqual({ table: 'public.item', ...win.body.rows[0] });
      expect(lose.body.current.version).toBe(version + 1);
    }
  });

  it('a retried mutation (same ids) is applied once and answered the same', async () => {
    const body = { ops: [{ type: 'insert', table: 'note', row: { item_id: 'retry', body: 'once' } }] };
    const [first, concurrent] = await Promise.all([mutate('cy', 'c-cy', body, 1), mutate('cy', 'c-cy', body, 1)]);
    const later = await mutate('cy', 'c-cy', body, 1); // "the response timed out; send it again"
    const notes = await db.query(`SELECT * FROM note WHERE item_id = 'retry'`);
    expect(notes.rows).toHaveLength(1);
    for (const r of [first, concurrent, later]) {
      expect(r.status).toBe(200);
      expect(r.body.rows).toEqual(first.body.rows.length ? first.body.rows : concurrent.body.rows);
    }
    expect([first, concurrent, later].filter((r) => r.body.replayed).length).toBe(2);
  });

  it('refuses gaps in mutation ids, and a client id used by another user', async () => {
    expect(
      (await mutate('dee', 'c-dee', { ops: [{ type: 'insert', table: 'note', row: { body: 'a' } }] }, 5)).status,
    ).toBe(200);
    const gap = await mutate('dee', 'c-dee', { ops: [{ type: 'insert', table: 'note', row: { body: 'b' } }] }, 7);
    expect(gap).toMatchObject({ status: 400, body: { error: { code: 'BAD_REQUEST', expected: 6 } } });
    const stolen = await mutate('eve', 'c-dee', { ops: [{ type: 'insert', table: 'note', row: { body: 'c' } }] }, 6);
    expect(stolen).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
    expect((await db.query(`SELECT count(*)::int AS n FROM note WHERE body IN ('b', 'c')`)).rows[0]?.n).toBe(0);
  });

  it('a mutation that fails halfway changes nothing and reaches no client; its error is recorded', async () => {
    const watcher = new SseReader(
      eventsUrl(server.url, 'watcher', [
        { id: 'all', collection: 'items_all' },
        { id: 'notes', collection: 'notes' },
      ]),
    );
    await watcher.until((x) => x.of('snapshot').filter((e) => e.data.done).length === 2);
    const id = fresh();
    const r = await mutate('fay', 'c-fay', {
      ops: [
        { type: 'insert', table: 'item', row: { id, status: 'open', owner: 'fay' } },
        { type: 'insert', table: 'note', row: { item_id: id, body: 'half' } },
        { type: 'insert', table: 'item', row: { id, status: 'dup', owner: 'fay' } }, // duplicate key
      ],
    });
    expect(r.status).toBe(409);
    expect(r.body.error).toMatchObject({ code: 'CONFLICT', op: 2 });
    expect((await db.query(`SELECT count(*)::int AS n FROM item WHERE id = $1`, [id])).rows[0]?.n).toBe(0);
    expect((await db.query(`SELECT count(*)::int AS n FROM note WHERE body = 'half'`)).rows[0]?.n).toBe(0);
    // Recorded: the same mutation again gets the same error, and the next id is free.
    const again = await mutate('fay', 'c-fay', { ops: [{ type: 'insert', table: 'note', row: { body: 'x' } }] }, 1);
    expect(again.body.error).toMatchObject({ code: 'CONFLICT', op: 2 });
    const marker = fresh();
    expect(
      (
        await mutate('fay', 'c-fay', {
          ops: [{ type: 'insert', table: 'item', row: { id: marker, status: 'open', owner: 'fay' } }],
        })
      ).status,
    ).toBe(200);
    await watcher.until((x) => stateOf(x.events, 'all').has(marker));
    expect(JSON.stringify(watcher.events)).not.toContain(id);
    expect(JSON.stringify(watcher.events)).not.toContain('half');
    watcher.close();
  });

  it('the initiator gets an ack instead of its rows, and still the rows of side effects; others get everything, with the mutation ids', async () => {
    const subs = [
      { id: 'all', collection: 'items_all' },
      { id: 'count', collection: 'counters' },
    ];
    const mine = new SseReader(eventsUrl(server.url, 'c-gus', subs, { token: testToken('gus') }));
    const theirs = new SseReader(eventsUrl(server.url, 'c-hal', subs, { token: testToken('hal') }));
    for (const r of [mine, theirs]) await r.until((x) => x.of('snapshot').filter((e) => e.data.done).length === 2);

    const id = fresh();
    // Two ops on one row: the stream carries two changes; the response covers both.
    const a = await mutate('gus', 'c-gus', {
      ops: [
        { type: 'insert', table: 'item', row: { id, status: 'open', owner: 'gus' } },
        { type: 'set', table: 'item', id, key: 'body', value: 'second' },
      ],
    });
    await mine.until((x) => x.of('ack').length === 1);
    // No rows, but which subscription they belong to: the client applies them from its answer.
    expect(mine.of('ack')[0]?.data).toEqual({
      cursor: a.body.cursor,
      mutations: [{ clientId: 'c-gus', mutationId: 1 }],
      covered: [
        { subscription: 'all', op: 'insert', key: id, version: 1 },
        { subscription: 'all', op: 'update', key: id, version: 2 },
      ],
    });
    expect(mine.of('ack')[0]?.id).toBe(a.body.cursor);
    expect(mine.of('changes')).toHaveLength(0);
    await theirs.until((x) => x.of('changes').length === 1);
    expect(theirs.of('changes')[0]?.data).toMatchObject({
      cursor: a.body.cursor,
      mutations: [{ clientId: 'c-gus', mutationId: 1 }],
      changes: [
        { subscription: 'all', op: 'insert', key: id, version: 1 },
        { subscription: 'all', op: 'update', key: id, version: 2 },
      ],
    });

    // A note: its trigger bumps the counter in the same transaction. The initiator has no note
    // subscription, so it gets exactly the side effect; the other client gets it too.
    const b = await mutate('gus', 'c-gus', {
      ops: [{ type: 'insert', table: 'note', row: { item_id: id, body: 'side effect' } }],
    });
    await mine.until((x) => x.of('changes').length === 1);
    expect(mine.of('changes')[0]?.data).toMatchObject({
      cursor: b.body.cursor,
      mutations: [{ clientId: 'c-gus', mutationId: 2 }],
      changes: [{ subscription: 'count', op: 'update', key: '1' }],
    });
    await theirs.until((x) => x.of('changes').length === 2);
    mine.close();
    theirs.close();
  });

  it('refuses writes to rows and columns the rules forbid (403), changing nothing', async () => {
    const id = fresh();
    await mutate('ivy', 'c-ivy', {
      ops: [{ type: 'insert', table: 'item', row: { id, status: 'open', owner: 'ivy' } }],
    });
    const before = (await db.query(`SELECT * FROM item WHERE id = $1`, [id])).rows[0];
    const attempts = [
      { type: 'update', table: 'item', id, values: { status: 'stolen' } },
      { type: 'set', table: 'item', id, key: 'owner', value: 'jon' }, // would move it to jon: the new row must match too
      { type: 'delete', table: 'item', id },
      { type: 'insert', table: 'item', row: { id: fresh(), status: 'open', owner: 'ivy' } }, // as someone else
      { type: 'set', table: 'item', id, key: 'version', value: 99 }, // never client-set
    ];
    for (const [n, op] of attempts.entries()) {
      const user = n === 1 ? 'ivy' : 'jon';
      const r = await mutate(user, `c-${user}`, { ops: [op] });
      expect(r.status, JSON.stringify(op)).toBe(403);
      expect(r.body.error).toMatchObject({ code: 'FORBIDDEN', op: 0 });
    }
    const smuggle = await mutate('ivy', 'c-ivy', {
      ops: [{ type: 'insert', table: 'note', row: { id: 777, body: 'chosen id' } }],
    });
    expect(smuggle.body.error).toMatchObject({ code: 'FORBIDDEN', field: 'id' });
    expect((await db.query(`SELECT * FROM item WHERE id = $1`, [id])).rows[0]).toEqual(before);
    expect((await db.query(`SELECT count(*)::int AS n FROM note WHERE id = 777`)).rows[0]?.n).toBe(0);
  });

  it('malformed ops get 400 naming the op and field, and change nothing', async () => {
    const id = fresh();
    await mutate('kim', 'c-kim', {
      ops: [{ type: 'insert', table: 'item', row: { id, status: 'open', owner: 'kim' } }],
    });
    const cases: Array<[object, number, string | undefined]> = [
      [{ type: 'insert', table: 'nope', row: { a: 1 } }, 0, 'table'],
      [{ type: 'update', table: 'item', id, values: { nope: 1 } }, 0, 'nope'],
      [{ type: 'set', table: 'item', id, key: 'amount', value: 'abc' }, 0, 'amount'],
      [{ type: 'set', table: 'item', id, key: 'big', value: 1.5 }, 0, 'big'],
      [{ type: 'set', table: 'item', id, key: 'body', value: 'x'.repeat(20_000) }, 0, 'body'],
      [{ type: 'set', table: 'item', id, key: 'body', value: { $gt: 1 } }, 0, 'body'],
      [{ type: 'set', table: 'item', id: "x' OR '1'='1", key: 'body', value: 'v' }, 0, 'id'],
    ];
    for (const [op, index, field] of cases) {
      const r = await mutate('kim', 'c-kim', {
        ops: [{ type: 'set', table: 'item', id, key: 'body', value: 'fine' }, op],
      });
      expect(r.status, JSON.stringify(op).slice(0, 80)).toBe(r.body.error?.code === 'NOT_FOUND' ? 404 : 400);
      expect(r.body.error.op, JSON.stringify(r.body)).toBe(index + 1);
      if (field) expect(r.body.error.field).toBe(field);
    }
    const shape = await mutate('kim', 'c-kim', { ops: [{ type: 'update', table: 'item' }] });
    expect(shape).toMatchObject({ status: 400, body: { error: { code: 'BAD_REQUEST', op: 0 } } });
    expect((await db.query(`SELECT body, version FROM item WHERE id = $1`, [id])).rows[0]).toEqual({
      body: null,
      version: 1,
    });
  });

  it('a malformed mutation is recorded like any refusal, so the client’s next id is accepted', async () => {
    const bad = await mutate('lou', 'c-lou', {
      ops: [{ type: 'set', table: 'item', id: 'x', key: 'body', value: 'v', expectedVersion: null }],
    });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'BAD_REQUEST', op: 0 } } });
    const again = await mutate(
      'lou',
      'c-lou',
      { ops: [{ type: 'set', table: 'item', id: 'x', key: 'body', value: 'v', expectedVersion: null }] },
      1,
    );
    expect(again.body).toEqual(bad.body); // answered from the record
    const next = await mutate('lou', 'c-lou', {
      ops: [{ type: 'insert', table: 'note', row: { body: 'after a refusal' } }],
    });
    expect(next.status).toBe(200);
  });
});
