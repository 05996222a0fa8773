/**
 * Tabs sharing a store, against a fake server: the edges a review found
 * (stored subscriptions claimed late, a subscription in error, a store that
 * lags behind the leader, unsubscribed ones after takeover, a connection that
 * ends for good). Real BroadcastChannel (Node's), in-process Web Locks.
 */
import { describe, expect, it } from 'vitest';
import type { Row } from '@syncline/protocol';
import type { LocalStore } from './persistence/local-store.ts';
import { MemoryDatabases, MemoryLocalStore } from './persistence/memory-local-store.ts';
import { MemoryTabLocks } from './multitab/tab-locks.ts';
import { SyncClient } from './sync-client.ts';
import { cur, FakeServer, flush, sse } from './testing/fake-server.ts';
import { FakeTimers } from './testing/fake-timers.ts';

let namespaces = 0;

function tabs() {
  const server = new FakeServer();
  const timers = new FakeTimers();
  const databases = new MemoryDatabases();
  const locks = new MemoryTabLocks();
  const namespace = `tabs${++namespaces}`;
  const clients: SyncClient[] = [];
  const store = () => new MemoryLocalStore({ namespace, databases });
  const open = async (s: LocalStore = store()) => {
    const client = await SyncClient.open({
      url: 'http://sync.test/',
      clientId: 'c1',
      token: 'tok',
      fetch: server.fetch,
      timers,
      random: () => 0.5,
      online: { isOnline: () => true, subscribe: () => () => undefined },
      store: s,
      tabs: { locks, channel: (name) => new BroadcastChannel(name) },
    });
    clients.push(client);
    return client;
  };
  const hello = () => server.stream.push(sse('hello', { connectionId: 'conn-1', protocol: 1, heartbeatMs: 100_000 }));
  const snapshot = (sub: string, keys: string[], cursor: string) =>
    server.stream.push(
      sse('snapshot', {
        subscription: sub,
        table: 'public.item',
        rows: keys.map((key) => ({ key, row: { id: key }, version: 1 })),
        cursor,
        done: true,
      }),
    );
  const insert = (sub: string, key: string, cursor: string) =>
    server.stream.push(
      sse(
        'changes',
        { cursor, changes: [{ subscription: sub, op: 'insert', key, row: { id: key }, version: 1 }] },
        cursor,
      ),
    );
  const closeAll = async () => {
    for (const c of clients.reverse()) await c.close();
  };

  // For the own-row cases: subscription `x` on `items` (table public.item) holding k1, our update of k1.
  /** The leader (and a follower) subscribe `x`; the connection opens and x's snapshot holds k1 at cursor 1. */
  const startX = async (leader: SyncClient, follower?: SyncClient) => {
    const mine = leader.subscribe({ id: 'x', collection: 'items' });
    const theirs = follower?.subscribe({ id: 'x', collection: 'items' });
    await flush();
    hello();
    snapshot('x', ['k1'], cur(1));
    await flush(10);
    return theirs ?? mine;
  };
  /** Our update of k1 to n: 2 from `c`, and the ack at 2 that covers it (its row comes with the answer). */
  const updateK1Covered = async (c: SyncClient) => {
    await c.mutate([{ type: 'update', table: 'item', id: 'k1', values: { n: 2 } }]);
    await flush(10);
    server.stream.push(
      sse('ack', {
        cursor: cur(2),
        mutations: [{ clientId: 'c1', mutationId: 1 }],
        covered: [{ subscription: 'x', op: 'update', key: 'k1', version: 2 }],
      }),
    );
    await flush(10);
  };
  /** The answer to that update. */
  const k1Answer = (cursor: string | null) =>
    Response.json({
      ok: true,
      cursor,
      rows: [{ table: 'public.item', key: 'k1', row: { id: 'k1', n: 2 }, version: 2 }],
    });
  /** POST /v1/mutate: the first never answers (its leader goes first); later ones get `k1Answer(cursor)`. Returns the count. */
  const firstMutateHangs = (cursor: string | null) => {
    let posts = 0;
    server.post = (req) => {
      if (!req.url.pathname.endsWith('/v1/mutate')) return Response.json({ ok: true });
      if (++posts === 1) return new Promise<Response>(() => undefined);
      return k1Answer(cursor);
    };
    return () => posts;
  };
  return {
    server,
    timers,
    store,
    open,
    hello,
    snapshot,
    insert,
    closeAll,
    startX,
    updateK1Covered,
    k1Answer,
    firstMutateHangs,
  };
}

const keys = (rows: ReadonlyMap<string, unknown>) => [...rows.keys()].sort();

describe('tabs on one store', () => {
  it('a follower claiming a subscription the leader only restored from the store gets it connected', async () => {
    const t = tabs();
    const first = await t.open();
    first.subscribe({ id: 'all', collection: 'items' });
    await flush();
    t.hello();
    t.snapshot('all', ['k1'], cur(1));
    await flush();
    await first.flushStorage();
    await first.close();

    const leader = await t.open(); // restores `all`, never subscribes it: no connection yet
    const follower = await t.open();
    const streams = t.server.streams.length;
    const all = follower.subscribe({ id: 'all', collection: 'items' });
    await flush(10);
    expect(leader.tabRole).toBe('leader');
    expect(t.server.streams.length).toBe(streams + 1); // the leader connected
    expect(JSON.parse(t.server.stream.request.url.searchParams.get('subscribe') ?? '{}')).toMatchObject({
      id: 'all',
      cursor: cur(1),
    });
    t.hello();
    t.insert('all', 'k2', cur(2));
    await flush(10);
    expect(keys(all.rowsByKey())).toEqual(['k1', 'k2']);
    await t.closeAll();
  });

  it("a follower subscribing what the leader's server refused gets the refusal", async () => {
    const t = tabs();
    const leader = await t.open();
    const follower = await t.open();
    const mine = leader.subscribe({ id: 'x', collection: 'items' });
    await flush();
    t.hello();
    t.server.stream.push(sse('error', { code: 'FORBIDDEN', message: 'not yours', subscription: 'x' }));
    await flush();
    expect(mine.status).toBe('error');
    const theirs = follower.subscribe({ id: 'x', collection: 'items' });
    await expect(theirs.ready()).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(theirs.status).toBe('error');
    await t.closeAll();
  });

  it("a follower whose stored copy lagged behind the leader's gets the leader's whole state, gaps and all", async () => {
    const t = tabs();
    const real = t.store();
    let held: Array<() => void> | undefined;
    // The leader's store: its writes can be held (IndexedDB taking its time).
    const lagging: LocalStore = Object.assign(Object.create(real) as LocalStore, {
      applyTransactions: async (...args: Parameters<LocalStore['applyTransactions']>) => {
        if (held) await new Promise<void>((resolve) => held?.push(resolve));
        return real.applyTransactions(...args);
      },
    });
    const leader = await t.open(lagging);
    const mine = leader.subscribe({ id: 'x', collection: 'items' });
    await flush();
    t.hello();
    t.snapshot('x', ['k1'], cur(1));
    await flush();
    await leader.flushStorage();
    held = [];
    t.insert('x', 'k2', cur(2)); // not stored yet
    await flush();
    const follower = await t.open(); // rebuilds x from the store: k1 at cur(1)
    t.insert('x', 'k3', cur(3));
    await flush();
    const theirs = follower.subscribe({ id: 'x', collection: 'items' });
    await flush(10);
    for (const release of held) release();
    held = undefined;
    await flush(10);
    expect(keys(mine.rowsByKey())).toEqual(['k1', 'k2', 'k3']);
    expect(keys(theirs.rowsByKey())).toEqual(['k1', 'k2', 'k3']);
    expect(theirs.cursor).toBe(cur(3));
    await t.closeAll();
  });

  it('a subscription the leader ended does not come back when another tab takes over', async () => {
    const t = tabs();
    const leader = await t.open();
    const x = leader.subscribe({ id: 'x', collection: 'items' });
    await flush();
    t.hello();
    t.snapshot('x', ['k1'], cur(1));
    await flush();
    await leader.flushStorage();
    const follower = await t.open(); // rebuilds x from the store, never claims it
    x.unsubscribe();
    await leader.flushStorage();
    await leader.close();
    await flush(10);
    expect(follower.tabRole).toBe('leader');
    await follower.flushStorage();
    expect(await t.store().subscriptions.list()).toEqual([]);
    expect(follower.state).toBe('idle'); // nothing to connect for
    await t.closeAll();
  });

  it("followers hear when the leader's connection ends for good", async () => {
    const t = tabs();
    const leader = await t.open();
    const follower = await t.open();
    leader.subscribe({ id: 'x', collection: 'items' });
    const theirs = follower.subscribe<Row>({ id: 'x', collection: 'items' });
    await flush();
    t.hello();
    await flush();
    expect(follower.state).toBe('open');
    t.server.stream.push(sse('error', { code: 'AUTH_FAILED', message: 'token revoked' }));
    await flush(10);
    expect(leader.state).toBe('closed');
    expect(follower.state).toBe('closed');
    expect(follower.error?.code).toBe('AUTH_FAILED');
    await expect(theirs.ready()).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    await t.closeAll();
  });

  it('own rows the old leader was still waiting for reach the new leader and its store', async () => {
    const t = tabs();
    // The first leader never hears back; the next one is answered (as the server replays its record).
    const posts = t.firstMutateHangs(cur(2));
    const leader = await t.open();
    const follower = await t.open();
    const x = await t.startX(leader, follower);
    await t.updateK1Covered(follower);
    expect(posts()).toBe(1);
    await leader.flushStorage();
    await leader.close();
    await flush(20);
    expect(follower.tabRole).toBe('leader');
    expect(posts()).toBe(2);
    expect(x.get('k1')).toEqual({ id: 'k1', n: 2 });
    expect(follower.pendingMutations).toBe(0);
    await follower.flushStorage();
    const stored = await t.store().rows.getAll('x');
    expect(stored.map((r) => `${r.key}@${r.version}`)).toEqual(['k1@2']);
    expect((await t.store().subscriptions.get('x'))?.cursor).toBe(cur(2));
    await t.closeAll();
  });

  it('a subscription nobody holds ends after a while: stored and never claimed, or its last tab closed', async () => {
    const t = tabs();
    const first = await t.open();
    first.subscribe({ id: 'old', collection: 'items' });
    first.subscribe({ id: 'kept', collection: 'items' });
    await flush();
    t.hello();
    t.snapshot('old', ['k1'], cur(1));
    t.snapshot('kept', ['k1'], cur(1));
    await flush();
    await first.flushStorage();
    await first.close();

    const leader = await t.open(); // restores both; claims only one
    leader.subscribe({ id: 'kept', collection: 'items' });
    const follower = await t.open();
    follower.subscribe({ id: 'theirs', collection: 'items' });
    await flush(10);
    t.timers.advance(29_000);
    await follower.close(); // its tab goes without unsubscribing, 29 s after the open
    await flush(10);
    await leader.flushStorage();
    expect((await t.store().subscriptions.list()).map((s) => s.id)).toEqual(['kept', 'old', 'theirs']);
    t.timers.advance(1_000); // `old`, stored and unclaimed since the open, goes at 30 s
    await leader.flushStorage();
    expect((await t.store().subscriptions.list()).map((s) => s.id)).toEqual(['kept', 'theirs']);
    t.timers.advance(28_000);
    await leader.flushStorage();
    expect((await t.store().subscriptions.list()).map((s) => s.id)).toEqual(['kept', 'theirs']);
    t.timers.advance(1_000); // `theirs`, 30 s after its tab closed
    await leader.flushStorage();
    expect((await t.store().subscriptions.list()).map((s) => s.id)).toEqual(['kept']);
    await t.closeAll();
  });

  it('a tab that joins while the leader awaits an own row places it if it takes over before it lands', async () => {
    const t = tabs();
    const posts = t.firstMutateHangs(null);
    const leader = await t.open();
    await t.startX(leader);
    await t.updateK1Covered(leader);
    const follower = await t.open(); // after the ack: only the leader's copy tells it the row is still to come
    const x = follower.subscribe({ id: 'x', collection: 'items' });
    await flush(10);
    expect(x.cursor).toBe(cur(2));
    expect(x.get('k1')).toEqual({ id: 'k1' });
    await leader.close();
    await flush(20);
    expect(follower.tabRole).toBe('leader');
    expect(posts()).toBe(2);
    expect(x.get('k1')).toEqual({ id: 'k1', n: 2 });
    await t.closeAll();
  });

  it('a tab that joins after the stream deleted an awaited row keeps it deleted when it takes over', async () => {
    const t = tabs();
    const posts = t.firstMutateHangs(null); // the replay of the server's record carries no cursor
    const leader = await t.open();
    await t.startX(leader);
    await t.updateK1Covered(leader);
    t.server.stream.push(
      sse(
        'changes',
        { cursor: cur(3), changes: [{ subscription: 'x', op: 'delete', key: 'k1', row: null, version: 3 }] },
        cur(3),
      ),
    );
    await flush(10);
    const follower = await t.open(); // its copy has no k1 and no trace of the delete
    const x = follower.subscribe({ id: 'x', collection: 'items' });
    await flush(10);
    await leader.close();
    await flush(20);
    expect(follower.tabRole).toBe('leader');
    expect(posts()).toBe(2);
    expect(x.rows()).toEqual([]);
    await t.closeAll();
  });

  it('after taking over, a subscription whose own rows the old leader placed is stored as it changes', async () => {
    const t = tabs();
    let answer!: (r: Response) => void;
    t.server.post = (req) =>
      req.url.pathname.endsWith('/v1/mutate')
        ? new Promise<Response>((resolve) => (answer = resolve))
        : Response.json({ ok: true });
    const leader = await t.open();
    const follower = await t.open();
    const x = await t.startX(leader, follower);
    await t.updateK1Covered(follower);
    answer(t.k1Answer(cur(2)));
    await flush(20);
    await leader.flushStorage();
    await leader.close();
    await flush(20);
    t.hello();
    for (let i = 3; i < 6; i++) t.insert('x', `k${i}`, cur(i));
    await flush(20);
    await follower.flushStorage();
    expect(x.cursor).toBe(cur(5));
    expect((await t.store().subscriptions.get('x'))?.cursor).toBe(cur(5));
    expect((await t.store().rows.getAll('x')).map((r) => `${r.key}@${r.version}`)).toEqual([
      'k1@2',
      'k3@1',
      'k4@1',
      'k5@1',
    ]);
    await t.closeAll();
  });
});
