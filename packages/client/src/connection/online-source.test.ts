import { describe, expect, it } from 'vitest';
import { flush } from '../testing/fake-server.ts';
import { setupClient } from '../testing/setup-client.ts';
import type { OnlineSource } from './online-source.ts';

const networkError = () => Promise.reject(new TypeError('fetch failed'));

/** An online signal the test flips by hand. */
function manualOnline() {
  const listeners = new Set<(online: boolean) => void>();
  const source: OnlineSource = {
    isOnline: () => true,
    subscribe: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
  return { source, set: (online: boolean) => listeners.forEach((l) => l(online)), listeners };
}

describe('online awareness', () => {
  it('reconnects at once when the network comes back, instead of waiting out the backoff', async () => {
    const online = manualOnline();
    const { server, client, timers } = setupClient({ online: online.source });
    for (let i = 0; i < 6; i++) server.nextGets.push(networkError);
    client.subscribe({ id: 'a', collection: 'orders' });
    for (let i = 0; i < 5; i++) {
      await flush();
      timers.advance(timers.pending()[0]!);
    }
    await flush();
    expect(client.state).toBe('backoff');
    const gets = server.gets.length;
    online.set(false); // going offline changes nothing by itself
    await flush();
    expect(server.gets.length).toBe(gets);
    online.set(true);
    await flush();
    expect(server.gets.length).toBe(gets + 1); // no timer advanced: the online event did it
    await client.close();
    expect(online.listeners.size).toBe(0);
  });
});
