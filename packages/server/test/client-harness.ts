/** Real SyncClients for end-to-end tests, with the bookkeeping the assertions need. */
import { SyncClient, type SubscriptionHandle, type WebSocketConstructor } from '@syncline/client';
import WebSocket from 'ws';
import { testToken } from './test-token.ts';

export interface WatchedClient {
  client: SyncClient;
  subs: Record<string, SubscriptionHandle>;
  /** `subscription@cursor` for every transaction applied to a subscription, in order. */
  applied: string[];
  readonly resyncs: number;
}

export function watchedClient(
  url: string,
  subs: Array<{ id: string; collection: string; params?: Record<string, string> }>,
  token: string | (() => string) = () => testToken('test-user'),
  transport: 'sse' | 'ws' = 'sse',
): WatchedClient {
  const client = new SyncClient({
    url,
    token,
    backoff: { baseMs: 100, maxMs: 1_000 },
    transport,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
  });
  const w: WatchedClient = {
    client,
    subs: {},
    applied: [],
    // Resyncs the server asked for (answered by differential sync or a snapshot).
    get resyncs() {
      return client.stats.resyncs;
    },
  };
  client.on('transaction', (t) => {
    for (const sub of new Set(t.changes.map((c) => c.subscription))) w.applied.push(`${sub}@${t.cursor}`);
  });
  for (const s of subs) {
    w.subs[s.id] = client.subscribe(s);
  }
  return w;
}

export async function eventually(
  check: () => boolean | Promise<boolean>,
  ms = 20_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
