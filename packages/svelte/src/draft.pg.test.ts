// @vitest-environment happy-dom
// @vitest-environment-options { "settings": { "fetch": { "disableSameOriginPolicy": true } } }
/** A draft bound to an input survives a remount and a reload (a new client over the same stored databases). */
import { flushSync } from 'svelte';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MemoryDatabases, MemoryLocalStore } from '@syncline/client';
import DraftField from './testing/DraftField.svelte';
import { mountWith, startPgApp, type PgApp } from './testing/pg-app.ts';

let app: PgApp;
beforeAll(async () => {
  app = await startPgApp();
});
afterAll(() => app?.end());

it('survives a remount and a reload', async () => {
  const databases = new MemoryDatabases();
  const store = await MemoryLocalStore.open({ namespace: 'draft-user', databases });
  const client = await app.client(store);
  const type = async (m: ReturnType<typeof mountWith>, text: string) => {
    await expect.poll(() => m.$('input').dataset['loaded']).toBe('true');
    const input = m.$('input') as HTMLInputElement;
    input.value = text;
    input.dispatchEvent(new Event('input', { bubbles: true }));
    flushSync();
  };
  const value = (m: ReturnType<typeof mountWith>) => (m.$('input') as HTMLInputElement).value;

  const first = mountWith(client, DraftField, { draftKey: 'new-item' });
  await type(first, 'half-typed order');
  await first.unmount();

  const remounted = mountWith(client, DraftField, { draftKey: 'new-item' });
  await expect.poll(() => value(remounted)).toBe('half-typed order');
  await type(remounted, 'half-typed order, edited');
  await remounted.unmount();
  await client.close();
  await store.close();

  // A reload: a new store over the same databases, a new client, a new component.
  const reloaded = await app.client(await MemoryLocalStore.open({ namespace: 'draft-user', databases }));
  const after = mountWith(reloaded, DraftField, { draftKey: 'new-item' });
  await expect.poll(() => value(after)).toBe('half-typed order, edited');
  expect(after.$('input').dataset['loaded']).toBe('true');
  await after.unmount();
});
