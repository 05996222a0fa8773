/**
 * Against the real server: a SQL write re-renders only the components whose query
 * result changed, and one subscription serves every component that asks for it,
 * ended a linger after the last one unmounts (a re-mount within it does not resubscribe).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SyncClient, type SubscriptionHandle } from '@syncline/client';
import { SynclineProvider } from './provider.ts';
import { useQuery } from './use-query.ts';
import { useSubscription } from './use-subscription.ts';
import { h, mount, RenderCounter } from './testing/dom.ts';
import { eventually, startPgApp, type PgApp } from './testing/pg-app.ts';

let app: PgApp;
beforeAll(async () => {
  app = await startPgApp();
  await app.db.query(`INSERT INTO item (id, status, owner, body) VALUES
    ('a1', 'open', 'a', 'one'), ('a2', 'open', 'a', 'two'), ('b1', 'open', 'b', 'three')`);
});
afterAll(async () => {
  await app?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('rendering', () => {
  it('a SQL write re-renders only the components whose result changed', async () => {
    const renders = new RenderCounter();
    function Subscribe() {
      const { status } = useSubscription('items_all');
      renders.hit('subscription');
      return h('p', { id: 'status' }, status);
    }
    function Owned({ owner }: { owner: string }) {
      const rows = useQuery('item', (q) => q.where((r) => r['owner'] === owner).orderBy('id'), [owner]);
      renders.hit(owner);
      return h('ul', { id: owner }, ...rows.map((r) => h('li', { key: String(r['id']) }, String(r['body']))));
    }
    const root = mount(
      h(SynclineProvider, { options: app.options() }, h(Subscribe), h(Owned, { owner: 'a' }), h(Owned, { owner: 'b' })),
    );
    const text = (id: string) => root.container.querySelector(`#${id}`)?.textContent;
    await eventually(() => text('status') === 'live' && text('a') === 'onetwo' && text('b') === 'three');
    await sleep(200); // nothing else is on its way
    const a = renders.of('a');
    const b = renders.of('b');

    await app.db.query(`UPDATE item SET body = 'ONE' WHERE id = 'a1'`);
    await eventually(() => text('a') === 'ONEtwo', 10_000, 'the change rendered');
    await sleep(300);
    expect(renders.of('a')).toBe(a + 1);
    expect(renders.of('b')).toBe(b); // its rows are the same frozen array: no render

    await app.db.query(`UPDATE item SET body = 'THREE' WHERE id = 'b1'`);
    await eventually(() => text('b') === 'THREE', 10_000, 'the second change rendered');
    await sleep(300);
    expect(renders.of('a')).toBe(a + 1); // and a write to b's rows leaves a alone
    root.unmount();
  });

  it('two components share one subscription, ended a linger after the last unmounts', async () => {
    const client = new SyncClient(app.options());
    const subscribe = vi.spyOn(client, 'subscribe');
    const counts = () => subscribe.mock.calls.length;
    function Owned({ name }: { name: string }) {
      const { rows } = useSubscription('items_by_owner', { owner: 'a' });
      return h('p', { id: name }, String(rows.length));
    }
    const tree = (...names: string[]) =>
      h(SynclineProvider, { client, lingerMs: 300 }, ...names.map((n) => h(Owned, { key: n, name: n })));
    const root = mount(tree('x', 'y'));
    const text = (id: string) => root.container.querySelector(`#${id}`)?.textContent;
    await eventually(() => text('x') === '2' && text('y') === '2');
    expect(counts()).toBe(1);
    expect(client.stats.snapshotsCompleted).toBe(1); // the server sent one snapshot: one subscription
    const handle = subscribe.mock.results[0]?.value as SubscriptionHandle;
    const unsubscribe = vi.spyOn(handle, 'unsubscribe');

    root.render(tree('x')); // one of two leaves: still held
    await sleep(500);
    root.render(tree()); // the last leaves ...
    await sleep(100);
    root.render(tree('z')); // ... and one comes back within the linger
    await eventually(() => text('z') === '2');
    await sleep(500);
    expect(counts()).toBe(1);
    expect(unsubscribe).not.toHaveBeenCalled();

    const left = Date.now();
    root.render(tree());
    await eventually(() => unsubscribe.mock.calls.length === 1, 5_000, 'unsubscribed after the linger');
    expect(Date.now() - left).toBeGreaterThanOrEqual(290);
    root.render(tree('w')); // after the linger: a new subscription
    await eventually(() => text('w') === '2');
    expect(counts()).toBe(2);
    root.unmount();
    await client.close();
  });
});
