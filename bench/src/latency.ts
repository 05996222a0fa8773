/**
 * `npm run bench -- latency`: COMMIT → receipt, for a bare pgoutput consumer
 * (the floor) and for Syncline subscribers over SSE and WebSocket, on the same
 * commits; and, for fan-out, a bare broadcast of the same bytes.
 *
 *   writer ── UPDATE bench_item SET n = <seq> ──► Postgres ─┬─► slot bench_floor_*    ─► PgoutputFloor (this process)
 *   t0 = performance.now()                                  └─► slot bench_syncline_* ─► syncline (child process)
 *                                                                 ─► SSE or WS ─► 1 or 1,000 raw streams (this process)
 *
 *   trigger n ── IPC ──► broadcast-server.ts (child process) ─► the same bytes to 1,000 raw streams (this process)
 *   t0 = performance.now()       (fan-out cases: alternating with the commits, never at the same time)
 *
 * Every receiver stamps `performance.now()` in this process, so no clocks are
 * compared. Commits are paced: one per interval, and never before every receiver
 * has the previous one, so each sample is a lone commit rather than a queue.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { newJwtSecret, tokenFor, tokensFor } from './auth.ts';
import { BroadcastFloor } from './broadcast-floor.ts';
import { setUpBench } from './bench-setup.ts';
import { freePort, sleep } from './database.ts';
import { PgoutputFloor } from './pgoutput-floor.ts';
import { Receipts } from './receipts.ts';
import { type PhaseContext, type PhaseResult, runPhase } from './latency-phase.ts';
import { formatFanoutTable, formatLatencyTable } from './latency-report.ts';
import { ServerProcess } from './server-process.ts';
import type { Transport } from './subscribers.ts';
import { withRunScope } from './run-scope.ts';
import { UsageError, intOption } from './usage-error.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const latencyUsage = `latency [--commits N] [--subscribers N] [--warmup N] [--interval MS] [--transports sse,ws] [--markdown]
    COMMIT → receipt for a bare pgoutput consumer vs Syncline SSE and WebSocket with 1 and N
    subscribers, and N subscribers of a bare broadcast of the same bytes.
    --commits      measured commits per case (default 300 with 1 subscriber, 200 with N)
    --subscribers  subscribers in the fan-out case (default 1000)
    --warmup       discarded commits before each case (default 50)
    --interval     ms between commits (default 20)
    --transports   which transports, comma-separated (default sse,ws)
    --markdown     also print the tables as Markdown`;

export interface LatencyOptions {
  commits: number | null;
  subscribers: number;
  warmup: number;
  intervalMs: number;
  transports: Transport[];
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
        transports: { type: 'string' },
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
    transports: transportsOption(values.transports),
    markdown: values.markdown ?? false,
  };
}

export function transportsOption(value: string | undefined): Transport[] {
  if (value === undefined) return ['sse', 'ws'];
  const list = value.split(',').map((t) => t.trim());
  const bad = list.filter((t) => t !== 'sse' && t !== 'ws');
  if (bad.length || list.length === 0)
    throw new UsageError(`--transports takes sse, ws or sse,ws; got ${JSON.stringify(value)}`);
  return [...new Set(list)] as Transport[];
}

export async function runLatency(argv: string[]): Promise<void> {
  const opts = parseLatencyArgs(argv); // before anything starts: a usage error leaves nothing to clean up
  await withRunScope(async (scope) => {
    const { db, writer, env } = await setUpBench(repoRoot, scope, 'Syncline latency benchmark');
    const { signal, defer } = scope;

    // Each connection costs a file descriptor on both sides, and this process holds Syncline's
    // subscribers and the broadcast floor's; keep well below the limit.
    let fanout = opts.subscribers;
    if (env.fdLimit < 2 * fanout + 200) {
      fanout = Math.max(1, Math.floor((env.fdLimit - 200) / 2));
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
    defer('floor', () => floor.stop());

    const port = await freePort();
    const jwtSecret = newJwtSecret();
    const server = await ServerProcess.start({
      repoRoot,
      databaseUrl: db.url,
      port,
      jwtSecret,
      adminToken: await tokenFor(jwtSecret, 'bench-admin'),
      configName: `${db.name}.config.ts`,
      config: `export default ${JSON.stringify({
        // shared: every user sees the same rows, so all subscribers share one instance (one
        // snapshot, one serialised frame per commit), as any public collection would.
        collections: [{ name: 'bench_items', table: 'bench_item', shared: true }],
        slot: `bench_syncline_${db.id}`,
        publication: 'bench_syncline',
        heartbeatMs: 15000,
        // Subscribers are distinct users (one token each), under the default per-user limits;
        // only the bench's own /v1/sync/stats polling could exceed the default request rate.
        limits: { requestsPerSecond: 1_000_000 },
      })};\n`,
    });
    defer('syncline server', () => server.stop());

    const ctx: PhaseContext = {
      writer,
      receipts,
      server,
      floor,
      intervalMs: opts.intervalMs,
      signal,
      nextSeq: 1,
      tokens: await tokensFor(jwtSecret, 'bench-user', fanout),
    };
    const results: PhaseResult[] = [];
    for (const [subscribers, commits] of [
      [1, opts.commits ?? 300],
      [fanout, opts.commits ?? 200],
    ] as const) {
      for (const transport of opts.transports) {
        const spec = { transport, subscribers, commits, warmup: opts.warmup };
        // Fan-out cases alternate with the bare broadcast floor: same subscribers, same frame.
        const broadcast = subscribers > 1 ? await BroadcastFloor.start(repoRoot, transport) : null;
        try {
          const rs = await runPhase(ctx, { ...spec, broadcast });
          results.push(...rs);
          for (const r of rs) console.log(r.notes.map((n) => `  ${n}`).join('\n'));
        } finally {
          await broadcast?.stop();
        }
        await sleep(200);
      }
    }
    console.log('');
    console.log(formatLatencyTable(results, 'text'));
    const fanoutTable = formatFanoutTable(results, 'text');
    if (fanoutTable) console.log(`\n${fanoutTable}`);
    if (opts.markdown) {
      console.log(`\n${formatLatencyTable(results, 'markdown')}`);
      const md = formatFanoutTable(results, 'markdown');
      if (md) console.log(`\n${md}`);
    }
    if (server.log.trim()) console.log(`\nserver output:\n${server.log.trim()}`);
  });
}
