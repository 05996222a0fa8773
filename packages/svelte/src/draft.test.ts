// @vitest-environment happy-dom
import { flushSync, mount, unmount } from 'svelte';
import { describe, expect, it } from 'vitest';
import { MemoryLocalStore, SyncClient } from '@syncline/client';
import DraftField from './testing/DraftField.svelte';
import WithClient from './testing/WithClient.svelte';

describe('draft', () => {
  it('binds to an input and is read back by a new component', async () => {
    const client = await SyncClient.open({ url: 'http://127.0.0.1:9', store: await MemoryLocalStore.open() });
    const target = document.createElement('div');
    document.body.append(target);
    const app = mount(WithClient, { target, props: { client, view: DraftField, draftKey: 'k' } });
    const input = () => target.querySelector('input')!;
    await expect.poll(() => input().dataset['loaded']).toBe('true');
    input().value = 'hello';
    input().dispatchEvent(new Event('input'));
    flushSync();
    await expect.poll(() => client.drafts?.get('k')).toBe('hello');
    await unmount(app);
    mount(WithClient, { target, props: { client, view: DraftField, draftKey: 'k' } });
    await expect.poll(() => input().value).toBe('hello');
    await client.close();
  });
});
