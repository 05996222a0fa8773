/**
 * The optimistic view follows the stream change by change: a transaction
 * touches only its keys of base, a live query over a table the transaction
 * did not touch does not run at all, and one over the touched table runs once.
 */
import type { Row } from '@syncline/protocol';
import { describe, expect, it } from 'vitest';
import { cur, flush, sse } from './testing/fake-server.ts';
import { setupClient } from './testing/setup-client.ts';

const rows = (n: number, row: (i: number) => Row) =>
  Array.from({ length: n }, (_, i) => ({ key: String(i), row: row(i), version: 1 }));

async function twoTables() {
  const setup = setupClient();
  const { server, client, hello } = setup;
  client.subscribe({ id: 'o', collection: 'orders' });
  client.subscribe({ id: 'd', collection: 'drivers' });
  const orders = client
    .query<{ id: string; status: string }>('order')
    .where((o) => o.status === 'open')
    .orderBy('id');
  const drivers = client.query<{ id: string; online: boolean }>('driver').where((d) => d.online);
  const shown = { orders: [] as (readonly Row[])[], drivers: [] as (readonly Row[])[] };
  orders.subscribe((r) => shown.orders.push(r));
  drivers.subscribe((r) => shown.drivers.push(r));
  await flush();
  hello();
  server.stream.push(
    sse('snapshot', {
      subscription: 'o',
      table: 'public.order',
      rows: rows(300, (i) => ({ id: String(i), status: i % 2 ? 'open' : 'done' })),
      cursor: cur(10),
      done: true,
    }),
  );
  server.stream.push(
    sse('snapshot', {
      subscription: 'd',
      table: 'public.driver',
      rows: rows(200, (i) => ({ id: String(i), online: i % 2 === 0 })),
      cursor: cur(10),
      done: true,
    }),
  );
  await flush();
  const change = (n: number, subscription: 'o' | 'd', key: string, row: Row) =>
    server.stream.push(
      sse('changes', { cursor: cur(n), changes: [{ subscription: subscription, op: 'update', key, row, version: n }] }),
    );
  return { ...setup, orders, drivers, shown, change };
}

describe('SyncClient view: one change costs the change', () => {
  it('a transaction on one table re-runs only the live query of that table, once', async () => {
    const { client, orders, drivers, shown, change } = await twoTables();
    expect(client.view('order')).toHaveLength(300);
    expect(client.view('driver')).toHaveLength(200);
    const before = { orders: orders.runs, drivers: drivers.runs };
    const notified = { orders: shown.orders.length, drivers: shown.drivers.length };

    for (let n = 11; n < 21; n++) change(n, 'o', String(n), { id: String(n), status: 'open' });
    await flush();
    expect(orders.runs - before.orders).toBe(10);
    expect(drivers.runs - before.drivers).toBe(0);
    expect(shown.drivers.length - notified.drivers).toBe(0);
    expect(orders.current.map((o) => o.id)).toContain('12');

    change(21, 'd', '1', { id: '1', online: true });
    await flush();
    expect(orders.runs - before.orders).toBe(10);
    expect(drivers.runs - before.drivers).toBe(1);
    expect(drivers.current.map((d) => d.id)).toContain('1');
    await client.close();
  });

  it('a change that leaves the result as it was re-runs the query but does not notify', async () => {
    const { client, orders, shown, change } = await twoTables();
    const runs = orders.runs;
    const notified = shown.orders.length;
    change(11, 'o', '0', { id: '0', status: 'done', note: 'still done' }); // filtered out before and after
    await flush();
    expect(orders.runs - runs).toBe(1);
    expect(shown.orders.length - notified).toBe(0);
    await client.close();
  });

  it('base follows the subscriptions: a row two subscriptions hold stays until the last one drops it', async () => {
    const { server, client, hello } = setupClient();
    client.subscribe({ id: 'a', collection: 'orders' });
    const b = client.subscribe({ id: 'b', collection: 'orders' });
    await flush();
    hello();
    for (const id of ['a', 'b']) {
      server.stream.push(
        sse('snapshot', {
          subscription: id,
          table: 'public.order',
          rows: [{ key: '1', row: { id: '1', v: 1 }, version: 1 }],
          cursor: cur(10),
          done: true,
        }),
      );
    }
    await flush();
    client.query('order').subscribe(() => undefined); // builds the view
    await flush();
    expect(client.view('order')).toEqual([{ id: '1', v: 1 }]);
    // Out of a's filter: b still holds it.
    server.stream.push(
      sse('changes', {
        cursor: cur(11),
        changes: [{ subscription: 'a', op: 'delete', key: '1', row: null, version: 1 }],
      }),
    );
    await flush();
    expect(client.view('order')).toEqual([{ id: '1', v: 1 }]);
    // An update b sees wins, then b lets go: gone.
    server.stream.push(
      sse('changes', {
        cursor: cur(12),
        changes: [{ subscription: 'b', op: 'update', key: '1', row: { id: '1', v: 2 }, version: 2 }],
      }),
    );
    await flush();
    expect(client.view('order')).toEqual([{ id: '1', v: 2 }]);
    b.unsubscribe();
    await flush();
    expect(client.view('order')).toEqual([]);
    await client.close();
  });
});
