/**
 * The client's write side against the real server: mutations made while the
 * server is down show at once and are applied in order, once, when it comes
 * back; a conflict rolls back with an event; undo and redo go through the server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { MemoryLocalStore, SyncClient, type RejectedEvent, type WebSocketConstructor } from '@syncline/client';
import type { SynclineOptions } from '../src/config.ts';
import { defineMutator } from '../src/writes/mutators.ts';
import type { SynclineServer } from '../src/server.ts';
import { eventually } from './client-harness.ts';
import { COLLECTIONS, SCHEMA } from './fixtures.ts';
import { freePort } from './free-port.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';
import { startTestServer } from './test-server.ts';
import { testToken } from './test-token.ts';

let db: TestDatabase;
let server: SynclineServer | null = null;
let port: number;
const writes: SynclineOptions['writes'] = { item: { insert: true, update: true, delete: true } };
const mutators = [
  defineMutator('items.close', async (tx, args) => {
    await tx.write({
      type: 'set',
      table: 'item',
      id: String((args as { id: string }).id),
      key: 'status',
      value: 'closed',
    });
  }),
];
const start = async () => (server = await startTestServer(db, COLLECTIONS, { port, writes, mutators }));

beforeAll(async () => {
  db = await createTestDatabase(SCHEMA);
  port = await freePort();
  await start();
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

async function client() {
  return SyncClient.open({
    url: `http://127.0.0.1:${port}`,
    token: () => testToken('writer'),
    transport: 'ws',
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    store: await MemoryLocalStore.open(),
    backoff: { baseMs: 50, maxMs: 300 },
  });
}

describe('client writes', () => {
  it('20 mutations made while the server is down show at once and are applied in order, once, when it is back', async () => {
    const c = await client();
    const sub = c.subscribe({ id: 'all', collection: 'items_all' });
    await sub.ready();
    await server?.stop();
    server = null;
    for (let i = 0; i < 20; i++) {
      await c.mutate([
        {
          type: 'insert',
          table: 'item',
          row: { id: `off${String(i).padStart(2, '0')}`, status: 'open', body: String(i) },
        },
      ]);
      expect(c.view('item').filter((r) => String(r['id']).startsWith('off'))).toHaveLength(i + 1); // shown before any server
    }
    expect(c.pendingMutations).toBe(20);
    await start();
    await eventually(() => c.pendingMutations === 0, 30_000, 'outbox drained');
    const applied = await db.query<{ id: string }>(
      `SELECT id FROM item WHERE id LIKE 'off%' ORDER BY xmin::text::bigint`,
    );
    expect(applied.rows.map((r) => r.id)).toEqual(
      Array.from({ length: 20 }, (_, i) => `off${String(i).padStart(2, '0')}`),
    );
    await eventually(
      () => c.view('item').filter((r) => String(r['id']).startsWith('off')).length === 20 && sub.rows().length === 20,
    );
    await c.close();
  }, 60_000);

  it('a conflicting mutation rolls back with an event carrying the server row; undo and redo go through the server', async () => {
    await db.query(`INSERT INTO item (id, status) VALUES ('u1', 'open')`);
    const c = await client();
    const sub = c.subscribe({ id: 'all', collection: 'items_all' });
    await sub.ready();
    await eventually(() => c.view('item').some((r) => r['id'] === 'u1'));
    const rejected: RejectedEvent[] = [];
    c.on('rejected', (e) => rejected.push(e));

    await c.mutate([{ type: 'set', table: 'item', id: 'u1', key: 'status', value: 'mine', expectedVersion: 99 }]);
    expect(c.view('item').find((r) => r['id'] === 'u1')?.['status']).toBe('mine'); // optimistic
    await eventually(() => rejected.length === 1, 10_000, 'rejection');
    expect(rejected[0]?.error.code).toBe('CONFLICT');
    expect(c.view('item').find((r) => r['id'] === 'u1')?.['status']).toBe('open'); // rolled back

    await c.mutate([{ type: 'set', table: 'item', id: 'u1', key: 'status', value: 'first' }]);
    await eventually(() => c.pendingMutations === 0 && sub.get('u1')?.['status'] === 'first');
    expect(c.canUndo).toBe(true);
    await c.undo();
    await eventually(
      async () => (await db.query(`SELECT status FROM item WHERE id = 'u1'`)).rows[0]?.['status'] === 'open',
    );
    expect(c.canRedo).toBe(true);
    await c.redo();
    await eventually(
      async () => (await db.query(`SELECT status FROM item WHERE id = 'u1'`)).rows[0]?.['status'] === 'first',
    );
    await eventually(() => c.view('item').find((r) => r['id'] === 'u1')?.['status'] === 'first');
    await c.close();
  });

  it('live queries follow the optimistic view; drafts survive a reopen on the same store', async () => {
    const store = await MemoryLocalStore.open();
    const open = () =>
      SyncClient.open({
        url: `http://127.0.0.1:${port}`,
        token: () => testToken('writer'),
        transport: 'sse',
        store,
        backoff: { baseMs: 50, maxMs: 300 },
      });
    const c = await open();
    const sub = c.subscribe({ id: 'all', collection: 'items_all' });
    await sub.ready();
    const results: string[][] = [];
    const stop = c
      .query('item')
      .where((r) => r['status'] === 'lq')
      .orderBy('id')
      .subscribe((rows) => results.push(rows.map((r) => String(r['id']))));
    await c.mutate([{ type: 'insert', table: 'item', row: { id: 'lq2', status: 'lq' } }]);
    await c.mutate([{ type: 'insert', table: 'item', row: { id: 'lq1', status: 'lq' } }]);
    expect(results.at(-1)).toEqual(['lq1', 'lq2']); // at once, before the server answered
    await eventually(() => c.pendingMutations === 0, 10_000, 'both inserts on the server');
    await db.query(`UPDATE item SET status = 'other' WHERE id = 'lq2'`); // someone else's change
    await eventually(
      () => JSON.stringify(results.at(-1)) === JSON.stringify(['lq1']),
      10_000,
      'query follows the server',
    );
    stop();

    // Over one subscription: its rows (the server decides membership), with pending mutations on top.
    const openSub = c.subscribe({ id: 'open', collection: 'items_open' });
    await openSub.ready();
    const inOpen: string[][] = [];
    const stopOpen = c
      .query({ subscription: 'open' })
      .where((r) => String(r['id']).startsWith('lq'))
      .subscribe((rows) => inOpen.push(rows.map((r) => `${String(r['id'])}:${String(r['status'])}`)));
    expect(inOpen.at(-1)).toEqual([]);
    await db.query(`UPDATE item SET status = 'open' WHERE id = 'lq1'`);
    await eventually(() => JSON.stringify(inOpen.at(-1)) === '["lq1:open"]', 10_000, 'moved in');
    await c.mutate([{ type: 'set', table: 'item', id: 'lq1', key: 'status', value: 'closed' }]);
    expect(inOpen.at(-1)).toEqual(['lq1:closed']); // at once: the pending value
    await eventually(() => inOpen.at(-1)?.length === 0, 10_000, 'moved out once the server applied it');
    stopOpen();

    await c.drafts?.set('order-form', { title: 'half typed' });
    await c.flushStorage();
    await c.close();
    const again = await open();
    expect(await again.drafts?.get('order-form')).toEqual({ title: 'half typed' });
    await again.close();
  });

  it('undo of a mutation whose row another user changed since is refused with a conflict, not applied over theirs', async () => {
    await db.query(`INSERT INTO item (id, status) VALUES ('u2', 'open')`);
    const c = await client();
    const sub = c.subscribe({ id: 'all', collection: 'items_all' });
    await sub.ready();
    await eventually(() => c.view('item').some((r) => r['id'] === 'u2'));
    const rejected: RejectedEvent[] = [];
    c.on('rejected', (e) => rejected.push(e));
    await c.mutate([{ type: 'set', table: 'item', id: 'u2', key: 'status', value: 'mine' }]);
    await eventually(() => c.pendingMutations === 0);
    await db.query(`UPDATE item SET status = 'theirs' WHERE id = 'u2'`); // someone else, after us
    await eventually(() => sub.get('u2')?.['status'] === 'theirs');
    await c.undo();
    await eventually(() => rejected.length === 1, 10_000, 'undo refused');
    expect(rejected[0]?.error.code).toBe('CONFLICT');
    expect((await db.query(`SELECT status FROM item WHERE id = 'u2'`)).rows[0]?.['status']).toBe('theirs');
    await eventually(() => c.view('item').find((r) => r['id'] === 'u2')?.['status'] === 'theirs');
    await c.close();
  });

  it('a mutator registered undoable: false shows its prediction but stays out of undo history', async () => {
    await db.query(`INSERT INTO item (id, status) VALUES ('u3', 'open'), ('u4', 'open')`);
    const c = await client();
    const sub = c.subscribe({ id: 'all', collection: 'items_all' });
    await sub.ready();
    await eventually(() => c.view('item').some((r) => r['id'] === 'u4'));
    const close = (_view: unknown, args: unknown) => [
      { type: 'set' as const, table: 'item', id: (args as { id: string }).id, key: 'status', value: 'closed' },
    ];
    const off = c.registerMutator('items.close', close, { undoable: false });
    await c.mutator('items.close', { id: 'u3' });
    expect(c.view('item').find((r) => r['id'] === 'u3')?.['status']).toBe('closed'); // shown at once
    expect(c.canUndo).toBe(false);
    await eventually(() => c.pendingMutations === 0);
    expect(await c.undo()).toBeUndefined();
    off();
    c.registerMutator('items.close', close); // the default: undo sends the inverse as plain writes
    await c.mutator('items.close', { id: 'u4' });
    expect(c.canUndo).toBe(true);
    await eventually(() => c.pendingMutations === 0);
    await c.undo();
    await eventually(() => c.pendingMutations === 0);
    const rows = await db.query(`SELECT id, status FROM item WHERE id IN ('u3', 'u4') ORDER BY id`);
    expect(rows.rows).toEqual([
      { id: 'u3', status: 'closed' },
      { id: 'u4', status: 'open' },
    ]);
    await c.close();
  });
});
