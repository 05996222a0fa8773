import { SyncClient } from '../sync-client.ts';
import type { SyncClientOptions } from '../sync-client-options.ts';
import { FakeServer, sse } from './fake-server.ts';
import { FakeTimers } from './fake-timers.ts';

/** A client wired to a fake server and a manual clock; jitter pinned to 0.5. */
export function setupClient(options: Partial<SyncClientOptions> = {}) {
  const server = new FakeServer();
  const timers = new FakeTimers();
  const client = new SyncClient({
    url: 'http://sync.test/',
    clientId: 'c1',
    token: 'tok',
    fetch: server.fetch,
    timers,
    random: () => 0.5,
    ...options,
  });
  const hello = (connectionId = 'conn-1', heartbeatMs = 1000) =>
    server.stream.push(sse('hello', { connectionId, protocol: 1, heartbeatMs }));
  return { server, timers, client, hello };
}

/** The `subscribe` query parameters of a GET, parsed. */
export function subscribeParams(url: URL): unknown[] {
  return url.searchParams.getAll('subscribe').map((s) => JSON.parse(s) as unknown);
}
