/**
 * `npm run bench -- latency`: COMMIT → receipt, for a bare pgoutput consumer
 * (the floor) and for Syncline SSE subscribers, on the same commits.
 *
 *   writer ── UPDATE bench_item SET n = <seq> ──► Postgres ─┬─► slot bench_floor_*    ─► PgoutputFloor (this process)
 *   t0 = performance.now()                                  └─► slot bench_syncline_* ─► syncline (child process)
 *                                                                 ─► SSE ─► 1 or 1,000 raw streams (this process)
 *
 * Every receiver stamps `performance.now()` in this process, so no clocks are
 * compared. Commits are paced: one per interval, and never before every receiver
 * has the previous one, so each sample is a lone commit rather than a queue.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createBenchDatabase, dropLeftovers, freePort, openPostgres, sleep } from './database.ts';
import { describeEnvironment, formatEnvironment } from './environment.ts';
import { PgoutputFloor } from './pgoutput-floor.ts';
import { Receipts } from './receipts.ts';
import { type PhaseResult, runPhase } from './latency-phase.ts';
import { formatLatencyTable } from './latency-report.ts';
import { ServerProcess } from './server-process.ts';
import { UsageError, intOption } from './usage-error.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const latencyUsage = `latency [--commits N] [--subscribers N] [--warmup N] [--interval MS] [--markdown]
    COMMIT → receipt for a bare pgoutput consumer vs Syncline SSE with 1 and N subscribers.
    --commits      measured commits per case (default 300 with 1 subscriber, 200 with N)
    --subscribers  subscribers in the fan-out case (default 1000)
    --warmup       discarded commits before each case (default 50)
    --interval     ms between commits (default 20)
    --markdown     also print the table as Markdown`;

export interface LatencyOptions {
  commits: number | null;
  subscribers: number;
  warmup: number;
  intervalMs: number;
  markdown: boolean;
}

export function parseLatencyArgs(argv: string[]): LatencyOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        commits: { type: 'string' },
        subscribers: { type: 'string' },
        warmup: { type: 'string' },
        interval: { type: 'string' },
        markdown: { type: 'boolean', default: false },
      },
    });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const values = parsed.values;
  return {
    commits: values.commits === undefined ? null : intOption('commits', values.commits, 0, 1),
    subscribers: intOption('subscribers', values.subscribers, 1000, 1),
    warmup: intOption('warmup', values.warmup, 50, 0),
    intervalMs: intOption('interval', values.interval, 20, 0),
    markdown: values.markdown ?? false,
  };
}

export async function runLatency(argv: string[]): Promise<void> {
  const opts = parseLatencyArgs(argv); // before anything starts: a usage error leaves nothing to clean up
  // Ctrl-C, or an error thrown outside our await chain (a connection's 'error' event, say), aborts
  // the run; the loops notice within one commit and the finally below cleans up.
  const abort = new AbortController();
  const onSigint = () => abort.abort(new Error('interrupted'));
  const onFatal = (err: unknown) => abort.abort(err instanceof Error ? err : new Error(String(err)));
  process.once('SIGINT', onSigint);
  process.on('uncaughtException', onFatal);
  const cleanups: Array<[string, () => Promise<void>]> = [];
  try {
    const postgres = await openPostgres(repoRoot);
    cleanups.push(['postgres', () => postgres.stop()]);
    if (postgres.embedded) {
      const dropped = await dropLeftovers(postgres.adminUrl);
      if (dropped.length)
        console.log(`dropped ${dropped.length} database(s) left by an interrupted run: ${dropped.join(', ')}`);
    }
    const db = await createBenchDatabase(postgres.adminUrl);
    cleanups.push([`database ${db.name}`, () => db.drop()]);
    const writer = new pg.Client({ connectionString: db.url });
    writer.on('error', onFatal);
    await writer.connect();
    cleanups.push(['writer', () => writer.end()]);

    const version = (await writer.query<{ v: string }>('SELECT version() AS v')).rows[0]?.v ?? '?';
    const env = describeEnvironment(
      `${version.split(' on ')[0] ?? version}${postgres.embedded ? ' (embedded)' : ''}`,
      repoRoot,
    );
    console.log(`Syncline latency benchmark\n${formatEnvironment(env)}\n`);

    // Each connection costs a file descriptor on both sides; keep well below the limit.
    let fanout = opts.subscribers;
    if (env.fdLimit < fanout + 200) {
      fanout = Math.max(1, env.fdLimit - 200);
      console.log(
        `! ulimit -n is ${env.fdLimit}: using ${fanout} subscribers instead of ${opts.subscribers} (raise it with \`ulimit -n 4096\`)\n`,
      );
    }

    await writer.query(
      'CREATE TABLE bench_item (id int PRIMARY KEY, n bigint NOT NULL, version integer NOT NULL DEFAULT 1)',
    );
    // Row 1 is the one updated; 100 more so each snapshot has some weight.
    await writer.query('INSERT INTO bench_item (id, n) SELECT g, 0 FROM generate_series(1, 101) g');

    const receipts = new Receipts();
    const floor = new PgoutputFloor({
      connectionString: db.url,
      table: 'bench_item',
      column: 'n',
      // Slot names are cluster-wide: suffixed so runs sharing a DATABASE_URL cannot collide.
      slot: `bench_floor_${db.id}`,
      publication: 'bench_floor',
      onCommit: (seq, at) => receipts.onFloor(seq, at),
    });
    await floor.start(writer);
    cleanups.push(['floor', () => floor.stop()]);

    const port = await freePort();
    const server = await ServerProcess.start({
      repoRoot,
      databaseUrl: db.url,
      port,
      configName: `${db.name}.config.ts`,
      config: `export default ${JSON.stringify({
        collections: [{ name: 'bench_items', table: 'bench_item' }],
        slot: `bench_syncline_${db.id}`,
        publication: 'bench_syncline',
        heartbeatMs: 15000,
      })};\n`,
    });
    cleanups.push(['syncline server', () => server.stop()]);

    const ctx = { writer, receipts, server, floor, intervalMs: opts.intervalMs, signal: abort.signal, nextSeq: 1 };
    const results: PhaseResult[] = [];
    for (const [subscribers, commits] of [
      [1, opts.commits ?? 300],
      [fanout, opts.commits ?? 200],
    ] as const) {
      const r = await runPhase(ctx, { subscribers, commits, warmup: opts.warmup });
      results.push(r);
      console.log(r.notes.map((n) => `  ${n}`).join('\n'));
      await sleep(200);
    }
    console.log('');
    console.log(formatLatencyTable(results, 'text'));
    if (opts.markdown) console.log(`\n${formatLatencyTable(results, 'markdown')}`);
    if (server.log.trim()) console.log(`\nserver output:\n${server.log.trim()}`);
  } finally {
    process.off('SIGINT', onSigint);
    process.off('uncaughtException', onFatal);
    for (const [name, cleanup] of cleanups.reverse()) {
      await cleanup().catch((err: unknown) =>
        console.error(`cleanup of ${name} failed: ${err instanceof Error ? err.message : String(err)}`),
      );
    }
  }
}
