import type { Row } from '@syncline/protocol';
import { describe, expect, it } from 'vitest';
import {
  DraftsFullError,
  DraftTooLargeError,
  DuplicateMutationError,
  InvalidDraftKeyError,
  LocalStoreError,
  OutboxFullError,
  UnknownSubscriptionError,
} from './errors.ts';
import { DEFAULT_MAX_DRAFT_BYTES } from './limits.ts';
import type { LocalStore, LocalStoreOptions, PersistedSubscription, RowChange } from './local-store.ts';

/**
 * One "device": stores opened through the same env share storage (same
 * namespace → same data), like tabs over one IndexedDB. Each test makes a
 * fresh env, so tests never see each other's data.
 */
export interface LocalStoreEnv {
  /**
   * `fault`, when given, is called before each change a write of this store
   * makes, with the store (table) it changes; throwing from it fails that step
   * in the middle of the write (failure injection: "the process died here").
   */
  open(options: LocalStoreOptions, fault?: (step: string) => void): Promise<LocalStore>;
}

const sub = (id: string, cursor: string | null = null): PersistedSubscription => ({
  id,
  collection: `${id}_collection`,
  params: null,
  cursor,
});
const put = (key: string, row: Row, version = 1): RowChange => ({ op: 'insert', key, row, version });
const del = (key: string): RowChange => ({ op: 'delete', key, row: null, version: 0 });

async function rowMap(store: LocalStore, subscriptionId: string): Promise<Record<string, Row>> {
  const rows = await store.rows.getAll(subscriptionId);
  return Object.fromEntries(rows.map((r) => [r.key, r.row]));
}

/**
 * The contract every LocalStore must meet, run against each implementation
 * (the style of replicache's kv/store-test-util.ts): the memory store is
 * only a valid stand-in for IndexedDB in other tests if it passes the same suite.
 */
export function runLocalStoreSuite(name: string, makeEnv: () => LocalStoreEnv): void {
  const setup = async (options: Partial<LocalStoreOptions> = {}) => {
    const env = makeEnv();
    const store = await env.open({ namespace: 'user-a', ...options });
    return { env, store };
  };

  describe(`${name}: rows and subscriptions`, () => {
    it('puts, reads in key order, deletes and clears rows per subscription', async () => {
      const { store } = await setup();
      await store.rows.putMany([
        { subscriptionId: 's1', key: 'b', row: { n: 2 }, version: 1 },
        { subscriptionId: 's1', key: 'a', row: { n: 1 }, version: 1 },
        { subscriptionId: 's2', key: 'a', row: { n: 9 }, version: 3 },
      ]);
      expect((await store.rows.getAll('s1')).map((r) => r.key)).toEqual(['a', 'b']);
      expect(await store.rows.getAll('s2')).toEqual([{ subscriptionId: 's2', key: 'a', row: { n: 9 }, version: 3 }]);
      await store.rows.deleteMany('s1', ['a', 'missing']);
      expect(await rowMap(store, 's1')).toEqual({ b: { n: 2 } });
      await store.rows.clear('s1');
      expect(await store.rows.getAll('s1')).toEqual([]);
      expect(await rowMap(store, 's2')).toEqual({ a: { n: 9 } });
      await store.close();
    });

    it('stores copies: mutating what was written or read changes nothing', async () => {
      const { store } = await setup();
      const row = { tags: ['x'] };
      await store.rows.putMany([{ subscriptionId: 's1', key: 'a', row, version: 1 }]);
      row.tags.push('written');
      const [read] = await store.rows.getAll('s1');
      (read?.row['tags'] as string[]).push('read');
      expect(await rowMap(store, 's1')).toEqual({ a: { tags: ['x'] } });
      await store.close();
    });

    it('puts, lists and deletes subscriptions; delete takes their rows along', async () => {
      const { store } = await setup();
      const orders: PersistedSubscription = {
        id: 'orders',
        collection: 'orders_active',
        params: { status: 'open', n: 1 },
        cursor: '0001',
        table: 'orders',
      };
      await store.subscriptions.put(orders);
      await store.subscriptions.put(sub('chat'));
      expect(await store.subscriptions.get('orders')).toEqual(orders);
      expect(await store.subscriptions.get('nope')).toBeUndefined();
      expect((await store.subscriptions.list()).map((s) => s.id)).toEqual(['chat', 'orders']);
      await store.applyTransaction('orders', [put('k', { a: 1 })], '0002');
      await store.subscriptions.delete('orders');
      expect(await store.subscriptions.get('orders')).toBeUndefined();
      expect(await store.rows.getAll('orders')).toEqual([]);
      await store.close();
    });
  });

  describe(`${name}: applyTransaction`, () => {
    it('applies inserts, updates and deletes and moves the cursor', async () => {
      const { store } = await setup();
      await store.subscriptions.put(sub('s1'));
      await store.applyTransaction('s1', [put('a', { v: 1 }), put('b', { v: 1 })], '0001');
      await store.applyTransaction(
        's1',
        [{ op: 'update', key: 'a', row: { v: 2 }, version: 2 }, del('b'), del('never-there')],
        '0002',
      );
      expect(await store.rows.getAll('s1')).toEqual([{ subscriptionId: 's1', key: 'a', row: { v: 2 }, version: 2 }]);
      expect((await store.subscriptions.get('s1'))?.cursor).toBe('0002');
      await store.close();
    });

    it('skips a row-less insert (as the in-memory RowStore does)', async () => {
      const { store } = await setup();
      await store.subscriptions.put(sub('s1'));
      await store.applyTransaction('s1', [{ op: 'insert', key: 'a', row: null, version: 1 }], '0001');
      expect(await store.rows.getAll('s1')).toEqual([]);
      await store.close();
    });

    it('replace: a committed snapshot drops the previous rows in the same transaction', async () => {
      const { store } = await setup();
      await store.subscriptions.put(sub('s1'));
      await store.subscriptions.put(sub('s2'));
      await store.applyTransaction('s1', [put('old', { v: 1 })], '0001');
      await store.applyTransaction('s2', [put('keep', { v: 1 })], '0001');
      await store.applyTransaction('s1', [put('new', { v: 1 })], '0005', { replace: true });
      expect(await rowMap(store, 's1')).toEqual({ new: { v: 1 } });
      expect(await rowMap(store, 's2')).toEqual({ keep: { v: 1 } });
      expect((await store.subscriptions.get('s1'))?.cursor).toBe('0005');
      await store.close();
    });

    it('rejects an unknown subscription and writes nothing', async () => {
      const { store } = await setup();
      await expect(store.applyTransaction('ghost', [put('a', { v: 1 })], '0001')).rejects.toBeInstanceOf(
        UnknownSubscriptionError,
      );
      expect(await store.rows.getAll('ghost')).toEqual([]);
      await store.close();
    });

    it('is atomic: a change that cannot be stored leaves rows and cursor untouched', async () => {
      const { store } = await setup();
      await store.subscriptions.put(sub('s1', '0001'));
      await store.applyTransaction('s1', [put('a', { v: 1 })], '0001');
      const uncloneable = { f: () => undefined } as unknown as Row;
      await expect(
        store.applyTransaction('s1', [put('a', { v: 2 }), del('a'), put('b', { v: 1 }), put('c', uncloneable)], '0002'),
      ).rejects.toThrow();
      expect(await rowMap(store, 's1')).toEqual({ a: { v: 1 } });
      expect((await store.subscriptions.get('s1'))?.cursor).toBe('0001');
      await store.close();
    });

    it('applyTransactions spans subscriptions in one transaction: one unknown id aborts all', async () => {
      const { store } = await setup();
      await store.subscriptions.put(sub('s1'));
      await store.subscriptions.put(sub('s2'));
      await store.applyTransactions([
        { subscriptionId: 's1', changes: [put('a', { v: 1 })], cursor: '0001' },
        { subscriptionId: 's2', changes: [put('b', { v: 1 })], cursor: '0001' },
      ]);
      await expect(
        store.applyTransactions([
          { subscriptionId: 's1', changes: [del('a')], cursor: '0002' },
          { subscriptionId: 'ghost', changes: [], cursor: '0002' },
        ]),
      ).rejects.toBeInstanceOf(UnknownSubscriptionError);
      expect(await rowMap(store, 's1')).toEqual({ a: { v: 1 } });
      expect((await store.subscriptions.get('s1'))?.cursor).toBe('0001');
      expect((await store.subscriptions.get('s2'))?.cursor).toBe('0001');
      await store.close();
    });
  });

  describe(`${name}: outbox`, () => {
    it('lists in mutationId order (numeric, not lexicographic) and deletes by id', async () => {
      const { store } = await setup();
      for (const id of [10, 2, 1]) await store.outbox.add({ mutationId: id, body: { op: id }, createdAt: 100 + id });
      expect((await store.outbox.list()).map((e) => e.mutationId)).toEqual([1, 2, 10]);
      expect(await store.outbox.list()).toContainEqual({ mutationId: 2, body: { op: 2 }, createdAt: 102 });
      await store.outbox.delete(2);
      expect(await store.outbox.count()).toBe(2);
      await store.outbox.deleteMany([1, 10, 99]);
      expect(await store.outbox.list()).toEqual([]);
      await store.close();
    });

    it('rejects a duplicate mutationId without replacing the stored one', async () => {
      const { store } = await setup();
      await store.outbox.add({ mutationId: 1, body: 'first', createdAt: 1 });
      await expect(store.outbox.add({ mutationId: 1, body: 'second', createdAt: 2 })).rejects.toBeInstanceOf(
        DuplicateMutationError,
      );
      expect((await store.outbox.list())[0]?.body).toBe('first');
      await store.close();
    });

    it('is bounded by maxOutbox (OutboxFullError) and frees room on delete', async () => {
      const { store } = await setup({ maxOutbox: 2 });
      await store.outbox.add({ mutationId: 1, body: null, createdAt: 1 });
      await store.outbox.add({ mutationId: 2, body: null, createdAt: 1 });
      const error: unknown = await store.outbox.add({ mutationId: 3, body: null, createdAt: 1 }).catch((e) => e);
      expect(error).toBeInstanceOf(OutboxFullError);
      expect(error).toMatchObject({ code: 'OUTBOX_FULL', limit: 2 });
      await store.outbox.delete(1);
      await store.outbox.add({ mutationId: 3, body: null, createdAt: 1 });
      expect((await store.outbox.list()).map((e) => e.mutationId)).toEqual([2, 3]);
      await store.close();
    });

    it('concurrent adds never exceed the bound', async () => {
      const { store } = await setup({ maxOutbox: 3 });
      const results = await Promise.allSettled(
        [1, 2, 3, 4, 5].map((id) => store.outbox.add({ mutationId: id, body: null, createdAt: 0 })),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
      expect(await store.outbox.count()).toBe(3);
      await store.close();
    });
  });

  describe(`${name}: outbox.append (a new mutation id and its entry)`, () => {
    const entry = (mutationId: number) => ({ mutationId, body: { op: mutationId }, createdAt: mutationId });

    it('stores the entry and moves lastMutationId to its id, kept across reopen', async () => {
      const { env, store } = await setup();
      await store.outbox.append(entry(1));
      await store.outbox.append(entry(2));
      await store.outbox.delete(1); // answered: the id stays allocated
      expect(await store.meta.get('lastMutationId')).toBe(2);
      await store.close();
      const reopened = await env.open({ namespace: 'user-a' });
      expect(await reopened.outbox.list()).toEqual([entry(2)]);
      expect(await reopened.meta.get('lastMutationId')).toBe(2);
      await reopened.close();
    });

    it('refuses an id not above lastMutationId, a duplicate, or a full outbox, writing neither', async () => {
      const { store } = await setup({ maxOutbox: 2 });
      await store.meta.set('lastMutationId', 5);
      const stale: unknown = await store.outbox.append(entry(5)).catch((e) => e);
      expect(stale).toBeInstanceOf(DuplicateMutationError);
      expect(stale).toMatchObject({ mutationId: 5 });
      await store.outbox.add(entry(9)); // an entry stored without allocating (not the client's path)
      await expect(store.outbox.append(entry(9))).rejects.toBeInstanceOf(DuplicateMutationError);
      await store.outbox.append(entry(6));
      await expect(store.outbox.append(entry(7))).rejects.toBeInstanceOf(OutboxFullError);
      expect((await store.outbox.list()).map((e) => e.mutationId)).toEqual([6, 9]);
      expect(await store.meta.get('lastMutationId')).toBe(6);
      await store.close();
    });

    it('is atomic: an entry that cannot be stored leaves the id unallocated', async () => {
      const { store } = await setup();
      await store.outbox.append(entry(1));
      const uncloneable = { mutationId: 2, body: { f: () => undefined } as unknown as null, createdAt: 2 };
      await expect(store.outbox.append(uncloneable)).rejects.toThrow();
      expect(await store.meta.get('lastMutationId')).toBe(1);
      expect((await store.outbox.list()).map((e) => e.mutationId)).toEqual([1]);
      await store.close();
    });

    it('killed at any step: either the id and its entry both landed or neither did', async () => {
      // A dry run names the steps; then one run per step, failing there.
      const seen: string[] = [];
      const dry = await makeEnv().open({ namespace: 'user-a' }, (step) => void seen.push(step));
      await dry.outbox.append(entry(1));
      await dry.close();
      expect([...seen].sort()).toEqual(['meta', 'outbox']);
      for (let failAt = 0; failAt < seen.length; failAt++) {
        const env = makeEnv();
        let step = -1;
        let armed = false;
        const store = await env.open({ namespace: 'user-a' }, () => {
          if (armed && ++step === failAt) throw new Error(`killed at step ${failAt}`);
        });
        await store.outbox.append(entry(1));
        armed = true;
        await expect(store.outbox.append(entry(2))).rejects.toThrow(`killed at step ${failAt}`);
        await store.close();
        const reopened = await env.open({ namespace: 'user-a' });
        expect(await reopened.meta.get('lastMutationId')).toBe(1);
        expect((await reopened.outbox.list()).map((e) => e.mutationId)).toEqual([1]);
        await reopened.outbox.append(entry(2)); // the same id again: it was never allocated
        expect(await reopened.meta.get('lastMutationId')).toBe(2);
        await reopened.close();
      }
    });
  });

  describe(`${name}: drafts and meta`, () => {
    it('puts, gets, deletes and lists drafts', async () => {
      const { store } = await setup({ now: () => 42 });
      expect(await store.drafts.put('form:b', { title: 'hi' })).toEqual({
        key: 'form:b',
        value: { title: 'hi' },
        updatedAt: 42,
      });
      await store.drafts.put('form:a', 'text');
      expect(await store.drafts.get('form:b')).toEqual({ key: 'form:b', value: { title: 'hi' }, updatedAt: 42 });
      expect(await store.drafts.keys()).toEqual(['form:a', 'form:b']);
      expect(await store.drafts.delete('form:a')).toBe(true);
      expect(await store.drafts.delete('form:a')).toBe(false);
      expect(await store.drafts.get('form:a')).toBeUndefined();
      await store.close();
    });

    it('is bounded by maxDrafts for new keys only', async () => {
      const { store } = await setup({ maxDrafts: 2 });
      await store.drafts.put('a', 1);
      await store.drafts.put('b', 1);
      await expect(store.drafts.put('c', 1)).rejects.toBeInstanceOf(DraftsFullError);
      await store.drafts.put('a', 2); // overwriting is always allowed
      expect((await store.drafts.get('a'))?.value).toBe(2);
      await store.close();
    });

    it('rejects drafts over maxDraftBytes (UTF-8 JSON size), default 256 KiB', async () => {
      const { store } = await setup({ maxDraftBytes: 10 });
      await store.drafts.put('ok', '12345678'); // "12345678" with quotes = 10 bytes
      const error: unknown = await store.drafts.put('big', 'ééééé').catch((e) => e); // 5 × 2 bytes + quotes
      expect(error).toBeInstanceOf(DraftTooLargeError);
      expect(error).toMatchObject({ code: 'DRAFT_TOO_LARGE', key: 'big', bytes: 12, limit: 10 });
      expect(await store.drafts.keys()).toEqual(['ok']);

      const { store: defaults } = await setup();
      await defaults.drafts.put('fits', 'x'.repeat(DEFAULT_MAX_DRAFT_BYTES - 2));
      await expect(defaults.drafts.put('too-big', 'x'.repeat(DEFAULT_MAX_DRAFT_BYTES - 1))).rejects.toBeInstanceOf(
        DraftTooLargeError,
      );
      await store.close();
      await defaults.close();
    });

    it('rejects empty keys and keys over 256 characters', async () => {
      const { store } = await setup();
      await store.drafts.put('k'.repeat(256), true);
      await expect(store.drafts.put('k'.repeat(257), true)).rejects.toBeInstanceOf(InvalidDraftKeyError);
      await expect(store.drafts.put('', true)).rejects.toBeInstanceOf(InvalidDraftKeyError);
      await store.close();
    });

    it('keeps meta values', async () => {
      const { store } = await setup();
      await store.meta.set('clientId', 'c-1');
      await store.meta.set('lastMutationId', 7);
      expect(await store.meta.get('clientId')).toBe('c-1');
      expect(await store.meta.get('lastMutationId')).toBe(7);
      expect(await store.meta.get('schemaVersion')).toBeUndefined();
      await store.meta.delete('clientId');
      expect(await store.meta.get('clientId')).toBeUndefined();
      await store.close();
    });
  });

  describe(`${name}: lifecycle and namespaces`, () => {
    it('keeps everything across close and reopen of the same namespace', async () => {
      const { env, store } = await setup();
      await store.subscriptions.put(sub('s1'));
      await store.applyTransaction('s1', [put('a', { v: 1 })], '0007');
      await store.outbox.add({ mutationId: 1, body: { x: 1 }, createdAt: 5 });
      await store.drafts.put('form', { text: 'unsaved' });
      await store.meta.set('clientId', 'c-1');
      await store.close();

      const reopened = await env.open({ namespace: 'user-a' });
      expect(await rowMap(reopened, 's1')).toEqual({ a: { v: 1 } });
      expect((await reopened.subscriptions.get('s1'))?.cursor).toBe('0007');
      expect(await reopened.outbox.list()).toEqual([{ mutationId: 1, body: { x: 1 }, createdAt: 5 }]);
      expect((await reopened.drafts.get('form'))?.value).toEqual({ text: 'unsaved' });
      expect(await reopened.meta.get('clientId')).toBe('c-1');
      await reopened.close();
    });

    it('rejects calls after close with LocalStoreError CLOSED', async () => {
      const { store } = await setup();
      await store.close();
      await expect(store.rows.getAll('s1')).rejects.toMatchObject({ code: 'CLOSED' });
      await expect(store.drafts.put('k', 1)).rejects.toBeInstanceOf(LocalStoreError);
      await expect(store.applyTransaction('s1', [], '1')).rejects.toMatchObject({ code: 'CLOSED' });
    });

    it("isolates namespaces: user B never sees user A's data", async () => {
      const { env, store: a } = await setup();
      const b = await env.open({ namespace: 'user-b' });
      await a.subscriptions.put(sub('s1'));
      await a.applyTransaction('s1', [put('secret', { v: 1 })], '0001');
      await a.drafts.put('form', 'a');
      await a.outbox.add({ mutationId: 1, body: null, createdAt: 0 });
      expect(await b.rows.getAll('s1')).toEqual([]);
      expect(await b.subscriptions.list()).toEqual([]);
      expect(await b.drafts.keys()).toEqual([]);
      expect(await b.outbox.count()).toBe(0);
      await a.close();
      await b.close();
    });

    it('destroy() deletes the namespace and only it', async () => {
      const { env, store: a } = await setup();
      const b = await env.open({ namespace: 'user-b' });
      await a.subscriptions.put(sub('s1'));
      await a.applyTransaction('s1', [put('a', { v: 1 })], '0001');
      await a.drafts.put('form', 'a');
      await b.drafts.put('form', 'b');
      await a.destroy();
      await expect(a.rows.getAll('s1')).rejects.toMatchObject({ code: 'CLOSED' });

      const again = await env.open({ namespace: 'user-a' });
      expect(await again.rows.getAll('s1')).toEqual([]);
      expect(await again.subscriptions.list()).toEqual([]);
      expect(await again.drafts.keys()).toEqual([]);
      expect((await b.drafts.get('form'))?.value).toBe('b');
      await again.close();
      await b.close();
    });

    it('rejects a namespace that is not a safe database name suffix', async () => {
      const env = makeEnv();
      await expect(env.open({ namespace: 'a:b' })).rejects.toMatchObject({ code: 'INVALID_NAMESPACE' });
      await expect(env.open({ namespace: '' })).rejects.toMatchObject({ code: 'INVALID_NAMESPACE' });
    });
  });
}
