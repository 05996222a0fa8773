/**
 * Protection against bad clients: every malformed frame gets an error code and
 * changes nothing; oversized frames close with 1009, invalid UTF-8 with 1007;
 * bad tokens, foreign origins, floods, too many connections, idle sockets and
 * slow-sending clients are refused — and other clients never notice.
 */
import net from 'node:net';
import { ERROR_CODES } from '@syncline/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { SynclineServer } from '../src/server.ts';
import { COLLECTIONS, SCHEMA } from './fixtures.ts';
import { SseReader, eventsUrl } from './sse-reader.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';
import { startTestServer } from './test-server.ts';
import { testToken } from './test-token.ts';
import { WsReader, wsUrl } from './ws-reader.ts';

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

const live = (id: string) => (r: WsReader) => r.of('snapshot').some((e) => e.data.subscription === id && e.data.done);

/** Deterministic junk: a seeded generator so a failure names a reproducible frame. */
function junkFrames(n: number, seed = 42): string[] {
  let x = seed;
  const rnd = () => (x = (x * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const pick = <T>(a: T[]): T => a[Math.floor(rnd() * a.length)] as T;
  const big = (len: number) => 'x'.repeat(len);
  const makers: Array<() => string> = [
    () => '{' + big(Math.floor(rnd() * 50)),
    () => 'not json at all',
    () => '',
    () => '[]',
    () => 'null',
    () => '42',
    () => JSON.stringify({ type: pick(['subscribe', 'NOPE', 42, null, '']) }),
    () => JSON.stringify({ type: 'SUBSCRIBE' }),
    () => JSON.stringify({ type: 'SUBSCRIBE', subscription: { id: 'x' } }),
    () => JSON.stringify({ type: 'SUBSCRIBE', subscription: { id: big(200), collection: 'items_all' } }),
    () =>
      JSON.stringify({
        type: 'SUBSCRIBE',
        subscription: { id: 'p', collection: 'items_by_owner', params: { owner: { $ne: 1 } } },
      }),
    () => JSON.stringify({ type: 'SUBSCRIBE', subscription: { id: 'q', collection: big(50_000) } }),
    () => JSON.stringify({ type: 'UNSUBSCRIBE', id: 7 }),
    () => JSON.stringify({ type: 'PING', extra: big(60_000) }),
    () => JSON.stringify({ type: 'TOKEN_REFRESH', token: 12 }),
    () =>
      JSON.stringify({
        type: 'SUBSCRIBE',
        subscription: { id: 'c', collection: 'items_all', cursor: "1'; DROP TABLE item;--" },
      }),
    () => JSON.stringify({ type: 'SUBSCRIBE', subscription: { id: 'u', collection: 'no_such_thing' } }),
  ];
  return Array.from({ length: n }, () => pick(makers)());
}

describe('WebSocket protection', () => {
  it('answers SUBSCRIBE with SUBSCRIBED and PING with PONG', async () => {
    const r = new WsReader(wsUrl(server.url, 'basic'), [{ id: 'all', collection: 'items_all' }]);
    await r.until(live('all'));
    expect(r.of('subscribed')[0]?.data).toEqual({ id: 'all', table: 'public.item', count: 1 });
    r.send({ type: 'PING' });
    await r.until((x) => x.of('pong').length === 1);
    r.close();
  });

  it('survives 1,000 malformed frames: each gets an error code, and other clients keep receiving', async () => {
    const bystander = new WsReader(wsUrl(server.url, 'bystander'), [{ id: 'all', collection: 'items_all' }]);
    const victim = new WsReader(wsUrl(server.url, 'fuzzed'), [{ id: 'ok', collection: 'items_all' }]);
    await Promise.all([bystander.until(live('all')), victim.until(live('ok'))]);
    const frames = junkFrames(1000);
    let writes = 0;
    for (const [i, f] of frames.entries()) {
      victim.send(f);
      if (i % 100 === 0) await db.query(`INSERT INTO item (id, status) VALUES ($1, 'open')`, [`fuzz-${writes++}`]);
    }
    await victim.until((x) => x.of('error').length >= 1000, 20_000, '1000 errors');
    const codes = new Set(victim.of('error').map((e) => e.data.code as string));
    for (const c of codes) expect(ERROR_CODES).toContain(c);
    expect(victim.of('error')).toHaveLength(1000);
    // The fuzzed connection's own subscription and everyone else still get every change.
    await bystander.until((x) => x.of('changes').length >= writes, 10_000, 'bystander changes');
    await victim.until(
      (x) =>
        x.of('changes').filter((e) => e.data.changes.some((c: { subscription: string }) => c.subscription === 'ok'))
          .length >= writes,
    );
    expect(victim.ended).toBe(false);
    bystander.close();
    victim.close();
  });

  it('closes with 1009 on an oversized frame and 1007 on invalid UTF-8', async () => {
    const big = new WsReader(wsUrl(server.url, 'big'));
    await big.until((x) => x.of('hello').length === 1);
    big.send(JSON.stringify({ type: 'PING', pad: 'x'.repeat(70 * 1024) }));
    await big.closed();
    expect(big.closeCode).toBe(1009);

    const bad = new WsReader(wsUrl(server.url, 'utf8'));
    await bad.until((x) => x.of('hello').length === 1);
    bad.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    await bad.closed();
    expect(bad.closeCode).toBe(1007);
  });

  it('refuses a bad or expired token with ERROR AUTH_FAILED and a close, before any stream starts', async () => {
    for (const token of [
      'garbage',
      testToken('u', {}, -60),
      testToken('u', {}, 3600, 'another-secret-another-secret-another-secret'),
    ]) {
      const r = new WsReader(wsUrl(server.url, 'bad-token', token), [{ id: 'x', collection: 'items_all' }]);
      await r.closed();
      expect(r.events.map((e) => e.event)).toEqual(['error']);
      expect(r.of('error')[0]?.data.code).toBe('AUTH_FAILED');
      expect(r.closeCode).toBe(1008);
    }
    const sse = await fetch(eventsUrl(server.url, 'x', [], { token: 'garbage' }));
    expect(sse.status).toBe(401);
    expect(((await sse.json()) as { error: { code: string } }).error.code).toBe('AUTH_FAILED');
  });

  it('closes a socket that stops answering pings (idle timeout)', async () => {
    const r = new WsReader(wsUrl(server.url, 'idle'), [], { autoPong: false });
    await r.until((x) => x.of('hello').length === 1);
    await r.closed(10_000); // heartbeat 1 s in tests: gone after two unanswered pings
    expect(r.ended).toBe(true);
  });
});

describe('limits on a strict server', () => {
  let strict: SynclineServer;
  let sdb: TestDatabase;
  beforeAll(async () => {
    sdb = await createTestDatabase(SCHEMA);
    strict = await startTestServer(sdb, COLLECTIONS, {
      allowedOrigins: ['https://app.example'],
      limits: { maxConnectionsPerUser: 2, messagesPerSecond: 5, requestsPerSecond: 3, headersTimeoutMs: 500 },
    });
  });
  afterAll(async () => {
    await strict?.stop();
    await sdb?.drop();
  });

  it('rate-limits frames per connection with RATE_LIMITED, without closing it', async () => {
    const r = new WsReader(wsUrl(strict.url, 'flood', testToken('flooder')));
    await r.until((x) => x.of('hello').length === 1);
    for (let i = 0; i < 30; i++) r.send({ type: 'PING' });
    await r.until((x) => x.of('pong').length + x.of('error').length === 30);
    expect(r.of('error').every((e) => e.data.code === 'RATE_LIMITED')).toBe(true);
    expect(r.of('error').length).toBeGreaterThanOrEqual(15);
    expect(r.ended).toBe(false);
    r.close();
  });

  it('limits open streams per user across transports', async () => {
    const token = testToken('greedy');
    const a = new WsReader(wsUrl(strict.url, 'g1', token));
    const b = new SseReader(eventsUrl(strict.url, 'g2', [], { token }));
    await a.until((x) => x.of('hello').length === 1);
    await b.until((x) => x.of('hello').length === 1);
    const c = new WsReader(wsUrl(strict.url, 'g3', token));
    await c.closed();
    expect(c.of('error')[0]?.data.code).toBe('RATE_LIMITED');
    const d = await fetch(eventsUrl(strict.url, 'g4', [], { token }));
    expect(d.status).toBe(429);
    // another user is unaffected
    const other = new WsReader(wsUrl(strict.url, 'o1', testToken('modest')));
    await other.until((x) => x.of('hello').length === 1);
    for (const x of [a, other]) x.close();
    b.close();
  });

  it('limits HTTP requests per user with 429 RATE_LIMITED', async () => {
    const headers = { Authorization: `Bearer ${testToken('busy')}` };
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++)
      statuses.push((await fetch(new URL('/v1/collections', strict.url), { headers })).status);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(statuses[0]).toBe(200);
  });

  it('refuses streams from origins not on the list (HTTP 403 before the handshake)', async () => {
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(wsUrl(strict.url, 'evil', testToken('o')), { origin: 'https://evil.example' });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => {});
    });
    expect(status).toBe(403);
    const sse = await fetch(eventsUrl(strict.url, 'evil', [], { token: testToken('o') }), {
      headers: { Origin: 'https://evil.example' },
    });
    expect(sse.status).toBe(403);
    const ok = new WsReader(wsUrl(strict.url, 'good', testToken('o2')), [], { origin: 'https://app.example' });
    await ok.until((x) => x.of('hello').length === 1);
    ok.close();
  });

  it('cuts off a client that sends its headers too slowly', async () => {
    const port = new URL(strict.url).port;
    const closed = await new Promise<boolean>((resolve) => {
      const s = net.connect(Number(port), '127.0.0.1', () => s.write('GET /v1/health HTTP/1.1\r\nHost: x\r\n'));
      let answer = '';
      s.on('data', (d: Buffer) => (answer += d.toString())); // read, or 'close' never comes
      s.on('close', () => resolve(answer.startsWith('HTTP/1.1 408')));
      s.on('error', () => resolve(true));
      setTimeout(() => {
        resolve(false);
        s.destroy();
      }, 8_000);
    });
    expect(closed).toBe(true);
  });
});

describe('stream capacity', () => {
  let small: SynclineServer;
  let cdb: TestDatabase;
  beforeAll(async () => {
    cdb = await createTestDatabase(SCHEMA);
    small = await startTestServer(cdb, COLLECTIONS, { limits: { maxStreams: 2 } });
  });
  afterAll(async () => {
    await small?.stop();
    await cdb?.drop();
  });

  it('refuses streams past maxStreams with 503 / RATE_LIMITED, and health still answers', async () => {
    const a = new WsReader(wsUrl(small.url, 'cap-a', testToken('cap-a')));
    const b = new SseReader(eventsUrl(small.url, 'cap-b', [], { token: testToken('cap-b') }));
    await a.until((x) => x.of('hello').length === 1);
    await b.until((x) => x.of('hello').length === 1);
    const c = new WsReader(wsUrl(small.url, 'cap-c', testToken('cap-c')));
    await c.closed();
    expect(c.of('error')[0]?.data.code).toBe('RATE_LIMITED');
    const d = await fetch(eventsUrl(small.url, 'cap-d', [], { token: testToken('cap-d') }));
    expect(d.status).toBe(503);
    expect(((await d.json()) as { error: { retryable: boolean } }).error.retryable).toBe(true);
    expect((await fetch(new URL('/v1/health', small.url))).status).toBe(200);
    a.close();
    b.close();
  });
});
