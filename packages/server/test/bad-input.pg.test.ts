/**
 * Bad input gets the protocol's error codes, changes nothing, and never hurts
 * the connection's other subscriptions: unknown collections, missing or
 * SQL-looking params, malformed JSON, forged/future/foreign cursors, oversized
 * bodies, other clients' connection ids.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '../src/bus/cursor.ts';
import type { SynclineServer } from '../src/server.ts';
import { COLLECTIONS, SCHEMA } from './fixtures.ts';
import { stateOf } from './replay-state.ts';
import { SseReader, eventsUrl } from './sse-reader.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';
import { startTestServer } from './test-server.ts';
import { testToken } from './test-token.ts';

let db: TestDatabase;
let server: SynclineServer;
beforeAll(async () => {
  db = await createTestDatabase(SCHEMA);
  await db.query(`INSERT INTO item (id, status, owner) VALUES ('b1', 'open', 'alice'), ('b2', 'open', 'bob')`);
  server = await startTestServer(db, COLLECTIONS);
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

const good = { id: 'ok', collection: 'items_open' };
const done = (id: string) => (r: SseReader) => r.of('snapshot').some((e) => e.data.subscription === id && e.data.done);

function errorsFor(r: SseReader, id: string) {
  return r
    .of('error')
    .filter((e) => e.data.subscription === id)
    .map((e) => e.data.code);
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(new URL(path, server.url), {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'X-Client-Id': 'bad-client',
      Authorization: `Bearer ${testToken('test-user')}`,
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { error?: { code: string }; ok?: boolean } };
}

describe('bad input over SSE', () => {
  it('reports unknown collections, missing and unknown params, and malformed subscriptions per subscription; others keep working', async () => {
    const url = new URL(
      eventsUrl(server.url, 'bad-1', [
        { id: 'nope', collection: 'no_such_collection' },
        { id: 'noparam', collection: 'items_by_owner' },
        { id: 'extra', collection: 'items_open', params: { owner: 'x' } },
        { id: 'shape', collection: 'items_open', evil: true },
        good,
      ]),
    );
    url.searchParams.append('subscribe', '{not json');
    const r = new SseReader(url.toString());
    await r.until(done('ok'));
    expect(r.status).toBe(200);
    expect(errorsFor(r, 'nope')).toEqual(['UNKNOWN_COLLECTION']);
    expect(errorsFor(r, 'noparam')).toEqual(['BAD_REQUEST']);
    expect(errorsFor(r, 'extra')).toEqual(['BAD_REQUEST']);
    expect(errorsFor(r, 'shape')).toEqual(['BAD_REQUEST']);
    expect(
      r
        .of('error')
        .filter((e) => e.data.subscription === undefined)
        .map((e) => e.data.code),
    ).toEqual(['BAD_REQUEST']);
    await db.query(`INSERT INTO item (id, status) VALUES ('b3', 'open')`);
    await r.until((x) => stateOf(x.events, 'ok').has('b3'));
    r.close();
  });

  it('treats params with quotes, semicolons and SQL keywords as plain values', async () => {
    const evil = [`alice' OR '1'='1`, `x'; DROP TABLE item; --`, `") OR true --`, `$1`, `\\'; SELECT pg_sleep(10); --`];
    const subs = evil.map((owner, i) => ({ id: `e${i}`, collection: 'items_by_owner', params: { owner } }));
    const r = new SseReader(eventsUrl(server.url, 'sqli', subs));
    await r.until((x) => subs.every((s) => done(s.id)(x)));
    for (const s of subs) expect(stateOf(r.events, s.id).size, s.params.owner).toBe(0);
    expect((await db.query('SELECT count(*)::int AS n FROM item')).rows[0]?.n).toBeGreaterThan(0);
    // A row whose owner really is that string is synced to exactly that subscription.
    await db.query(`INSERT INTO item (id, status, owner) VALUES ('evil', 'open', $1)`, [evil[1]]);
    await r.until((x) => stateOf(x.events, 'e1').has('evil'));
    for (const s of subs.filter((x) => x.id !== 'e1')) expect(stateOf(r.events, s.id).has('evil')).toBe(false);
    r.close();
  });

  it('answers forged, foreign and future cursors with a protocol error or resync, never a 500, a hang or other data', async () => {
    const head = server.router.headCursor() as string;
    const epoch = head.slice(0, 8);
    const otherEpoch = epoch === 'ffffffff' ? '00000000' : 'ffffffff';
    const r = new SseReader(
      eventsUrl(server.url, 'cur-1', [
        { id: 'forged', collection: 'items_open', cursor: "0'; DROP TABLE item; --" },
        { id: 'future', collection: 'items_open', cursor: encodeCursor(epoch, 0xffffffffffffn) },
        { id: 'foreign', collection: 'items_open', cursor: encodeCursor(otherEpoch, 1n) },
        { id: 'ancient', collection: 'items_open', cursor: encodeCursor(epoch, 0n) },
        good,
      ]),
    );
    await r.until(done('ok'));
    expect(r.status).toBe(200);
    expect(errorsFor(r, 'forged')).toEqual(['BAD_REQUEST']);
    const resyncs = Object.fromEntries(r.of('resync').map((e) => [e.data.subscription, e.data.reason]));
    expect(resyncs).toEqual({ future: 'cursor-ahead', foreign: 'cursor-epoch', ancient: 'cursor-too-old' });
    // None of them received rows.
    for (const id of ['forged', 'future', 'foreign', 'ancient']) expect(stateOf(r.events, id).size).toBe(0);
    r.close();

    // A forged Last-Event-ID is the same: an error for each subscription relying on it, stream stays up.
    const r2 = new SseReader(eventsUrl(server.url, 'cur-2', [{ id: 'x', collection: 'items_open' }]), {
      'Last-Event-ID': 'garbage',
    });
    await r2.until((x) => errorsFor(x, 'x').length > 0);
    expect(errorsFor(r2, 'x')).toEqual(['BAD_REQUEST']);
    r2.close();
  });

  it('rejects a missing clientId with 400 BAD_REQUEST', async () => {
    const res = await fetch(new URL(`/v1/sync/events?token=${testToken('test-user')}`, server.url));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('BAD_REQUEST');
  });
});

describe('bad input over HTTP', () => {
  it('subscribe/unsubscribe: malformed JSON, bad shape, oversized body, unknown or foreign connection id', async () => {
    const r = new SseReader(eventsUrl(server.url, 'bad-client', [good]));
    await r.until(done('ok'));
    const connectionId = r.events[0]?.data.connectionId as string;

    expect((await post('/v1/sync/subscribe', '{oops')).body.error?.code).toBe('BAD_REQUEST');
    expect((await post('/v1/sync/subscribe', { connectionId, subscription: { id: 'x' } })).status).toBe(400);
    const huge = await post('/v1/sync/subscribe', {
      connectionId,
      subscription: { id: 'h', collection: 'items_open', params: { pad: 'x'.repeat(70_000) } },
    });
    expect(huge).toMatchObject({ status: 413, body: { error: { code: 'TOO_LARGE' } } });
    expect((await post('/v1/sync/subscribe', { connectionId: 'nope', subscription: good })).status).toBe(404);
    const foreign = await post(
      '/v1/sync/subscribe',
      { connectionId, subscription: { id: 'steal', collection: 'items_open' } },
      { 'X-Client-Id': 'someone-else' },
    );
    expect(foreign.status).toBe(404);

    // A valid POST on the same connection works, and an unknown collection is reported on the stream.
    expect(
      (
        await post('/v1/sync/subscribe', {
          connectionId,
          subscription: { id: 'mine', collection: 'items_by_owner', params: { owner: 'bob' } },
        })
      ).body,
    ).toEqual({ ok: true });
    expect(
      (await post('/v1/sync/subscribe', { connectionId, subscription: { id: 'zz', collection: 'zz' } })).body,
    ).toEqual({ ok: true });
    await r.until((x) => done('mine')(x) && errorsFor(x, 'zz').length > 0);
    expect([...stateOf(r.events, 'mine').keys()]).toEqual(['b2']);
    expect(errorsFor(r, 'zz')).toEqual(['UNKNOWN_COLLECTION']);
    expect((await post('/v1/sync/unsubscribe', { connectionId, id: 'mine' })).body).toEqual({
      ok: true,
      removed: true,
    });
    r.close();
  });

  it('unknown routes under /v1 get a JSON 404', async () => {
    const res = await fetch(new URL('/v1/nope', server.url));
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
  });
});
