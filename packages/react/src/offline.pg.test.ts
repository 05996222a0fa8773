/**
 * What survives the network and the page: connection status through the server going
 * away and coming back (with a write queued meanwhile), and a draft and stored rows
 * across a remount and a reload (a new provider and client over the same store).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDatabases, MemoryLocalStore } from '@syncline/client';
import type { WriteOp } from '@syncline/protocol';
import { SynclineProvider } from './provider.ts';
import { useConnectionStatus } from './use-connection-status.ts';
import { useDraft } from './use-draft.ts';
import { useMutate } from './use-mutate.ts';
import { useSubscription } from './use-subscription.ts';
import { h, mount } from './testing/dom.ts';
import { eventually, startPgApp, type PgApp } from './testing/pg-app.ts';

let app: PgApp;
beforeAll(async () => {
  app = await startPgApp();
  await app.db.query(`INSERT INTO item (id, status) VALUES ('o1', 'open'), ('o2', 'open')`);
});
afterAll(async () => {
  await app?.close();
});

describe('offline and reload', () => {
  it('connection status goes offline when the server does, counts queued writes, and comes back', async () => {
    const seen: string[] = [];
    let mutate: ((ops: WriteOp[]) => Promise<number>) | undefined;
    function Status() {
      useSubscription('items_all');
      const { state, queued } = useConnectionStatus();
      mutate = useMutate()[0];
      if (seen.at(-1) !== `${state} ${queued}`) seen.push(`${state} ${queued}`);
      return h('p', { id: 's' }, `${state} ${queued}`);
    }
    const root = mount(h(SynclineProvider, { options: app.options() }, h(Status)));
    const text = () => root.container.querySelector('#s')?.textContent;
    await eventually(() => text() === 'online 0');

    await app.stop();
    await eventually(() => text() === 'offline 0', 10_000, 'offline');
    await mutate?.([{ type: 'insert', table: 'item', row: { id: 'o3', status: 'open' } }]);
    await eventually(() => text()?.endsWith(' 1') === true, 2_000, 'the write counted as queued');
    await app.start();
    await eventually(() => text() === 'online 0', 20_000, 'back online, queue drained');
    expect(seen[0]).toMatch(/^connecting 0$/);
    expect(seen).toContain('offline 1');
    expect(seen.indexOf('offline 0')).toBeLessThan(seen.lastIndexOf('online 0'));
    root.unmount();
  });

  it('a draft survives a remount and a reload; stored rows show before the network', async () => {
    const databases = new MemoryDatabases();
    const options = () => app.options({ store: new MemoryLocalStore({ databases, namespace: 'react-reload' }) });
    let setDraft: ((v: string | undefined) => Promise<void>) | undefined;
    function Form() {
      const [draft, set] = useDraft<string>('new-item');
      setDraft = set;
      return h('p', { id: 'draft' }, draft ?? '(none)');
    }
    function Rows() {
      const { rows, status } = useSubscription('items_open');
      return h('p', { id: 'rows' }, `${status} ${rows.length}`);
    }
    const tree = (form: boolean) => h(SynclineProvider, { options: options() }, h(Rows), form ? h(Form) : null);
    const open = (await app.db.query(`SELECT id FROM item WHERE status = 'open'`)).rowCount;
    const first = mount(tree(true));
    const text = (id: string) => first.container.querySelector(`#${id}`)?.textContent;
    await eventually(() => text('draft') === '(none)' && text('rows') === `live ${open}`);
    await setDraft?.('half-typed');
    await eventually(() => text('draft') === 'half-typed', 1_000, 'the draft shown');

    // Remount the form inside the same provider (same client): read back from the store.
    first.render(h(SynclineProvider, { options: options() }, h(Rows))); // options are read once: same client
    await eventually(() => text('draft') === undefined);
    first.render(h(SynclineProvider, { options: options() }, h(Rows), h(Form)));
    await eventually(() => text('draft') === 'half-typed', 2_000, 'draft after a remount');
    first.unmount();
    await new Promise((r) => setTimeout(r, 100)); // the provider closes its client (flushing the store)

    // Reload: a new provider, client and store over the same databases, with the server down.
    await app.stop();
    const second = mount(tree(true));
    const text2 = (id: string) => second.container.querySelector(`#${id}`)?.textContent;
    await eventually(() => text2('draft') === 'half-typed', 2_000, 'draft after a reload');
    // The stored subscription keeps its stored status (live) until the stream says otherwise.
    await eventually(() => text2('rows') === `live ${open}`, 2_000, 'stored rows, no server');
    await app.start();
    await app.db.query(`INSERT INTO item (id, status) VALUES ('o9', 'open')`);
    await eventually(() => text2('rows') === `live ${(open ?? 0) + 1}`, 20_000, 'resumed from its cursor');
    await setDraft?.(undefined);
    await eventually(() => text2('draft') === '(none)', 1_000, 'the draft cleared');
    second.unmount();
  });
});
