/** close() resolves only once what the client queued for its store has landed: closing the store next fails nothing. */
import { describe, expect, it } from 'vitest';
import { MemoryLocalStore } from './persistence/memory-local-store.ts';
import type { SubscriptionUpdate } from './persistence/local-store.ts';
import { SyncClient } from './sync-client.ts';
import { cur, FakeServer, flush, sse } from './testing/fake-server.ts';
import { FakeTimers } from './testing/fake-timers.ts';

describe('SyncClient.close', () => {
  it('waits for queued store writes, so the store can be closed right after', async () => {
    const server = new FakeServer();
    const store = await MemoryLocalStore.open();
    // A slow store: each write lands 30 ms after it is asked for.
    const real = store.applyTransactions.bind(store);
    const landed: string[] = [];
    store.applyTransactions = async (updates: readonly SubscriptionUpdate[]) => {
      await new Promise((r) => setTimeout(r, 30));
      await real(updates);
      for (const u of updates) landed.push(u.cursor);
    };
    const client = await SyncClient.open({
      url: 'http://sync.test/',
      clientId: 'c1',
      token: 'tok',
      fetch: server.fetch,
      timers: new FakeTimers(),
      store,
      tabs: false,
    });
    const errors: unknown[] = [];
    client.on('storageError', (e) => errors.push(e));
    client.subscribe({ id: 'a', collection: 'orders' });
    await flush();
    server.stream.push(sse('hello', { connectionId: 'conn-1', protocol: 1, heartbeatMs: 1000 }));
    server.stream.push(
      sse('snapshot', {
        subscription: 'a',
        table: 'public.order',
        rows: [{ key: '1', row: { id: 1 }, version: 1 }],
        cursor: cur(10),
        done: true,
      }),
    );
    server.stream.push(
      sse('changes', {
        cursor: cur(11),
        changes: [{ subscription: 'a', op: 'insert', key: '2', row: { id: 2 }, version: 1 }],
      }),
    );
    await flush(2);
    expect(landed).not.toContain(cur(11)); // still queued
    await client.close();
    expect(landed).toContain(cur(11));
    await store.close();
    expect(errors).toEqual([]);
  });
});
