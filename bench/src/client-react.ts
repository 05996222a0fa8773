/**
 * The React binding row of `npm run bench -- client`: time from a commit (the
 * pushed `changes` event of the in-memory server) to the committed React render of
 * a 1,000-row list with one changed row, and renders per commit, beside the core
 * client's own receipt time (its 'transaction' event) on the same commits.
 *
 *   push(changes) ──▶ client 'transaction' (receipt) ──▶ 'view' ──▶ useQuery's store
 *                 ──▶ React render (list + the one changed row) ──▶ layout effect (committed)
 *
 * react-dom renders into happy-dom's document in a child Node; rows are memoised by
 * row object, so a commit renders the list and the changed row only.
 */
import { fileURLToPath } from 'node:url';
import { Window } from 'happy-dom';
import { createElement as h, memo, useLayoutEffect } from 'react';
import { createRoot } from 'react-dom/client';
import { SyncClient } from '../../packages/client/src/sync-client.ts';
import { cur, FakeServer, sse } from '../../packages/client/src/testing/fake-server.ts';
import { SynclineProvider } from '../../packages/react/src/provider.ts';
import { useQuery } from '../../packages/react/src/use-query.ts';
import { runAsChild, until } from './child-main.ts';
import { median } from './stats.ts';

export interface ReactResult {
  rows: number;
  commits: number;
  clientMsMedian: number;
  clientMsP90: number;
  reactMsMedian: number;
  reactMsP90: number;
  listRendersPerCommit: number;
  rowRendersPerCommit: number;
}

const self = fileURLToPath(import.meta.url);

type Order = { id: string; status: string; n: number };

export async function measureReact(total: number, commits: number): Promise<ReactResult> {
  const window = new Window({ url: 'http://localhost/' });
  Object.assign(globalThis, { window, document: window.document });
  const server = new FakeServer();
  const client = new SyncClient({ url: 'http://bench.invalid/', token: 't', fetch: server.fetch, transport: 'sse' });
  client.subscribe({ id: 'o', collection: 'orders' });
  let listRenders = 0;
  let rowRenders = 0;
  let committed = 0;
  let committedAt = 0;
  const Row = memo(function Row({ row }: { row: Order }) {
    rowRenders++;
    return h('li', null, `${row.id} ${row.status} ${row.n}`);
  });
  function List() {
    const rows = useQuery<Order>('order', (q) => q.orderBy('id'), []);
    listRenders++;
    useLayoutEffect(() => {
      committed++;
      committedAt = performance.now();
    });
    return h('ul', null, ...rows.map((row) => h(Row, { key: row.id, row })));
  }
  const container = window.document.createElement('div');
  window.document.body.appendChild(container);
  const root = createRoot(container as unknown as HTMLElement);
  root.render(h(SynclineProvider, { client }, h(List)));

  await until(() => server.streams.length > 0, 'client bench (react)');
  server.stream.push(sse('hello', { connectionId: 'bench', protocol: 1, heartbeatMs: 60_000 }));
  const rows = [];
  for (let i = 0; i < total; i++)
    rows.push({ key: String(i), row: { id: String(i), status: 'open', n: i }, version: 1 });
  server.stream.push(sse('snapshot', { subscription: 'o', table: 'public.order', rows, cursor: cur(1), done: true }));
  await until(() => container.querySelectorAll('li').length === total, 'client bench (react)');
  await new Promise((r) => setTimeout(r, 50));

  let receivedAt = 0;
  client.on('transaction', () => (receivedAt = performance.now()));
  const clientMs: number[] = [];
  const reactMs: number[] = [];
  const listBefore = listRenders;
  const rowBefore = rowRenders;
  for (let n = 0; n < commits; n++) {
    const key = String((n * 7919) % total);
    const event = sse('changes', {
      cursor: cur(2 + n),
      changes: [
        { subscription: 'o', op: 'update', key, row: { id: key, status: 'open', n: total + n }, version: 2 + n },
      ],
    });
    const target = committed + 1;
    const start = performance.now();
    server.stream.push(event);
    await until(() => committed >= target, 'client bench (react)');
    clientMs.push(receivedAt - start);
    reactMs.push(committedAt - start);
  }
  const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)] ?? NaN;
  const result: ReactResult = {
    rows: total,
    commits,
    clientMsMedian: median(clientMs),
    clientMsP90: p90(clientMs),
    reactMsMedian: median(reactMs),
    reactMsP90: p90(reactMs),
    listRendersPerCommit: (listRenders - listBefore) / commits,
    rowRendersPerCommit: (rowRenders - rowBefore) / commits,
  };
  root.unmount();
  await client.close();
  await window.happyDOM.close();
  return result;
}

runAsChild(self, measureReact);
