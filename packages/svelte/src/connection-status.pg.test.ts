// @vitest-environment happy-dom
// @vitest-environment-options { "settings": { "fetch": { "disableSameOriginPolicy": true } } }
/** connectionStatus() in a component while the server goes away and comes back. */
import { flushSync } from 'svelte';
import { afterAll, beforeAll, expect, it } from 'vitest';
import Status from './testing/Status.svelte';
import { eventually, mountWith, startPgApp, type PgApp } from './testing/pg-app.ts';

let app: PgApp;
beforeAll(async () => {
  app = await startPgApp();
  await app.db.query(`INSERT INTO item (id, status) VALUES ('s1', 'open')`);
});
afterAll(() => app?.end());

it('shows online, offline with the queued writes, then online again with none', async () => {
  const client = await app.client();
  const m = mountWith(client, Status, {});
  const shown = () => {
    flushSync();
    return `${m.$('.connection').textContent}/${m.$('.queued').textContent}`;
  };
  await eventually(() => shown() === 'online/0', 20_000, 'online');
  const seen = new Set<string>();
  const off = client.on('state', () => queueMicrotask(() => seen.add(shown())));

  await app.stop();
  await eventually(() => shown() === 'offline/0', 20_000, 'offline');
  await client.mutate([{ type: 'set', table: 'item', id: 's1', key: 'status', value: 'queued' }]);
  expect(shown()).toBe('offline/1');
  await new Promise((r) => setTimeout(r, 700)); // several reconnect attempts (backoff 50–300 ms)
  expect(shown()).toBe('offline/1');
  expect([...seen].filter((s) => s.startsWith('connecting'))).toEqual([]); // no flicker while retrying

  await app.start();
  await eventually(() => shown() === 'online/0', 20_000, 'back online, queue sent');
  expect((await app.db.query(`SELECT status FROM item WHERE id = 's1'`)).rows[0]?.['status']).toBe('queued');
  off();
  await m.unmount();
});
