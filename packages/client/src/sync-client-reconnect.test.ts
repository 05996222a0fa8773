import { describe, expect, it } from 'vitest';
import { cur, flush, sse } from './testing/fake-server.ts';
import { setupClient, subscribeParams } from './testing/setup-client.ts';

const networkError = () => Promise.reject(new TypeError('fetch failed'));

/** Subscription `a` got its snapshot at 10 on a first connection; a second one has just said hello. */
async function resumingOnSecondConnection() {
  const { server, client, hello, timers } = setupClient();
  const a = client.subscribe({ id: 'a', collection: 'orders' });
  await flush();
  hello();
  server.stream.push(
    sse('snapshot', { subscription: 'a', table: 'public.orders', rows: [], cursor: cur(10), done: true }),
  );
  server.stream.end();
  await flush();
  timers.advance(125);
  await flush();
  hello('conn-2');
  return { server, client, a };
}

describe('SyncClient connection lifecycle', () => {
  it('reconnects with each subscription cursor, and no Last-Event-ID that would resume a subscription without a snapshot', async () => {
    const { server, client, hello, timers } = setupClient();
    const states: string[] = [];
    client.on('state', (e) => states.push(e.state));
    const a = client.subscribe({ id: 'a', collection: 'orders' });
    client.subscribe({ id: 'b', collection: 'chat', params: { chatId: 'c' } });
    await flush();
    hello();
    const snap = (sub: string) =>
      sse('snapshot', { subscription: sub, table: 'public.orders', rows: [], cursor: cur(10), done: true });
    server.stream.push(snap('a') + snap('b'));
    server.stream.push(
      sse(
        'changes',
        { cursor: cur(11), changes: [{ subscription: 'a', op: 'insert', key: 'k', row: { k: 1 }, version: 1 }] },
        cur(11),
      ),
    );
    server.stream.end();
    await flush();
    expect(client.state).toBe('backoff');
    expect(client.connectionId).toBeUndefined();
    expect(timers.pending()).toEqual([125]); // first delay: 0.5 × 250

    timers.advance(125);
    await flush();
    expect(server.gets).toHaveLength(2);
    const again = server.gets[1]!;
    expect(again.headers.get('last-event-id')).toBeNull();
    expect(subscribeParams(again.url)).toEqual([
      { id: 'a', collection: 'orders', cursor: cur(11) },
      { id: 'b', collection: 'chat', params: { chatId: 'c' }, cursor: cur(10) },
    ]);
    hello('conn-2');
    // The resumed stream re-sends transaction 11: it must not apply twice.
    server.stream.push(
      sse(
        'changes',
        { cursor: cur(11), changes: [{ subscription: 'a', op: 'delete', key: 'k', row: null, version: 2 }] },
        cur(11),
      ),
    );
    await flush();
    expect(a.rows()).toEqual([{ k: 1 }]);
    expect(client.connectionId).toBe('conn-2');
    expect(client.stats.reconnects).toBe(1);
    expect(client.stats.connects).toBe(2);
    expect(states).toEqual(['connecting', 'open', 'backoff', 'connecting', 'open']);
    await client.close();
  });

  it('backs off exponentially with jitter, capped at 10 s, and resets after hello', async () => {
    const { server, client, hello, timers } = setupClient();
    for (let i = 0; i < 8; i++) server.nextGets.push(networkError);
    client.subscribe({ id: 'a', collection: 'orders' });
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      await flush();
      expect(client.state).toBe('backoff');
      const pending = timers.pending();
      expect(pending).toHaveLength(1); // only the sleep: no stray watchdog
      delays.push(pending[0]!);
      timers.advance(pending[0]!);
    }
    expect(delays).toEqual([125, 250, 500, 1000, 2000, 4000, 5000, 5000]);
    await flush();
    hello();
    server.stream.end();
    await flush();
    expect(timers.pending()).toEqual([125]);
    expect(client.stats.reconnects).toBe(8);
    await client.close();
  });

  it('reconnects when nothing arrives within 2.5 × heartbeatMs', async () => {
    const { server, client, hello, timers } = setupClient();
    client.subscribe({ id: 'a', collection: 'orders' });
    await flush();
    hello('conn-1', 1000);
    await flush();
    const first = server.stream;
    timers.advance(2400);
    first.push(': keep-alive comment\n\n');
    await flush();
    timers.advance(2400);
    first.push(sse('ping', {}));
    await flush();
    timers.advance(2400);
    await flush();
    expect(client.state).toBe('open');
    expect(client.stats.livenessTimeouts).toBe(0);

    timers.advance(100);
    await flush();
    expect(client.stats.livenessTimeouts).toBe(1);
    expect(first.aborted).toBe(true);
    expect(client.state).toBe('backoff');
    timers.advance(timers.pending()[0]!);
    await flush();
    expect(server.streams).toHaveLength(2);
    expect(client.state).toBe('connecting');
    await client.close();
  });

  it('gives up on a connection that never says hello', async () => {
    const { server, client, timers } = setupClient({ connectTimeoutMs: 5000 });
    client.subscribe({ id: 'a', collection: 'orders' });
    await flush();
    server.stream.push(': padding\n\n');
    timers.advance(4999);
    await flush();
    expect(client.state).toBe('connecting');
    timers.advance(1);
    await flush();
    expect(client.state).toBe('backoff');
    expect(client.stats.livenessTimeouts).toBe(1);
    await client.close();
  });

  it('stops for good on an AUTH_FAILED error event', async () => {
    const { server, client, hello, timers } = setupClient();
    const a = client.subscribe({ id: 'a', collection: 'orders' });
    await flush();
    hello();
    server.stream.push(sse('error', { code: 'AUTH_FAILED', message: 'token expired' }) + sse('ping', {}));
    await flush();
    expect(client.state).toBe('closed');
    expect(client.error?.code).toBe('AUTH_FAILED');
    expect(server.stream.aborted).toBe(true);
    await expect(a.ready()).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    timers.advance(60_000);
    await flush();
    expect(server.gets).toHaveLength(1);
    expect(timers.pending()).toEqual([]);
    expect(() => client.subscribe({ collection: 'x' })).toThrow(/closed/);
  });

  it('stops for good when the GET answers 401, but retries a 503', async () => {
    const { server, client, timers } = setupClient();
    server.nextGets.push(
      () => Response.json({ error: { code: 'INTERNAL', message: 'starting' } }, { status: 503 }),
      () => new Response(null, { status: 401 }),
    );
    client.subscribe({ id: 'a', collection: 'orders' });
    await flush();
    expect(client.state).toBe('backoff');
    expect(client.error?.code).toBe('INTERNAL');
    timers.advance(timers.pending()[0]!);
    await flush();
    expect(client.state).toBe('closed');
    expect(client.error?.code).toBe('AUTH_FAILED');
    expect(server.gets).toHaveLength(2);
  });

  it('discards a half-received snapshot when the connection drops', async () => {
    const { server, client, hello, timers } = setupClient();
    const a = client.subscribe({ id: 'a', collection: 'orders' });
    await flush();
    hello();
    server.stream.push(
      sse('snapshot', {
        subscription: 'a',
        table: 'public.orders',
        rows: [{ key: '1', row: { id: 1 }, version: 1 }],
        cursor: cur(5),
        done: false,
      }),
    );
    await flush();
    expect(a.status).toBe('snapshot');
    server.stream.fail(new TypeError('socket hang up'));
    await flush();
    expect(a.status).toBe('connecting');
    timers.advance(timers.pending()[0]!);
    await flush();
    hello('conn-2');
    server.stream.push(
      sse('snapshot', {
        subscription: 'a',
        table: 'public.orders',
        rows: [{ key: '2', row: { id: 2 }, version: 1 }],
        cursor: cur(6),
        done: true,
      }),
    );
    await flush();
    expect(a.rows()).toEqual([{ id: 2 }]);
    await client.close();
  });

  it('close() aborts the stream, clears timers and settles', async () => {
    const { server, client, hello, timers } = setupClient({ token: async () => 'fresh' });
    const a = client.subscribe({ id: 'a', collection: 'orders' });
    await flush();
    expect(server.gets[0]?.url.searchParams.get('token')).toBe('fresh');
    hello();
    await flush();
    expect(timers.pending()).toHaveLength(1); // the liveness watchdog
    await client.close();
    expect(client.state).toBe('closed');
    expect(server.stream.aborted).toBe(true);
    expect(timers.pending()).toEqual([]);
    await expect(a.ready()).rejects.toThrow('closed');
    await client.close(); // idempotent
  });

  it('a token function that throws counts as a failed attempt', async () => {
    let calls = 0;
    const { server, client, timers } = setupClient({
      token: () => (++calls === 1 ? Promise.reject(new Error('refresh failed')) : 'tok2'),
    });
    client.subscribe({ id: 'a', collection: 'orders' });
    await flush();
    expect(client.state).toBe('backoff');
    expect(server.gets).toHaveLength(0);
    timers.advance(timers.pending()[0]!);
    await flush();
    expect(server.gets[0]?.headers.get('authorization')).toBe('Bearer tok2');
    await client.close();
  });

  it('close() during backoff cancels the pending retry', async () => {
    const { server, client, timers } = setupClient();
    server.nextGets.push(networkError);
    client.subscribe({ id: 'a', collection: 'orders' });
    await flush();
    expect(client.state).toBe('backoff');
    await client.close();
    expect(timers.pending()).toEqual([]);
    expect(server.gets).toHaveLength(1);
  });

  it('an ack that comes before a resuming subscription is attached does not move its cursor past the replay', async () => {
    const { server, client, a } = await resumingOnSecondConnection();
    // The server is still admitting `a` (its access check is a query) when our mutation commits:
    // the ack comes first, then the replay of what `a` missed.
    server.stream.push(sse('ack', { cursor: cur(12), mutations: [{ clientId: 'c1', mutationId: 1 }] }, cur(12)));
    expect(a.cursor).toBe(cur(10));
    server.stream.push(
      sse(
        'changes',
        { cursor: cur(11), changes: [{ subscription: 'a', op: 'insert', key: 'k', row: { k: 1 }, version: 1 }] },
        cur(11),
      ),
    );
    await flush();
    expect(a.rows()).toEqual([{ k: 1 }]);
    expect(a.cursor).toBe(cur(11));
    // Attached now: the next ack moves it.
    server.stream.push(sse('ack', { cursor: cur(13), mutations: [{ clientId: 'c1', mutationId: 2 }] }, cur(13)));
    await flush();
    expect(a.cursor).toBe(cur(13));
    await client.close();
  });

  it('over SSE too, `subscribed` attaches a resumed subscription that has nothing to replay, so acks move its cursor', async () => {
    const { server, client, a } = await resumingOnSecondConnection();
    server.stream.push(sse('subscribed', { id: 'a', table: 'public.orders', count: 1 }));
    server.stream.push(sse('ack', { cursor: cur(12), mutations: [{ clientId: 'c1', mutationId: 1 }] }, cur(12)));
    await flush();
    expect(a.cursor).toBe(cur(12));
    await client.close();
  });
});
