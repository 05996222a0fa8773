import type { Row } from '@syncline/protocol';
import { describe, expect, it } from 'vitest';
import { cur, flush, sse } from './testing/fake-server.ts';
import { setupClient, subscribeParams } from './testing/setup-client.ts';
import type { TransactionEvent } from './store/subscription-registry.ts';

const snapshot = (subscription: string, rows: Array<[string, Row]>, cursor: string, done = true) =>
  sse('snapshot', {
    subscription,
    table: 'public.orders',
    rows: rows.map(([key, row]) => ({ key, row, version: 1 })),
    cursor,
    done,
  });

describe('SyncClient data path', () => {
  it('connects with clientId, token and each subscription in the query', async () => {
    const { server, client } = setupClient();
    client.subscribe({ id: 'orders', collection: 'orders_active', params: { status: 'open now', n: 1 } });
    client.subscribe({ id: 'chat', collection: 'chat_messages' });
    await flush();
    expect(server.gets).toHaveLength(1);
    const [get] = server.gets;
    expect(get?.url.pathname).toBe('/v1/sync/events');
    expect(get?.url.searchParams.get('clientId')).toBe('c1');
    expect(get?.url.searchParams.get('token')).toBe('tok');
    expect(get?.url.search).not.toContain('+'); // spaces are %20, not form-encoded
    expect(subscribeParams(get!.url)).toEqual([
      { id: 'orders', collection: 'orders_active', params: { status: 'open now', n: 1 } },
      { id: 'chat', collection: 'chat_messages' },
    ]);
    expect(get?.headers.get('authorization')).toBe('Bearer tok');
    expect(get?.headers.get('last-event-id')).toBeNull();
    await client.close();
  });

  it('accumulates snapshot parts and swaps them in atomically on done', async () => {
    const { server, client, hello } = setupClient();
    const orders = client.subscribe({ id: 'orders', collection: 'orders_active' });
    const changes: string[] = [];
    orders.on('change', (e) => changes.push(e.cause));
    let ready = false;
    void orders.ready().then(() => (ready = true));
    await flush();
    hello();
    server.stream.push(
      snapshot(
        'orders',
        [
          ['1', { id: 1 }],
          ['2', { id: 2 }],
        ],
        cur(10),
        false,
      ),
    );
    await flush();
    expect(orders.status).toBe('snapshot');
    expect(orders.rows()).toEqual([]);
    expect(changes).toEqual([]);

    server.stream.push(snapshot('orders', [['3', { id: 3 }]], cur(10)));
    await flush();
    expect(orders.status).toBe('live');
    expect(orders.cursor).toBe(cur(10));
    expect(orders.rows()).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    expect(orders.rows()).toBe(orders.rows()); // stable until the next change
    expect(orders.rowsByKey().get('2')).toEqual({ row: { id: 2 }, version: 1 });
    expect(changes).toEqual(['snapshot']);
    expect(ready).toBe(true);
    expect(client.stats.snapshotsCompleted).toBe(1);
    await client.close();
  });

  it('applies one transaction to all subscriptions before notifying, once per subscription', async () => {
    const { server, client, hello } = setupClient();
    const a = client.subscribe({ id: 'a', collection: 'orders' });
    const b = client.subscribe({ id: 'b', collection: 'orders' });
    await flush();
    hello();
    server.stream.push(
      snapshot(
        'a',
        [
          ['1', { v: 'a1' }],
          ['2', { v: 'a2' }],
        ],
        cur(10),
      ),
    );
    server.stream.push(snapshot('b', [['1', { v: 'b1' }]], cur(10)));
    await flush();

    const seen: Array<{ id: string; count: number; bRow: unknown }> = [];
    a.on('change', (e) => seen.push({ id: e.subscription, count: e.changes.length, bRow: b.get('1') }));
    b.on('change', (e) => seen.push({ id: e.subscription, count: e.changes.length, bRow: b.get('1') }));
    const transactions: TransactionEvent[] = [];
    client.on('transaction', (t) => transactions.push(t));

    server.stream.push(
      sse(
        'changes',
        {
          cursor: cur(11),
          changes: [
            { subscription: 'a', op: 'insert', key: '3', row: { v: 'a3' }, version: 1 },
            { subscription: 'b', op: 'update', key: '1', row: { v: 'b1!' }, version: 2 },
            { subscription: 'a', op: 'delete', key: '1', row: null, version: 2 },
            { subscription: 'a', op: 'update', key: '2', row: { v: 'a2!' }, version: 2 },
          ],
        },
        cur(11),
      ),
    );
    await flush();
    // a's listener already sees b's half of the transaction.
    expect(seen).toEqual([
      { id: 'a', count: 3, bRow: { v: 'b1!' } },
      { id: 'b', count: 1, bRow: { v: 'b1!' } },
    ]);
    expect(a.rows()).toEqual([{ v: 'a2!' }, { v: 'a3' }]);
    expect(a.rowsByKey().get('2')?.version).toBe(2);
    expect(a.cursor).toBe(cur(11));
    expect(transactions).toHaveLength(1);
    expect(transactions[0]?.cursor).toBe(cur(11));
    expect(transactions[0]?.changes).toHaveLength(4);
    expect(client.stats.messagesApplied).toBe(1);
    expect(client.stats.changesApplied).toBe(4);
    await client.close();
  });

  it('ignores a transaction whose cursor a subscription already has', async () => {
    const { server, client, hello } = setupClient();
    const a = client.subscribe({ id: 'a', collection: 'orders' });
    const b = client.subscribe({ id: 'b', collection: 'orders' });
    const cursors: string[] = [];
    client.on('transaction', (t) => cursors.push(t.cursor));
    await flush();
    hello();
    server.stream.push(snapshot('a', [], cur(10)) + snapshot('b', [], cur(12)));
    const change = (sub: string, key: string) => ({ subscription: sub, op: 'insert', key, row: { key }, version: 1 });
    // b's snapshot already contains transaction 11 and 12; a's does not.
    server.stream.push(sse('changes', { cursor: cur(11), changes: [change('a', 'x'), change('b', 'x')] }));
    server.stream.push(sse('changes', { cursor: cur(11), changes: [change('a', 'y')] })); // replayed
    server.stream.push(sse('changes', { cursor: cur(9), changes: [change('a', 'z')] })); // older
    server.stream.push(sse('changes', { cursor: cur(12), changes: [change('b', 'w')] }));
    await flush();
    expect(a.rows()).toEqual([{ key: 'x' }]);
    expect(b.rows()).toEqual([]);
    expect(cursors).toEqual([cur(11)]);
    expect(client.stats.duplicatesIgnored).toBe(4);
    expect(client.stats.messagesApplied).toBe(1);
    await client.close();
  });

  it('drops changes for a subscription whose snapshot is not complete', async () => {
    const { server, client, hello } = setupClient();
    const a = client.subscribe({ id: 'a', collection: 'orders' });
    await flush();
    hello();
    server.stream.push(snapshot('a', [['1', { id: 1 }]], cur(10), false));
    server.stream.push(
      sse('changes', {
        cursor: cur(11),
        changes: [{ subscription: 'a', op: 'delete', key: '1', row: null, version: 2 }],
      }),
    );
    server.stream.push(snapshot('a', [], cur(10)));
    await flush();
    expect(a.rows()).toEqual([{ id: 1 }]);
    expect(client.stats.changesBeforeSnapshot).toBe(1);
    await client.close();
  });

  it('on resync with rows in hand runs a differential sync, keeps the rows meanwhile, and resumes from its cursor', async () => {
    const { server, client, hello } = setupClient();
    const a = client.subscribe({ id: 'a', collection: 'orders', params: { shop: 's1' } });
    await flush();
    hello();
    server.stream.push(
      snapshot(
        'a',
        [
          ['1', { id: 1 }],
          ['2', { id: 2 }],
        ],
        cur(10),
      ),
    );
    await flush();
    let answer: (r: Response) => void = () => {};
    server.post = (req) =>
      req.url.pathname === '/v1/sync' ? new Promise<Response>((r) => (answer = r)) : Response.json({ ok: true });

    server.stream.push(sse('resync', { subscription: 'a', reason: 'cursor-too-old' }));
    await flush();
    expect(a.status).toBe('resyncing');
    expect(a.rows()).toEqual([{ id: 1 }, { id: 2 }]); // still on screen
    const [diff] = server.posts('/v1/sync');
    expect(diff?.body).toEqual({
      subscription: { id: 'a', collection: 'orders', params: { shop: 's1' } },
      versions: { '1': 1, '2': 1 },
    });

    answer(
      Response.json({
        new: [{ key: '3', row: { id: 3 }, version: 1 }],
        updated: [],
        unchanged: ['1'],
        removed: ['2'],
        cursor: cur(30),
      }),
    );
    await flush();
    expect(a.status).toBe('live');
    expect(a.rows()).toEqual([{ id: 1 }, { id: 3 }]);
    expect(a.cursor).toBe(cur(30));
    const [post] = server.posts('/v1/sync/subscribe');
    expect(post?.body).toEqual({
      connectionId: 'conn-1',
      subscription: { id: 'a', collection: 'orders', params: { shop: 's1' }, cursor: cur(30) },
    });
    expect(client.stats).toMatchObject({ resyncs: 1, diffSyncs: 1 });
    await client.close();
  });

  it('on resync without rows (or when differential sync fails) clears and re-subscribes without a cursor', async () => {
    const { server, client, hello } = setupClient();
    const a = client.subscribe({ id: 'a', collection: 'orders' });
    await flush();
    hello();
    server.stream.push(snapshot('a', [['1', { id: 1 }]], cur(10)));
    await flush();
    server.post = (req) =>
      req.url.pathname === '/v1/sync'
        ? Response.json({ error: { code: 'INTERNAL', message: 'x' } }, { status: 500 })
        : Response.json({ ok: true });
    const causes: string[] = [];
    a.on('change', (e) => causes.push(e.cause));
    server.stream.push(sse('resync', { subscription: 'a', reason: 'cursor-too-old' }));
    await flush();
    expect(a.rows()).toEqual([]);
    expect(a.cursor).toBeUndefined();
    expect(causes).toEqual(['resync']);
    const [post] = server.posts('/v1/sync/subscribe');
    expect(post?.body).toEqual({ connectionId: 'conn-1', subscription: { id: 'a', collection: 'orders' } });
    expect(post?.headers.get('authorization')).toBe('Bearer tok');
    server.stream.push(snapshot('a', [['2', { id: 2 }]], cur(20)));
    await flush();
    expect(a.status).toBe('live');
    expect(a.rows()).toEqual([{ id: 2 }]);
    expect(client.stats).toMatchObject({ resyncs: 1, diffSyncs: 0 });
    await client.close();
  });

  it('a resync whose POST fails goes out without a cursor on the next connection', async () => {
    const { server, client, hello, timers } = setupClient();
    client.subscribe({ id: 'a', collection: 'orders' });
    client.subscribe({ id: 'b', collection: 'orders' });
    await flush();
    hello();
    server.stream.push(snapshot('a', [], cur(10)) + snapshot('b', [], cur(10)));
    server.post = () => Promise.reject(new TypeError('fetch failed'));
    server.stream.push(sse('resync', { subscription: 'a', reason: 'buffer-overflow' }));
    await flush();
    expect(server.posts('/v1/sync/subscribe')).toHaveLength(1);
    server.stream.end();
    await flush();
    timers.advance(timers.pending()[0] ?? 0);
    await flush();
    expect(subscribeParams(server.gets[1]!.url)).toEqual([
      { id: 'a', collection: 'orders' },
      { id: 'b', collection: 'orders', cursor: cur(10) },
    ]);
    await client.close();
  });

  it('POSTs subscriptions made while open or before hello, and unsubscribes', async () => {
    const { server, client, hello } = setupClient();
    const a = client.subscribe({ id: 'a', collection: 'orders' });
    await flush();
    const early = client.subscribe({ id: 'early', collection: 'orders' }); // the GET is already out
    a.unsubscribe(); // ...and carried this one
    hello();
    await flush();
    expect(server.posts('/v1/sync/subscribe').map((r) => r.body)).toEqual([
      { connectionId: 'conn-1', subscription: { id: 'early', collection: 'orders' } },
    ]);
    expect(server.posts('/v1/sync/unsubscribe').map((r) => r.body)).toEqual([{ connectionId: 'conn-1', id: 'a' }]);
    await expect(a.ready()).rejects.toMatchObject({ code: 'UNSUBSCRIBED' });

    client.subscribe({ id: 'late', collection: 'chat', params: { chatId: 'x' } });
    early.unsubscribe();
    await flush();
    expect(server.posts('/v1/sync/subscribe').at(-1)?.body).toEqual({
      connectionId: 'conn-1',
      subscription: { id: 'late', collection: 'chat', params: { chatId: 'x' } },
    });
    expect(server.posts('/v1/sync/unsubscribe').at(-1)?.body).toEqual({ connectionId: 'conn-1', id: 'early' });
    expect(() => client.subscribe({ id: 'late', collection: 'x' })).toThrow(/already in use/);
    await client.close();
  });

  it('replaces a subscription re-created under the same id before hello', async () => {
    const { server, client, hello } = setupClient();
    const first = client.subscribe({ id: 'a', collection: 'chat', params: { chatId: '1' } });
    await flush();
    first.unsubscribe();
    client.subscribe({ id: 'a', collection: 'chat', params: { chatId: '2' } });
    let idAtOpen: string | undefined;
    client.on('state', (e) => (idAtOpen = e.state === 'open' ? client.connectionId : idAtOpen));
    hello();
    await flush();
    expect(idAtOpen).toBe('conn-1');
    const posts = server.requests.filter((r) => r.method === 'POST').map((r) => [r.url.pathname, r.body]);
    expect(posts).toEqual([
      ['/v1/sync/unsubscribe', { connectionId: 'conn-1', id: 'a' }],
      [
        '/v1/sync/subscribe',
        { connectionId: 'conn-1', subscription: { id: 'a', collection: 'chat', params: { chatId: '2' } } },
      ],
    ]);
    await client.close();
  });

  it('a subscription-scoped error leaves the other subscriptions working', async () => {
    const { server, client, hello } = setupClient();
    const bad = client.subscribe({ id: 'bad', collection: 'secret' });
    const good = client.subscribe({ id: 'good', collection: 'orders' });
    const errors: string[] = [];
    client.on('error', (e) => errors.push(e.code));
    await flush();
    hello();
    server.stream.push(sse('error', { code: 'FORBIDDEN', message: 'no', subscription: 'bad' }));
    server.stream.push(snapshot('good', [], cur(10)));
    server.stream.push(
      sse('changes', {
        cursor: cur(11),
        changes: [{ subscription: 'good', op: 'insert', key: 'k', row: { k: 1 }, version: 1 }],
      }),
    );
    await flush();
    expect(bad.status).toBe('error');
    expect(bad.error).toEqual({ code: 'FORBIDDEN', message: 'no', subscription: 'bad' });
    await expect(bad.ready()).rejects.toThrow('FORBIDDEN');
    expect(good.status).toBe('live');
    expect(good.rows()).toEqual([{ k: 1 }]);
    expect(client.state).toBe('open');
    expect(client.error).toBeUndefined();
    expect(errors).toEqual(['FORBIDDEN']);
    await client.close();
  });

  it('a subscribe POST refused for the subscription marks it as errored', async () => {
    const { server, client, hello } = setupClient();
    client.subscribe({ id: 'a', collection: 'orders' });
    await flush();
    hello();
    await flush();
    server.post = () => Response.json({ error: { code: 'UNKNOWN_COLLECTION', message: 'nope' } }, { status: 400 });
    const b = client.subscribe({ id: 'b', collection: 'nope' });
    await flush();
    expect(b.status).toBe('error');
    expect(b.error?.code).toBe('UNKNOWN_COLLECTION');
    await client.close();
  });

  it('skips malformed and unknown events and survives a throwing listener', async () => {
    const { server, client, hello } = setupClient();
    const a = client.subscribe({ id: 'a', collection: 'orders' });
    const original = console.error;
    const reported: unknown[] = [];
    console.error = (...args: unknown[]) => void reported.push(args);
    try {
      a.on('change', () => {
        throw new Error('boom');
      });
      await flush();
      hello();
      server.stream.push('event: changes\ndata: {not json\n\n');
      server.stream.push(sse('changes', { cursor: cur(1), changes: [{ subscription: 'a', op: 'insert', key: 'k' }] }));
      server.stream.push(sse('presence', { whatever: true }));
      server.stream.push(snapshot('a', [['1', { id: 1 }]], cur(10)));
      await flush();
    } finally {
      console.error = original;
    }
    expect(client.stats.malformedEvents).toBe(2);
    expect(a.status).toBe('live');
    expect(reported).toHaveLength(1);
    expect(client.state).toBe('open');
    await client.close();
  });
});
