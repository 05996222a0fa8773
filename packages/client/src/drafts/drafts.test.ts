import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { DraftsFullError } from '../persistence/errors.ts';
import { IdbLocalStore } from '../persistence/idb-local-store.ts';
import { MemoryLocalStore } from '../persistence/memory-local-store.ts';
import { Drafts } from './drafts.ts';

describe('Drafts', () => {
  it('sets, gets, clears and lists drafts, emitting change per key', async () => {
    const drafts = new Drafts(await MemoryLocalStore.open());
    const changed: string[] = [];
    const off = drafts.on('change', (key) => changed.push(key));
    await drafts.set('post:1', { title: 'Hello', body: '' });
    await drafts.set('post:2', 'x');
    expect(await drafts.get<{ title: string }>('post:1')).toEqual({ title: 'Hello', body: '' });
    expect(await drafts.keys()).toEqual(['post:1', 'post:2']);
    await drafts.clear('post:2');
    await drafts.clear('post:2'); // nothing left: no event
    expect(await drafts.get('post:2')).toBeUndefined();
    off();
    await drafts.set('post:3', 1);
    expect(changed).toEqual(['post:1', 'post:2', 'post:2']);
  });

  it('does not emit when the store rejects the write', async () => {
    const drafts = new Drafts(await MemoryLocalStore.open({ maxDrafts: 1 }));
    const changed: string[] = [];
    drafts.on('change', (key) => changed.push(key));
    await drafts.set('a', 1);
    await expect(drafts.set('b', 1)).rejects.toBeInstanceOf(DraftsFullError);
    expect(changed).toEqual(['a']);
  });

  it('a throwing listener does not fail the write', async () => {
    const errors: unknown[] = [];
    const drafts = new Drafts(await MemoryLocalStore.open(), (error) => errors.push(error));
    drafts.on('change', () => {
      throw new Error('ui bug');
    });
    await drafts.set('a', 1);
    expect(await drafts.get('a')).toBe(1);
    expect(errors).toHaveLength(1);
  });

  it('values survive a new Drafts instance over the same store', async () => {
    const store = await MemoryLocalStore.open();
    await new Drafts(store).set('form', { text: 'unsaved' });
    expect(await new Drafts(store).get('form')).toEqual({ text: 'unsaved' });
  });

  it('values survive a reload (IndexedDB closed and reopened)', async () => {
    const indexedDB = new IDBFactory();
    const first = await IdbLocalStore.open({ namespace: 'u1', indexedDB });
    await new Drafts(first).set('form', { text: 'unsaved' });
    await first.close();
    const second = await IdbLocalStore.open({ namespace: 'u1', indexedDB });
    expect(await new Drafts(second).get('form')).toEqual({ text: 'unsaved' });
    await second.close();
  });
});
