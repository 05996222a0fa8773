/**
 * RLS on every path, on the demo's policies, with collections that have no
 * filter at all — only RLS stands between users:
 *   - live over SSE and WebSocket: Alice gets none of Bob's rows; an order moved
 *     from her to Bob arrives as a delete, from Bob to her as an insert;
 *   - resume from a cursor replays none of Bob's rows;
 *   - chat messages (an EXISTS policy, checked by PostgreSQL): removing and
 *     adding a member moves the chat's messages out of and into a real client;
 *   - /v1/collections says which policies compiled.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineMutator, type SynclineServer } from '@syncline/server';
import { startDemoTestServer } from './testing/demo-test-server.ts';
import { TRANSPORTS, openStream, type StreamReader } from '../../../packages/server/test/stream-reader.ts';
import type { TestDatabase } from '../../../packages/server/test/test-database.ts';
import { testToken } from '../../../packages/server/test/test-token.ts';
import { stateOf } from '../../../packages/server/test/replay-state.ts';
import { eventually, watchedClient } from '../../../packages/server/test/client-harness.ts';
import { demoCollections } from './collections.ts';
import { DEMO_USERS } from './seed.ts';
import { demoMutators } from './mutators.ts';

const { alice, bob, dmitri, olga } = DEMO_USERS;
const as = (user: string, role: string) => testToken(user, { app_role: role });
const done = (id: string) => (r: StreamReader) =>
  r.of('snapshot').some((e) => e.data.subscription === id && e.data.done);

let db: TestDatabase;
let server: SynclineServer;
beforeAll(async () => {
  ({ db, server } = await startDemoTestServer({
    collections: [
      ...demoCollections,
      { name: 'orders_everything', table: 'order' },
      { name: 'messages_everything', table: 'chat_message' },
    ],
    mutators: [
      ...demoMutators,
      // Writes as the server: a note for the caller and one for Bob, both returned by tx.write.
      // A message into the caller's chat and one into another chat (database-checked policy).
      defineMutator('test.messageBoth', async (tx, args) => {
        const { mine, other } = args as { mine: string; other: string };
        for (const chatId of [mine, other])
          await tx.write({
            type: 'insert',
            table: 'chat_message',
            row: { chat_id: chatId, author_id: dmitri, body: 'both' },
          });
      }),
      defineMutator('test.notifyBoth', async (tx, _args, user) => {
        for (const userId of [user.userId, bob])
          await tx.write({
            type: 'insert',
            table: 'notification',
            row: { user_id: userId, kind: 'test', body: 'both' },
          });
      }),
    ],
  }));
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

/** Every change a reader got for `sub`, as [op, key, customer_id]. */
function changesOf(r: StreamReader, sub: string): Array<[string, string, unknown]> {
  return r
    .of('changes')
    .flatMap((e) => e.data.changes)
    .filter((c: { subscription: string }) => c.subscription === sub)
    .map((c: { op: string; key: string; row: { customer_id?: unknown } | null }) => [c.op, c.key, c.row?.customer_id]);
}

async function newOrder(customer: string, title: string): Promise<string> {
  const r = await db.query<{ id: string }>(
    `INSERT INTO "order" (customer_id, title, address) VALUES ($1, $2, 'x') RETURNING id`,
    [customer, title],
  );
  return r.rows[0]?.id as string;
}

describe.each(TRANSPORTS)('RLS on the live stream over %s', (transport) => {
  it("Alice receives none of Bob's rows live; moves between them arrive as delete and insert", async () => {
    const r = openStream(
      transport,
      server.url,
      `alice-rls-${transport}`,
      [{ id: 'all', collection: 'orders_everything' }],
      as(alice, 'customer'),
    );
    await r.until(done('all'));
    for (const row of stateOf(r.events, 'all').values()) expect(row['customer_id']).toBe(alice);

    const bobs = await newOrder(bob, `bob's new ${transport}`);
    await db.query(`UPDATE "order" SET title = 'bob edited' WHERE id = $1`, [bobs]);
    const hers = await newOrder(alice, `alice's ${transport}`);
    await r.until((x) => changesOf(x, 'all').some(([, k]) => k === hers), 10_000, 'her own insert');

    // Hers moves to Bob: a delete. Bob's moves to her: an insert.
    await db.query(`UPDATE "order" SET customer_id = $2 WHERE id = $1`, [hers, bob]);
    await db.query(`UPDATE "order" SET customer_id = $2 WHERE id = $1`, [bobs, alice]);
    await r.until((x) => changesOf(x, 'all').some(([op, k]) => op === 'insert' && k === bobs), 10_000, 'move-in');
    const mine = changesOf(r, 'all');
    expect(mine.filter(([, k]) => k === hers)).toEqual([
      ['insert', hers, alice],
      ['delete', hers, undefined],
    ]);
    expect(mine.filter(([, k]) => k === bobs)).toEqual([['insert', bobs, alice]]);
    for (const [op, , customer] of mine) if (op !== 'delete') expect(customer).toBe(alice);
    r.close();
    await db.query(`UPDATE "order" SET customer_id = $2 WHERE id = $1`, [bobs, bob]);
  });
});

describe.each(TRANSPORTS)('RLS on resume over %s', (transport) => {
  it("replays none of Bob's rows to Alice from her cursor", async () => {
    const token = as(alice, 'customer');
    const first = openStream(
      transport,
      server.url,
      `alice-resume-${transport}`,
      [{ id: 'all', collection: 'orders_everything' }],
      token,
    );
    await first.until(done('all'));
    const marker = await newOrder(alice, 'marker 1');
    await first.until((x) => x.of('changes').some((e) => JSON.stringify(e.data).includes(marker)));
    const cursor = first.of('changes').at(-1)?.id as string;
    first.close();

    const bobs = await newOrder(bob, 'bob while alice was away');
    await db.query(`UPDATE "order" SET customer_id = $2 WHERE id = $1`, [marker, bob]); // hers leaves her
    const back = await newOrder(alice, 'marker 2');

    const second = openStream(
      transport,
      server.url,
      `alice-resume-${transport}`,
      [{ id: 'all', collection: 'orders_everything', cursor }],
      token,
    );
    await second.until((x) => x.of('changes').some((e) => JSON.stringify(e.data).includes(back)), 10_000, 'replay');
    expect(second.of('snapshot')).toEqual([]);
    expect(second.of('resync')).toEqual([]);
    const replayed = changesOf(second, 'all');
    expect(replayed).toEqual([
      ['delete', marker, undefined],
      ['insert', back, alice],
    ]);
    expect(JSON.stringify(second.events)).not.toContain(bobs);
    second.close();
  });
});

describe('RLS checked by PostgreSQL (EXISTS over chat membership)', () => {
  it("moves a chat's messages out of and into a member's client live as they leave and rejoin", async () => {
    const chat = await db.query<{ id: string }>(`SELECT id FROM chat WHERE driver_id = $1 LIMIT 1`, [dmitri]);
    const chatId = chat.rows[0]?.id as string;
    await db.query(`INSERT INTO chat_message (chat_id, author_id, body) VALUES ($1, $2, 'hello dmitri')`, [
      chatId,
      dmitri,
    ]);
    const expected = async () => {
      const r = await db.query<{ id: string }>(
        `SELECT m.id FROM chat_message m JOIN chat c ON c.id = m.chat_id WHERE $1 IN (c.customer_id, c.driver_id)`,
        [dmitri],
      );
      return new Set(r.rows.map((x) => x.id));
    };
    const w = watchedClient(
      server.url,
      [{ id: 'm', collection: 'messages_everything' }],
      () => as(dmitri, 'driver'),
      'ws',
    );
    try {
      const sub = w.subs['m'];
      if (!sub) throw new Error('no subscription');
      await sub.ready();
      const same = async () => {
        const want = await expected();
        const have = new Set(sub.rows().map((r) => String(r['id'])));
        return want.size === have.size && [...want].every((k) => have.has(k));
      };
      await eventually(same, 10_000, 'initial messages');
      const before = sub.rows().length;
      expect(before).toBeGreaterThan(0);

      // A message in his chat arrives live; one in a chat he is not in never does.
      const other = await db.query<{ id: string }>(
        `SELECT id FROM chat WHERE driver_id IS DISTINCT FROM $1 AND customer_id <> $1 LIMIT 1`,
        [dmitri],
      );
      await db.query(`INSERT INTO chat_message (chat_id, author_id, body) VALUES ($1, $2, 'not for dmitri')`, [
        other.rows[0]?.id,
        olga,
      ]);
      await db.query(`INSERT INTO chat_message (chat_id, author_id, body) VALUES ($1, $2, 'for dmitri')`, [
        chatId,
        olga,
      ]);
      await eventually(() => sub.rows().some((r) => r['body'] === 'for dmitri'), 10_000, 'live message');
      expect(sub.rows().some((r) => r['body'] === 'not for dmitri')).toBe(false);

      // He leaves the chat: its messages move out. He rejoins: they move back in.
      await db.query(`UPDATE chat SET driver_id = $2 WHERE id = $1`, [chatId, olga]);
      await eventually(
        async () => (await same()) && !sub.rows().some((r) => r['chat_id'] === chatId),
        10_000,
        'moved out',
      );
      await db.query(`UPDATE chat SET driver_id = $2 WHERE id = $1`, [chatId, dmitri]);
      await eventually(
        async () => (await same()) && sub.rows().some((r) => r['chat_id'] === chatId),
        10_000,
        'moved in',
      );
      expect(JSON.stringify(sub.rows())).not.toContain('not for dmitri');
    } finally {
      await w.client.close();
    }
  });
});

describe('RLS on mutation answers', () => {
  it('leaves rows the caller may not read out of the answer; they still reach the user who may', async () => {
    const bobStream = openStream(
      'ws',
      server.url,
      'bob-notes',
      [{ id: 'n', collection: 'user_notifications' }],
      as(bob, 'customer'),
    );
    await bobStream.until(done('n'));
    const res = await fetch(new URL('/v1/mutate', server.url), {
      method: 'POST',
      headers: { Authorization: `Bearer ${as(alice, 'customer')}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ clientId: 'alice-notes', mutationId: 1, mutator: 'test.notifyBoth' }),
    });
    const body = (await res.json()) as { ok: boolean; rows: Array<{ table: string; row: { user_id: string } | null }> };
    expect(res.status).toBe(200);
    expect(body.rows.map((r) => r.row?.user_id)).toEqual([alice]);
    await bobStream.until(
      (x) => x.of('changes').some((e) => JSON.stringify(e.data).includes('"both"')),
      10_000,
      'bob gets his',
    );
    bobStream.close();
  });
});

describe('RLS on mutation answers, checked by PostgreSQL', () => {
  it('leaves a message in a chat the caller is not in out of the answer, in the same transaction', async () => {
    const mine = (await db.query<{ id: string }>(`SELECT id FROM chat WHERE driver_id = $1 LIMIT 1`, [dmitri])).rows[0]
      ?.id;
    const other = (
      await db.query<{ id: string }>(
        `SELECT id FROM chat WHERE driver_id IS DISTINCT FROM $1 AND customer_id <> $1 LIMIT 1`,
        [dmitri],
      )
    ).rows[0]?.id;
    const res = await fetch(new URL('/v1/mutate', server.url), {
      method: 'POST',
      headers: { Authorization: `Bearer ${as(dmitri, 'driver')}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        clientId: 'dmitri-msgs',
        mutationId: 1,
        mutator: 'test.messageBoth',
        args: { mine, other },
      }),
    });
    const body = (await res.json()) as { rows: Array<{ row: { chat_id: string } | null }> };
    expect(res.status).toBe(200);
    expect(body.rows.map((r) => r.row?.chat_id)).toEqual([mine]);
  });
});

describe('what RLS costs', () => {
  it('GET /v1/collections says per collection which policies compiled and which the database checks', async () => {
    const res = await fetch(new URL('/v1/collections', server.url), {
      headers: { Authorization: `Bearer ${as(alice, 'customer')}` },
    });
    const body = (await res.json()) as {
      collections: Array<{
        name: string;
        rls: { checkedBy: string; policies?: Array<{ name: string; checkedBy: string; reason?: string }> };
      }>;
    };
    const of = (name: string) => body.collections.find((c) => c.name === name)?.rls;
    expect(of('orders_everything')?.checkedBy).toBe('memory');
    expect(
      of('orders_everything')
        ?.policies?.map((p) => p.name)
        .sort(),
    ).toEqual(['order_as_customer', 'order_as_dispatcher', 'order_as_driver', 'order_pending_for_drivers']);
    expect(of('messages_everything')?.checkedBy).toBe('database');
    expect(of('messages_everything')?.policies?.[0]?.reason).toBe('EXISTS');
  });
});

describe('policy changes at run time', () => {
  it('ALTER POLICY, DROP POLICY and DISABLE ROW LEVEL SECURITY while clients are subscribed: they converge to the new rules', async () => {
    const expected = async (user: string) => {
      const c = await db.pool.connect();
      try {
        await c.query('BEGIN');
        await c.query(`SELECT set_config('request.jwt.claims', $1, true)`, [
          JSON.stringify({ sub: user, app_role: 'customer' }),
        ]);
        await c.query('SET LOCAL ROLE dispatch_user');
        const r = await c.query<{ id: string }>(`SELECT id FROM "order"`);
        await c.query('COMMIT');
        return new Set(r.rows.map((x) => x.id));
      } finally {
        c.release();
      }
    };
    const w = watchedClient(
      server.url,
      [{ id: 'all', collection: 'orders_everything' }],
      () => as(alice, 'customer'),
      'ws',
    );
    const sub = w.subs['all'];
    if (!sub) throw new Error('no subscription');
    const converged = (what: string) =>
      eventually(
        async () => {
          const want = await expected(alice);
          const have = new Set(sub.rows().map((r) => String(r['id'])));
          return want.size === have.size && [...want].every((k) => have.has(k));
        },
        15_000,
        what,
      );
    try {
      await sub.ready();
      await converged('initial');
      const initial = sub.rows().length;
      expect(initial).toBeGreaterThan(0);

      // Customers now see every order of theirs and Bob's (a wider rule), then only pending ones.
      await db.query(
        `ALTER POLICY order_as_customer ON "order" USING (customer_id::text = app_user_id() OR customer_id = '${bob}'::uuid)`,
      );
      await converged('after widening ALTER POLICY');
      expect(sub.rows().some((r) => r['customer_id'] === bob)).toBe(true);
      await db.query(
        `ALTER POLICY order_as_customer ON "order" USING (customer_id::text = app_user_id() AND status = 'pending')`,
      );
      await converged('after narrowing ALTER POLICY');
      expect(sub.rows().every((r) => r['status'] === 'pending')).toBe(true);

      await db.query(`DROP POLICY order_as_customer ON "order"`);
      await converged('after DROP POLICY');
      expect(sub.rows()).toEqual([]);

      // Live changes follow the new rules too.
      const id = await newOrder(alice, 'after drop');
      await db.query(`ALTER TABLE "order" DISABLE ROW LEVEL SECURITY`);
      await converged('after DISABLE ROW LEVEL SECURITY');
      expect(sub.rows().some((r) => r['id'] === id)).toBe(true);
      expect(sub.rows().some((r) => r['customer_id'] === bob)).toBe(true);
    } finally {
      await db.query(`ALTER TABLE "order" ENABLE ROW LEVEL SECURITY`);
      await db
        .query(`CREATE POLICY order_as_customer ON "order" FOR SELECT USING (customer_id::text = app_user_id())`)
        .catch(() => db.query(`ALTER POLICY order_as_customer ON "order" USING (customer_id::text = app_user_id())`));
      await w.client.close();
    }
  });
});
