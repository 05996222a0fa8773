/**
 * Writes through the hooks against the real server: an optimistic write shows at once
 * and rolls back on a 409 with the error on the hook; undo and redo by keyboard.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WriteOp } from '@syncline/protocol';
import { SynclineProvider } from './provider.ts';
import { useMutate } from './use-mutate.ts';
import { useQuery } from './use-query.ts';
import { useSubscription } from './use-subscription.ts';
import { useUndoRedo, useUndoShortcuts } from './use-undo-redo.ts';
import type { MutationState } from './mutation-tracker.ts';
import { h, installDom, mount } from './testing/dom.ts';
import { eventually, startPgApp, type PgApp } from './testing/pg-app.ts';

let app: PgApp;
beforeAll(async () => {
  app = await startPgApp();
  await app.db.query(`INSERT INTO item (id, status) VALUES ('w1', 'open'), ('k1', 'open')`);
});
afterAll(async () => {
  await app?.close();
});

const statusIn = async (id: string) =>
  (await app.db.query<{ status: string }>(`SELECT status FROM item WHERE id = $1`, [id])).rows[0]?.status;

describe('writes', () => {
  it('an optimistic write shows at once and rolls back on 409, with the error on the hook', async () => {
    const seen: string[] = [];
    const states: MutationState[] = [];
    let mutate: ((ops: WriteOp[]) => Promise<number>) | undefined;
    function Item() {
      const { status } = useSubscription('items_all');
      const [row] = useQuery('item', (q) => q.where((r) => r['id'] === 'w1'), []);
      const [m, state] = useMutate();
      mutate = m;
      if (status === 'live' && row) seen.push(String(row['status']));
      if (states.at(-1) !== state) states.push(state);
      return h(
        'p',
        { id: 'w1' },
        `${String(row?.['status'])} ${state.pending ? 'pending' : 'settled'} ${state.error?.code ?? '-'}`,
      );
    }
    const root = mount(h(SynclineProvider, { options: app.options() }, h(Item)));
    const text = () => root.container.querySelector('#w1')?.textContent;
    await eventually(() => text() === 'open settled -' && seen.length > 0);

    const stale: WriteOp = { type: 'set', table: 'item', id: 'w1', key: 'status', value: 'mine', expectedVersion: 99 };
    await mutate?.([stale]);
    await eventually(() => seen.includes('mine'), 2_000, 'shown before the answer');
    await eventually(() => text() === 'open settled CONFLICT', 10_000, 'rolled back, error surfaced');
    const last = seen.lastIndexOf('mine');
    expect(seen.slice(last + 1)).toEqual(expect.arrayContaining(['open']));
    expect(seen.slice(0, last)).not.toContain('mine'); // shown once, then rolled back
    expect(states.some((s) => s.pending)).toBe(true);
    expect(await statusIn('w1')).toBe('open');

    await mutate?.([{ type: 'set', table: 'item', id: 'w1', key: 'status', value: 'ok' }]);
    await eventually(() => text() === 'ok settled -', 10_000, 'a later write clears the error');
    expect(await statusIn('w1')).toBe('ok');
    root.unmount();
  });

  it('Ctrl+Z undoes and Shift+Ctrl+Z / Ctrl+Y redo, not inside a text input', async () => {
    const window = installDom();
    let mutate: ((ops: WriteOp[]) => Promise<number>) | undefined;
    function Editor() {
      const sub = useSubscription('items_all');
      useUndoShortcuts();
      const { canUndo, canRedo } = useUndoRedo();
      const [m, { pending }] = useMutate();
      mutate = m;
      return h(
        'div',
        null,
        h('input', { id: 'field' }),
        h('p', { id: 'h' }, `${sub.status} ${canUndo} ${canRedo} ${pending}`),
      );
    }
    const root = mount(h(SynclineProvider, { options: app.options() }, h(Editor)));
    const text = () => root.container.querySelector('#h')?.textContent;
    const press = (key: string, mods: { shiftKey?: boolean; ctrlKey?: boolean; metaKey?: boolean }, on?: Element) =>
      (on ?? document).dispatchEvent(
        new window.KeyboardEvent('keydown', { key, bubbles: true, cancelable: true, ...mods }) as unknown as Event,
      );
    await eventually(() => text() === 'live false false false');
    await mutate?.([{ type: 'set', table: 'item', id: 'k1', key: 'status', value: 'edited' }]);
    await eventually(() => text() === 'live true false false', 10_000, 'confirmed');
    expect(await statusIn('k1')).toBe('edited');

    press('z', { ctrlKey: true }, root.container.querySelector('#field') ?? undefined); // the input's own undo
    await new Promise((r) => setTimeout(r, 300));
    expect(text()).toBe('live true false false');

    press('z', { ctrlKey: true });
    await eventually(async () => (await statusIn('k1')) === 'open', 10_000, 'undone on the server');
    await eventually(() => text() === 'live false true false');
    press('z', { metaKey: true, shiftKey: true });
    await eventually(async () => (await statusIn('k1')) === 'edited', 10_000, 'redone (Shift+Cmd+Z)');
    await eventually(() => text() === 'live true false false');
    press('z', { metaKey: true });
    await eventually(async () => (await statusIn('k1')) === 'open', 10_000, 'undone (Cmd+Z)');
    await eventually(() => text() === 'live false true false');
    press('y', { ctrlKey: true });
    await eventually(async () => (await statusIn('k1')) === 'edited', 10_000, 'redone (Ctrl+Y)');
    root.unmount();
  });
});
