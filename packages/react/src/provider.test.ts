/**
 * The provider's client lifecycle under StrictMode (mount, unmount, mount in one go):
 * one client opened, the live one never closed, closed once when the provider goes.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StrictMode } from 'react';
import { renderToString } from 'react-dom/server';
import { MemoryLocalStore, SyncClient } from '@syncline/client';
import { SynclineProvider, useSyncClient } from './provider.ts';
import { h, mount } from './testing/dom.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await sleep(5);
  expect(check()).toBe(true);
};

afterEach(() => vi.restoreAllMocks());

describe('SynclineProvider', () => {
  it('opens one client under StrictMode, keeps it open, and closes it once on unmount', async () => {
    const open = vi.spyOn(SyncClient, 'open');
    const close = vi.spyOn(SyncClient.prototype, 'close');
    const seen = new Set<SyncClient>();
    function Child() {
      seen.add(useSyncClient());
      return h('p', { id: 'ready' }, 'ready');
    }
    const store = await MemoryLocalStore.open();
    const options = { url: 'http://127.0.0.1:9/', store, tabs: false as const };
    const root = mount(h(StrictMode, null, h(SynclineProvider, { options, fallback: 'opening' }, h(Child))));
    expect(root.container.textContent).toBe('');
    await until(() => root.container.textContent === 'ready');
    await sleep(50);
    expect(open).toHaveBeenCalledTimes(1);
    expect(close).not.toHaveBeenCalled();
    expect(seen.size).toBe(1);
    const [client] = [...seen];
    expect(client?.state).not.toBe('closed');

    root.unmount();
    await until(() => close.mock.calls.length === 1);
    expect(client?.state).toBe('closed');
  });

  it('leaves a client it was given open', async () => {
    const client = new SyncClient({ url: 'http://127.0.0.1:9/', tabs: false });
    const close = vi.spyOn(client, 'close');
    const root = mount(h(StrictMode, null, h(SynclineProvider, { client }, 'child')));
    await until(() => root.container.textContent === 'child');
    root.unmount();
    await sleep(50);
    expect(close).not.toHaveBeenCalled();
    await client.close();
  });

  it('throws outside a provider', () => {
    function Lost() {
      useSyncClient();
      return null;
    }
    expect(() => renderToString(h(Lost))).toThrow(/SynclineProvider/);
  });
});
