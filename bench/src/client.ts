/**
 * `npm run bench -- client`: what one applied transaction costs the client.
 *
 * A real SyncClient (stream parsing, subscriptions, optimistic view, live
 * queries) fed by an in-memory server, holding N rows in two subscriptions of
 * two tables (orders and drivers, half each), with a live query over each
 * table. Then one-row transactions on `order`, one at a time:
 *   time per transaction (push of the event → the client's 'transaction'
 *   event, by which point the view and the live queries are up to date),
 *   heap allocated per transaction (used heap across batches that saw no GC),
 *   and live-query re-runs per transaction, per query.
 * The floor is the 1,000-row case in the same run: the goal is that the cost
 * does not grow with the rows held.
 *
 * Runs in a child Node with `--expose-gc` and a large young generation, so
 * allocation can be read off the heap between collections.
 */
import { spawn } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { SyncClient as SyncClientType } from '../../packages/client/src/index.ts';
import { SyncClient } from '../../packages/client/src/sync-client.ts';
import { cur, FakeServer, sse } from '../../packages/client/src/testing/fake-server.ts';
import { runAsChild, until } from './child-main.ts';
import { median, ratio } from './stats.ts';
import { printTables } from './table.ts';
import { intOption, optionValues } from './usage-error.ts';
import { describeEnvironment, formatEnvironment } from './environment.ts';
import path from 'node:path';
import type { ReactResult } from './client-react.ts';

export const clientUsage = `client [--sizes 1000,10000,100000] [--transactions 400]
    a client holding each number of rows in two subscriptions, with a live query per table:
    time, heap allocated and live-query re-runs per applied one-row transaction;
    then @syncline/react: commit → committed render of a 1,000-row list, renders per commit`;

const self = fileURLToPath(import.meta.url);
const repoRoot = path.resolve(path.dirname(self), '../..');
const BATCH = 50;

interface Result {
  rows: number;
  msMedian: number;
  msP90: number;
  bytesMedian: number;
  ordersRuns: number;
  driversRuns: number;
  batchesWithoutGc: number;
}

export async function runClient(argv: string[]): Promise<void> {
  const opt = optionValues(argv);
  const sizes = (opt('sizes') ?? '1000,10000,100000').split(',').map((s) => intOption('sizes', s, 1000, 10));
  const transactions = intOption('transactions', opt('transactions'), 400, BATCH);
  console.log(formatEnvironment(describeEnvironment('(none: in-memory server)', repoRoot)));
  const results: Result[] = [];
  for (const rows of sizes) results.push(await inChild(self, rows, transactions));
  const floor = results[0] as Result;
  printTables(
    `Client: one applied one-row transaction (${transactions} per size, medians; floor = the ${floor.rows.toLocaleString('en')}-row case)`,
    [
      'rows held',
      'ms / tx',
      'p90 ms',
      '× floor',
      'KiB alloc / tx',
      '× floor',
      're-runs: orders query',
      're-runs: drivers query',
    ],
    results.map((r) => [
      r.rows.toLocaleString('en'),
      r.msMedian,
      r.msP90,
      ratio(r.msMedian, floor.msMedian),
      r.bytesMedian / 1024,
      ratio(r.bytesMedian, floor.bytesMedian),
      r.ordersRuns,
      r.driversRuns,
    ]),
  );
  const gcNote = results.map((r) => `${r.rows}: ${r.batchesWithoutGc} of ${transactions / BATCH}`).join(', ');
  console.log(`\nallocation read from batches of ${BATCH} transactions that saw no GC (${gcNote})`);

  const react = await inChild<ReactResult>(reactChild, 1000, transactions);
  console.log('');
  printTables(
    `@syncline/react: a ${react.rows.toLocaleString('en')}-row list (useQuery, rows memoised), one row changed per commit (${react.commits} commits, medians)`,
    [
      'rows',
      'client receipt ms',
      'p90',
      'committed render ms',
      'p90',
      'render − receipt ms',
      'list renders / commit',
      'row renders / commit',
    ],
    [
      [
        react.rows.toLocaleString('en'),
        react.clientMsMedian,
        react.clientMsP90,
        react.reactMsMedian,
        react.reactMsP90,
        react.reactMsMedian - react.clientMsMedian,
        react.listRendersPerCommit,
        react.rowRendersPerCommit,
      ],
    ],
  );
}

const reactChild = fileURLToPath(new URL('./client-react.ts', import.meta.url));

function inChild<T = Result>(script: string, rows: number, transactions: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--conditions=@syncline/source',
        '--import',
        'tsx',
        '--expose-gc',
        '--max-semi-space-size=128',
        script,
        String(rows),
        String(transactions),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`client bench child exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '') as T);
    });
  });
}

async function measure(total: number, transactions: number): Promise<Result> {
  const server = new FakeServer();
  const client = new SyncClient({ url: 'http://bench.invalid/', token: 't', fetch: server.fetch, transport: 'sse' });
  client.subscribe({ id: 'o', collection: 'orders' });
  client.subscribe({ id: 'd', collection: 'drivers' });
  const orders = client
    .query<{ id: string; status: string; n: number }>('order')
    .where((o) => o.status === 'open')
    .orderBy('n', 'desc')
    .limit(20);
  const drivers = client
    .query<{ id: string; online: boolean }>('driver')
    .where((d) => d.online)
    .orderBy('id')
    .limit(20);
  const offOrders = orders.subscribe(() => undefined);
  const offDrivers = drivers.subscribe(() => undefined);
  await until(() => server.streams.length > 0, 'client bench');
  server.stream.push(sse('hello', { connectionId: 'bench', protocol: 1, heartbeatMs: 60_000 }));
  const half = Math.floor(total / 2);
  const snapshot = (subscription: string, table: string, n: number, row: (i: number) => object) => {
    const part = 5_000;
    for (let at = 0; at < n; at += part) {
      const rows = [];
      for (let i = at; i < Math.min(n, at + part); i++) rows.push({ key: String(i), row: row(i), version: 1 });
      server.stream.push(sse('snapshot', { subscription, table, rows, cursor: cur(1), done: at + part >= n }));
    }
  };
  snapshot('o', 'public.order', half, (i) => ({ id: String(i), status: i % 3 === 0 ? 'open' : 'done', n: i }));
  snapshot('d', 'public.driver', total - half, (i) => ({ id: String(i), online: i % 2 === 0 }));
  await until(
    () => client.view('order').length === half && client.view('driver').length === total - half,
    'client bench',
  );
  await new Promise((r) => setTimeout(r, 50));

  let applied = 0;
  client.on('transaction', () => applied++);
  const times: number[] = [];
  const allocations: number[] = [];
  let gcs = 0;
  const observer = new PerformanceObserver((list) => (gcs += list.getEntries().length));
  observer.observe({ entryTypes: ['gc'] });
  const ordersBefore = orders.runs;
  const driversBefore = drivers.runs;
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let batch = 0; batch < transactions / BATCH; batch++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 0)); // let the observer report that collection
    const gcsBefore = gcs;
    const heapBefore = process.memoryUsage().heapUsed;
    for (let i = 0; i < BATCH; i++) {
      const n = batch * BATCH + i;
      const key = String((n * 7919) % half);
      const event = sse('changes', {
        cursor: cur(2 + n),
        changes: [
          {
            subscription: 'o',
            op: 'update',
            key,
            row: { id: key, status: n % 2 === 0 ? 'open' : 'done', n: half + n },
            version: 2 + n,
          },
        ],
      });
      const target = applied + 1;
      const start = performance.now();
      server.stream.push(event);
      await until(() => applied >= target, 'client bench');
      times.push(performance.now() - start);
    }
    const heapAfter = process.memoryUsage().heapUsed;
    await new Promise((r) => setTimeout(r, 0));
    if (gcs === gcsBefore) allocations.push((heapAfter - heapBefore) / BATCH);
  }
  observer.disconnect();
  const result: Result = {
    rows: total,
    msMedian: median(times),
    msP90: [...times].sort((a, b) => a - b)[Math.floor(times.length * 0.9)] ?? NaN,
    bytesMedian: allocations.length > 0 ? median(allocations) : NaN,
    ordersRuns: (orders.runs - ordersBefore) / transactions,
    driversRuns: (drivers.runs - driversBefore) / transactions,
    batchesWithoutGc: allocations.length,
  };
  offOrders();
  offDrivers();
  await (client as SyncClientType).close();
  return result;
}

runAsChild(self, measure);
