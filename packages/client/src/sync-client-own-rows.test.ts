/**
 * The window between the stream's `ack` for our mutation (which leaves our own
 * rows out) and the mutation's answer (which brings them): the stored cursor
 * must not pass rows the store does not have, or a reload would resume after
 * them and never get them.
 */
import { describe, expect, it } from 'vitest';
import { MemoryLocalStore } from './persistence/memory-local-store.ts';
import { SyncClient } from './sync-client.ts';
import { cur, FakeServer, flush, sse } from './testing/fake-server.ts';
import { FakeTimers } from './testing/fake-timers.ts';

/**
 * A client (with a store) whose subscription `a` holds o1 at version 1, our
 * update of o1 committed and covered by an ack at 11, its answer held back
 * until `land()`.
 */
async function coveredUpdate() {
  const server = new FakeServer();
  let answer!: (r: Response) => void;
  server.post = (req) =>
    req.url.pathname.endsWith('/v1/mutate')
      ? new Promise<Response>((resolve) => (answer = resolve))
      : Response.json({ ok: true });
  const store = await MemoryLocalStore.open();
  const client = await SyncClient.open({
    url: 'http://sync.test/',
    clientId: 'c1',
    token: 'tok',
    fetch: server.fetch,
    timers: new FakeTimers(),
    random: () => 0.5,
    store,
    tabs: false,
  });
  const a = client.subscribe({ id: 'a', collection: 'orders' });
  await flush();
  server.stream.push(sse('hello', { connectionId: 'conn-1', protocol: 1, heartbeatMs: 1000 }));
  server.stream.push(
    sse('snapshot', {
      subscription: 'a',
      table: 'public.order',
      rows: [{ key: 'o1', row: { id: 'o1', status: 'new' }, version: 1 }],
      cursor: cur(10),
      done: true,
    }),
  );
  await flush();
  await client.mutate([{ type: 'set', table: 'order', id: 'o1', key: 'status', value: 'paid' }]);
  await flush();
  // Our mutation committed; the stream leaves its row out for us.
  server.stream.push(
    sse('ack', {
      cursor: cur(11),
      mutations: [{ clientId: 'c1', mutationId: 1 }],
      covered: [{ subscription: 'a', op: 'update', key: 'o1', version: 2 }],
    }),
  );
  await flush();
  const land = async () => {
    answer(
      Response.json({
        ok: true,
        cursor: cur(11),
        rows: [{ table: 'public.order', key: 'o1', row: { id: 'o1', status: 'paid' }, version: 2 }],
      }),
    );
    await flush(10);
  };
  return { server, client, store, a, land };
}

describe('own rows between the ack and the answer', () => {
  it('holds the stored cursor until the answer brings the rows, then stores both', async () => {
    const { server, client, store, land } = await coveredUpdate();
    expect(server.posts('/v1/mutate')).toHaveLength(1);
    // Then someone else's change.
    server.stream.push(
      sse(
        'changes',
        { cursor: cur(12), changes: [{ subscription: 'a', op: 'insert', key: 'o2', row: { id: 'o2' }, version: 1 }] },
        cur(12),
      ),
    );
    await flush();
    await client.flushStorage();
    // Stored: still at the snapshot, without o2 — resuming from here brings o2 again, and o1 comes with the answer.
    expect((await store.subscriptions.get('a'))?.cursor).toBe(cur(10));
    expect((await store.rows.getAll('a')).map((r) => `${r.key}@${r.version}`)).toEqual(['o1@1']);

    await land();
    await client.flushStorage();
    expect((await store.subscriptions.get('a'))?.cursor).toBe(cur(12));
    expect((await store.rows.getAll('a')).map((r) => `${r.key}@${r.version}`)).toEqual(['o1@2', 'o2@1']);
    expect((await store.rows.getAll('a'))[0]?.row).toEqual({ id: 'o1', status: 'paid' });
    await client.close();
  });

  it('an answer that lands after the stream deleted the row does not bring it back', async () => {
    const { server, client, a, land } = await coveredUpdate();
    // Someone deletes the row, and only then our answer comes.
    server.stream.push(
      sse(
        'changes',
        { cursor: cur(12), changes: [{ subscription: 'a', op: 'delete', key: 'o1', row: null, version: 2 }] },
        cur(12),
      ),
    );
    await flush();
    expect(a.get('o1')).toBeUndefined();
    await land();
    expect(a.get('o1')).toBeUndefined();
    expect(client.view('order')).toEqual([]);
    expect(client.pendingMutations).toBe(0);
    await client.close();
  });

  describe('when the answer lands after the row was replaced wholesale', () => {
    it('a resync snapshot without the row (deleted since) wins, in the subscription and in the view', async () => {
      const { server, client, a, land } = await coveredUpdate();
      server.stream.push(sse('resync', { subscription: 'a', reason: 'schema-changed' }));
      await flush();
      server.stream.push(
        sse('snapshot', { subscription: 'a', table: 'public.order', rows: [], cursor: cur(13), done: true }),
      );
      await flush(10);
      await land();
      expect(a.rows()).toEqual([]);
      expect(client.view('order')).toEqual([]);
      await client.close();
    });

    it('the same id subscribed again starts from the server: the old answer has nowhere to go', async () => {
      const { server, client, a, land } = await coveredUpdate();
      a.unsubscribe();
      const again = client.subscribe({ id: 'a', collection: 'orders' });
      await flush();
      server.stream.push(
        sse('snapshot', { subscription: 'a', table: 'public.order', rows: [], cursor: cur(13), done: true }),
      );
      await flush(10);
      await land();
      expect(again.rows()).toEqual([]);
      expect(client.view('order')).toEqual([]);
      await client.close();
    });
  });
});
