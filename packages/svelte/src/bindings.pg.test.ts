// @vitest-environment happy-dom
// The page's origin is not the server's: Node's rules for fetch, as the server-side tests have.
// @vitest-environment-options { "settings": { "fetch": { "disableSameOriginPolicy": true } } }
/**
 * The bindings in components against the real server and PostgreSQL: what a
 * SQL write re-renders, shared subscriptions and their linger, an optimistic
 * write rolled back by a 409, undo and redo by keyboard.
 */
import { flushSync } from 'svelte';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Row } from '@syncline/protocol';
import type { SubscriptionHandle, SyncClient } from '@syncline/client';
import type { Mutation, UndoRedo } from './index.ts';
import Editor from './testing/Editor.svelte';
import Items from './testing/Items.svelte';
import Lists from './testing/Lists.svelte';
import TableOver from './testing/TableOver.svelte';
import { eventually, key, mountWith, startPgApp, type PgApp } from './testing/pg-app.ts';

let app: PgApp;
beforeAll(async () => {
  app = await startPgApp();
  await app.db.query(`INSERT INTO item (id, status, owner) VALUES ('a1', 'open', 'a'), ('a2', 'open', 'a'),
    ('b1', 'open', 'b'), ('c1', 'open', 'c')`);
});
afterAll(() => app?.end());

/** Counts client.subscribe calls and keeps the handles. */
function watchSubscribe(client: SyncClient): { handles: SubscriptionHandle[]; ended: string[] } {
  const seen = { handles: [] as SubscriptionHandle[], ended: [] as string[] };
  const subscribe = client.subscribe.bind(client);
  vi.spyOn(client, 'subscribe').mockImplementation((options) => {
    const handle = subscribe(options);
    seen.handles.push(handle);
    const unsubscribe = handle.unsubscribe.bind(handle);
    handle.unsubscribe = () => {
      seen.ended.push(handle.collection);
      unsubscribe();
    };
    return handle;
  });
  return seen;
}

describe('Svelte bindings against the server', () => {
  it('a SQL write re-renders only the components whose results changed', async () => {
    const client = await app.client();
    const renders: Record<string, number> = {};
    const last: Record<string, string> = {};
    const onrender = (name: string, rows: readonly Row[]) => {
      renders[name] = (renders[name] ?? 0) + 1;
      last[name] = rows.map((r) => `${String(r['id'])}:${String(r['status'])}`).join(',');
    };
    const lists = [
      { name: 'tableA', owner: 'a', kind: 'table' },
      { name: 'tableB', owner: 'b', kind: 'table' },
      { name: 'subA', owner: 'a', kind: 'subscription' },
      { name: 'subC', owner: 'c', kind: 'subscription' },
    ];
    const m = mountWith(client, Lists, { lists, onrender });
    await eventually(() => {
      flushSync();
      return last['tableA'] === 'a1:open,a2:open' && last['subA'] === 'a1:open,a2:open' && last['subC'] === 'c1:open';
    });
    await eventually(() => last['tableB'] === 'b1:open');
    // Let the initial loads settle, then count from here.
    await new Promise((r) => setTimeout(r, 300));
    flushSync();
    const before = { ...renders };

    await app.db.query(`UPDATE item SET status = 'done', version = version + 1 WHERE id = 'a2'`);
    await eventually(() => {
      flushSync();
      return last['tableA'] === 'a1:open,a2:done' && last['subA'] === 'a1:open,a2:done';
    });
    await new Promise((r) => setTimeout(r, 200));
    flushSync();
    expect(renders['tableA']).toBe((before['tableA'] ?? 0) + 1);
    expect(renders['subA']).toBe((before['subA'] ?? 0) + 1);
    expect(renders['tableB']).toBe(before['tableB']); // another owner's rows: not re-rendered
    expect(renders['subC']).toBe(before['subC']); // another subscription: not re-rendered
    expect(m.$('[data-name="tableA"]').textContent).toContain('a2:done');
    await m.unmount();
  });

  it('two components reading the same subscription share one', async () => {
    const client = await app.client();
    const seen = watchSubscribe(client);
    const onrender = () => {};
    const one = mountWith(client, Items, { name: 'one', owner: 'a', kind: 'subscription', onrender });
    const two = mountWith(client, Items, { name: 'two', owner: 'a', kind: 'subscription', onrender });
    await eventually(() => {
      flushSync();
      return one.$('ul').dataset['status'] === 'live' && two.$('ul').dataset['status'] === 'live';
    });
    expect(seen.handles.map((h) => h.collection)).toEqual(['items_by_owner']);
    expect(two.target.innerHTML).toBe(one.target.innerHTML.replace('data-name="one"', 'data-name="two"'));
    await one.unmount();
    await two.unmount();
  });

  it('unmounting ends the subscription after the linger; a remount within it does not subscribe again', async () => {
    const client = await app.client();
    const seen = watchSubscribe(client);
    const props = { name: 'l', owner: 'b', kind: 'subscription', onrender: () => {} };
    const first = mountWith(client, Items, props);
    await eventually(() => {
      flushSync();
      return first.$('ul').dataset['status'] === 'live';
    });
    await first.unmount();
    await new Promise((r) => setTimeout(r, 400));
    expect(seen.ended).toEqual([]); // within the linger
    const again = mountWith(client, Items, props);
    flushSync();
    expect(again.$('ul').dataset['status']).toBe('live'); // the same subscription, rows and all
    expect(seen.handles).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 1_300));
    expect(seen.ended).toEqual([]); // held again: the linger was cancelled
    await again.unmount();
    const unmountedAt = Date.now();
    await eventually(() => seen.ended.length === 1, 5_000, 'unsubscribed after the linger');
    expect(Date.now() - unmountedAt).toBeGreaterThanOrEqual(950);
    expect(seen.ended).toEqual(['items_by_owner']);
    const later = mountWith(client, Items, props); // after the linger: a new subscription
    flushSync();
    expect(seen.handles).toHaveLength(2);
    await later.unmount();
  });

  it('a table query holds the subscriptions named in `over` while it is read, and lets them go after', async () => {
    const client = await app.client();
    const seen = watchSubscribe(client);
    const view = mountWith(client, TableOver, {}, 0);
    const ids = () => {
      flushSync();
      return [...view.target.querySelectorAll('li')].map((li) => li.textContent).join();
    };
    await eventually(() => ids() === 'a1,a2,c1', 10_000, "both subscriptions' rows in one table query");
    expect(seen.handles.map((h) => h.collection)).toEqual(['items_by_owner', 'items_by_owner']);
    await view.unmount();
    await eventually(() => seen.ended.length === 2, 5_000, 'both released');
    await client.close();
  });

  it('an optimistic write shows at once and rolls back on a 409, with the error surfaced', async () => {
    const client = await app.client();
    let api: { save: Mutation; history: UndoRedo } | undefined;
    const m = mountWith(client, Editor, { id: 'c1', expose: (a: typeof api) => (api = a) });
    await eventually(() => {
      flushSync();
      return m.$('.status').textContent === 'open';
    });
    const rejectedAt = new Promise<void>((resolve) => client.on('rejected', () => resolve()));
    let shownBeforeAnswer = '';
    const off = client.on('view', () => {
      flushSync();
      shownBeforeAnswer ||= m.$('.status').textContent ?? '';
    });
    await api?.save.run([{ type: 'set', table: 'item', id: 'c1', key: 'status', value: 'mine', expectedVersion: 99 }]);
    off();
    expect(shownBeforeAnswer).toBe('mine'); // rendered from the view, before any answer
    flushSync();
    await rejectedAt;
    await eventually(() => {
      flushSync();
      return m.$('.error').textContent === 'CONFLICT';
    });
    expect(m.$('.status').textContent).toBe('open'); // rolled back
    expect(m.$('.pending').textContent).toBe('false');
    expect(api?.save.rejected?.current?.row?.['status']).toBe('open');
    expect((await app.db.query(`SELECT status FROM item WHERE id = 'c1'`)).rows[0]?.['status']).toBe('open');
    await m.unmount();
  });

  it('undo and redo by keyboard, not while typing in a text field', async () => {
    const client = await app.client();
    let api: { save: Mutation; history: UndoRedo } | undefined;
    const m = mountWith(client, Editor, { id: 'b1', expose: (a: typeof api) => (api = a) });
    await eventually(() => {
      flushSync();
      return m.$('.status').textContent === 'open';
    });
    const dbStatus = async () => (await app.db.query(`SELECT status FROM item WHERE id = 'b1'`)).rows[0]?.['status'];
    await api?.save.run([{ type: 'set', table: 'item', id: 'b1', key: 'status', value: 'first' }]);
    await eventually(async () => (await dbStatus()) === 'first' && client.pendingMutations === 0);
    flushSync();
    expect(m.$('.pending').textContent).toBe('false');
    expect(m.$('.undo').textContent).toBe('true/false');

    key(m.$('.note'), 'z', { ctrlKey: true }); // in a text field: the field's own undo
    await new Promise((r) => setTimeout(r, 200));
    expect(await dbStatus()).toBe('first');
    expect(client.canUndo).toBe(true);

    key(m.$('.editor'), 'z', { ctrlKey: true });
    await eventually(async () => (await dbStatus()) === 'open', 10_000, 'undone');
    await eventually(() => {
      flushSync();
      return m.$('.undo').textContent === 'false/true' && m.$('.status').textContent === 'open';
    });
    key(m.$('.editor'), 'z', { metaKey: true, shiftKey: true });
    await eventually(async () => (await dbStatus()) === 'first', 10_000, 'redone (Shift+Cmd+Z)');
    await eventually(() => client.pendingMutations === 0 && client.canUndo);
    key(m.$('.editor'), 'z', { metaKey: true });
    await eventually(async () => (await dbStatus()) === 'open', 10_000, 'undone (Cmd+Z)');
    await eventually(() => client.pendingMutations === 0 && client.canRedo);
    key(m.$('.editor'), 'y', { ctrlKey: true });
    await eventually(async () => (await dbStatus()) === 'first', 10_000, 'redone (Ctrl+Y)');
    await eventually(() => {
      flushSync();
      return m.$('.status').textContent === 'first';
    });
    await m.unmount();
  });
});
