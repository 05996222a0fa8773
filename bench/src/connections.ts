/**
 * `npm run bench -- connections`: how many idle, authenticated subscribers one
 * Syncline server holds, and what each costs it in memory.
 *
 *   connection-client.ts × P (child processes, 127.0.0.2, .3, … as source addresses)
 *        ─► SSE or WS, one user per stream, each subscribed to a 10-row collection
 *        ─► syncline (child process, --expose-gc, heap read over IPC)
 *
 * Per transport, a fresh server; the clients ramp in steps (1k, 5k, 10k, …). At
 * each step: time to open the new streams (each counts once its snapshot is
 * complete), then the server's RSS and heap after a full GC. Then everything is
 * held for a few heartbeats (any stream the server drops is counted), closed,
 * and the server's memory read once more.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { newJwtSecret, tokenFor } from './auth.ts';
import { setUpBench } from './bench-setup.ts';
import { freePort, sleep } from './database.ts';
import { processCpuMs } from './environment.ts';
import { type ConnectionsRow, formatConnectionsTable } from './connections-report.ts';
import { transportName } from './latency-phase.ts';
import { NodeChild } from './node-child.ts';
import { type RunScope, abortable, withRunScope } from './run-scope.ts';
import { ServerProcess } from './server-process.ts';
import type { BenchDatabase } from './database.ts';
import type { Transport } from './subscribers.ts';
import { transportsOption } from './latency.ts';
import { UsageError, intOption } from './usage-error.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const connectionsUsage = `connections [--steps 1000,5000,…] [--transports sse,ws] [--per-process N] [--concurrency N] [--hold S] [--markdown]
    Idle authenticated subscribers one server holds: per step, time to open them and the
    server's RSS and heap (after GC) per connection; then held for a few heartbeats and closed.
    --steps        connection counts to ramp through (default 1000,5000,10000,15000,20000)
    --transports   which transports, comma-separated (default sse,ws)
    --per-process  connections per client process (default 5000)
    --concurrency  streams being opened at once per client process (default 50)
    --hold         seconds to hold the last step (default 12; heartbeats every 5 s)
    --markdown     also print the table as Markdown`;

export interface ConnectionsOptions {
  steps: number[];
  transports: Transport[];
  perProcess: number;
  concurrency: number;
  holdSec: number;
  markdown: boolean;
}

/** Heartbeat interval of the server under test: a hold of 12 s sees two rounds. */
const HEARTBEAT_MS = 5_000;
/** A step that takes longer than this is abandoned (its unanswered streams count as failed). */
const STEP_TIMEOUT_MS = 180_000;
/** Memory is read again this long after every stream closed. */
const LATE_RELEASE_MS = 12_000;
/** Time a single stream may take to get its snapshot. */
const STREAM_TIMEOUT_MS = 60_000;

export function parseConnectionsArgs(argv: string[]): ConnectionsOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        steps: { type: 'string' },
        transports: { type: 'string' },
        'per-process': { type: 'string' },
        concurrency: { type: 'string' },
        hold: { type: 'string' },
        markdown: { type: 'boolean', default: false },
      },
    });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const v = parsed.values;
  const steps = (v.steps ?? '1000,5000,10000,15000,20000').split(',').map((s) => intOption('steps', s.trim(), 0, 1));
  if (steps.some((s, i) => i > 0 && s <= (steps[i - 1] as number)))
    throw new UsageError(`--steps must increase, got ${v.steps ?? ''}`);
  return {
    steps,
    transports: transportsOption(v.transports),
    perProcess: intOption('per-process', v['per-process'], 5000, 1),
    concurrency: intOption('concurrency', v.concurrency, 50, 1),
    holdSec: intOption('hold', v.hold, 12, 0),
    markdown: v.markdown ?? false,
  };
}

interface OpenReply {
  held: number;
  opened: number;
  failed: number;
  failures: Record<string, number>;
  ms: number;
}

interface StatusReply {
  held: number;
  dropped: number;
  dropReasons: Record<string, number>;
  minPings: number | null;
  rss: number;
}

interface StatsJson {
  instances: number;
  connections: { sse: number; ws: number };
  router: { snapshotQueries: number; snapshotsCoalesced: number };
}

export async function runConnections(argv: string[]): Promise<void> {
  const opts = parseConnectionsArgs(argv); // before anything starts: a usage error leaves nothing to clean up
  await withRunScope(async (scope) => {
    const { db, writer, env } = await setUpBench(repoRoot, scope, 'Syncline connections benchmark');
    await writer.query('CREATE TABLE bench_idle (id int PRIMARY KEY, label text NOT NULL, version integer NOT NULL)');
    await writer.query(`INSERT INTO bench_idle SELECT g, 'row ' || g, 1 FROM generate_series(1, 10) g`);
    const top = opts.steps[opts.steps.length - 1] as number;
    const processes = Math.ceil(top / opts.perProcess);
    if (env.fdLimit < opts.perProcess + 100) {
      throw new UsageError(`ulimit -n is ${env.fdLimit}: use --per-process ${Math.max(1, env.fdLimit - 100)} or less`);
    }
    const rows: ConnectionsRow[] = [];
    const notes: string[] = [];
    for (const transport of opts.transports) {
      const r = await runTransport(scope, db, opts, transport, processes);
      rows.push(...r.rows);
      notes.push(...r.notes);
      await sleep(500);
    }
    console.log('');
    console.log(formatConnectionsTable(rows, 'text'));
    console.log(notes.map((n) => `  ${n}`).join('\n'));
    if (opts.markdown) console.log(`\n${formatConnectionsTable(rows, 'markdown')}`);
  });
}

async function runTransport(
  scope: RunScope,
  db: BenchDatabase,
  opts: ConnectionsOptions,
  transport: Transport,
  processes: number,
): Promise<{ rows: ConnectionsRow[]; notes: string[] }> {
  const t = transportName(transport);
  const rows: ConnectionsRow[] = [];
  const notes: string[] = [];
  const jwtSecret = newJwtSecret();
  const server = await ServerProcess.start({
    repoRoot,
    databaseUrl: db.url,
    port: await freePort(),
    jwtSecret,
    adminToken: await tokenFor(jwtSecret, 'bench-admin'),
    configName: `${db.name}-${transport}.config.ts`,
    nodeArgs: ['--expose-gc'],
    config: `export default ${JSON.stringify({
      // shared: one instance (one snapshot query at a time) for every subscriber, as for any
      // collection whose rows do not depend on the user.
      collections: [{ name: 'bench_idle', table: 'bench_idle', shared: true }],
      slot: `bench_conn_${transport}_${db.id}`,
      publication: 'bench_conn',
      heartbeatMs: HEARTBEAT_MS,
      // Every stream is its own user, so the per-user limits hold as they are; only the bench's
      // own stats requests (one user) could exceed the default request rate.
      limits: { requestsPerSecond: 1_000_000 },
    })};\n`,
  });
  // Stopped here, not only at the end of the run: each transport gets a fresh server.
  let stopped = false;
  const stopServer = async () => {
    if (!stopped) await server.stop();
    stopped = true;
  };
  scope.defer(`syncline server (${t})`, stopServer);
  const clients: NodeChild[] = [];
  const stopClients = async () => {
    await Promise.all(clients.map((c) => c.stop(5_000)));
  };
  scope.defer(`connection clients (${t})`, stopClients);
  try {
    const limit = server.fileLimit();
    const fdsIdle = server.openFiles();
    console.log(
      `${t}: server pid ${server.pid}, open files ${fdsIdle} of ${limit} (so at most ~${limit - fdsIdle} streams); ` +
        `${processes} client process(es)`,
    );
    for (let k = 0; k < processes; k++) {
      const c = NodeChild.spawn({
        name: `connection client ${k}`,
        repoRoot,
        script: path.join('bench', 'src', 'connection-client.ts'),
      });
      clients.push(c);
    }
    await Promise.all(
      clients.map((c, k) =>
        c.request(
          {
            type: 'init',
            transport,
            baseUrl: server.url,
            secret: jwtSecret,
            collection: 'bench_idle',
            prefix: `conn-${transport}-p${k}`,
            // Distinct source addresses: each has its own range of ephemeral ports.
            localAddress: `127.0.0.${2 + k}`,
            concurrency: opts.concurrency,
            timeoutMs: STREAM_TIMEOUT_MS,
          },
          30_000,
        ),
      ),
    );

    const measure = async (): Promise<{ rssMiB: number; heapMiB: number; externalMiB: number; fds: number }> => {
      const m = await server.memory(true);
      return {
        rssMiB: m.rss / 1024 ** 2,
        heapMiB: m.heapUsed / 1024 ** 2,
        externalMiB: m.external / 1024 ** 2,
        fds: server.openFiles(),
      };
    };
    // null when the server does not answer (it may be out of file descriptors).
    const stats = async () => (await server.getJson('/v1/sync/stats').catch(() => null)) as StatsJson | null;
    const alive = () => {
      if (server.exit !== null) throw new Error(`syncline exited (${server.exit}):\n${server.log}`);
    };

    const idle = await measure();
    rows.push({ transport: t, step: 'idle', target: 0, held: 0, failed: 0, openMs: NaN, cpuPerOpenMs: NaN, ...idle });
    let prev = { held: 0, ...idle };
    let failedTotal = 0;
    const failureReasons: Record<string, number> = {};
    for (const target of opts.steps) {
      scope.signal.throwIfAborted();
      alive();
      const cpuBefore = processCpuMs(server.pid);
      const clientCpuBefore = clients.reduce((a, c) => a + processCpuMs(c.pid), 0);
      const started = performance.now();
      const share = (k: number) => Math.floor(target / processes) + (k < target % processes ? 1 : 0);
      const replies = await abortable(
        Promise.all(clients.map((c, k) => c.request<OpenReply>({ type: 'open', target: share(k) }, STEP_TIMEOUT_MS))),
        scope.signal,
      );
      const openMs = performance.now() - started;
      const cpuMs = processCpuMs(server.pid) - cpuBefore;
      const clientCpuMs = clients.reduce((a, c) => a + processCpuMs(c.pid), 0) - clientCpuBefore;
      alive();
      const opened = replies.reduce((a, r) => a + r.opened, 0);
      const failed = replies.reduce((a, r) => a + r.failed, 0);
      const held = replies.reduce((a, r) => a + r.held, 0);
      failedTotal += failed;
      for (const r of replies)
        for (const [why, n] of Object.entries(r.failures)) failureReasons[why] = (failureReasons[why] ?? 0) + n;
      await sleep(1_000); // let snapshot buffers and handshake garbage go
      const m = await measure();
      const s = await stats();
      const seen = s
        ? `server counts ${s.connections[transport]}, ${s.instances} instance(s), ${s.router.snapshotQueries} snapshot queries`
        : '! /v1/sync/stats did not answer';
      console.log(
        `  ${target}: ${held} held (${opened} opened, ${failed} failed${failed ? ` ${JSON.stringify(failureReasons)}` : ''}) ` +
          `in ${(openMs / 1000).toFixed(1)} s (CPU per open: server ${(cpuMs / opened).toFixed(2)} ms, clients ${(clientCpuMs / opened).toFixed(2)} ms); ` +
          `${seen}; RSS ${m.rssMiB.toFixed(0)} MiB, heap ${m.heapMiB.toFixed(0)} MiB, ${m.fds} fds`,
      );
      rows.push({
        transport: t,
        step: String(target),
        target,
        held,
        failed,
        openMs,
        cpuPerOpenMs: opened ? cpuMs / opened : NaN,
        ...m,
        perConnRssKiB: ((m.rssMiB - prev.rssMiB) * 1024) / (held - prev.held),
        perConnHeapKiB: ((m.heapMiB - prev.heapMiB) * 1024) / (held - prev.held),
      });
      prev = { held, ...m };
    }

    // Hold: heartbeats go out; a stream the server closes (or a client not answering pings) shows up here.
    if (opts.holdSec > 0) {
      await Promise.all(clients.map((c) => c.request<StatusReply>({ type: 'status' }, 30_000))); // resets ping counts
      const cpuBefore = processCpuMs(server.pid);
      await abortable(sleep(opts.holdSec * 1000), scope.signal);
      const cpuMs = processCpuMs(server.pid) - cpuBefore;
      alive();
      const status = await Promise.all(clients.map((c) => c.request<StatusReply>({ type: 'status' }, 30_000)));
      const held = status.reduce((a, r) => a + r.held, 0);
      const dropped = status.reduce((a, r) => a + r.dropped, 0);
      const reasons: Record<string, number> = {};
      for (const r of status)
        for (const [why, n] of Object.entries(r.dropReasons)) reasons[why] = (reasons[why] ?? 0) + n;
      const minPings = Math.min(...status.map((r) => r.minPings ?? Infinity));
      const clientRss = status.reduce((a, r) => a + r.rss, 0) / 1024 ** 2;
      const m = await measure();
      const s = await stats();
      rows.push({
        transport: t,
        step: `held ${opts.holdSec} s`,
        target: prev.held,
        held,
        failed: 0,
        openMs: NaN,
        cpuPerOpenMs: NaN,
        ...m,
      });
      notes.push(
        `${t}: held ${held} streams for ${opts.holdSec} s (heartbeat ${HEARTBEAT_MS / 1000} s): ${dropped} dropped` +
          `${dropped ? ` ${JSON.stringify(reasons)}` : ''}; fewest heartbeats seen by a stream ${Number.isFinite(minPings) ? minPings : '–'}; ` +
          `server counts ${s ? s.connections[transport] : '? (stats did not answer)'}; server CPU ${(cpuMs / opts.holdSec).toFixed(0)} ms/s while idle; ` +
          `client processes ${clientRss.toFixed(0)} MiB RSS in all`,
      );
    }

    // Close everything; the server should forget the streams and give the memory back.
    const closing = performance.now();
    await Promise.all(clients.map((c) => c.request({ type: 'close' }, 60_000)));
    let left = -1;
    while (performance.now() - closing < 30_000) {
      const s = await stats();
      left = s ? s.connections[transport] : -1;
      if (left === 0) break;
      await sleep(200);
    }
    const closeMs = performance.now() - closing;
    await sleep(1_000);
    const after = await measure();
    const closedRow = { transport: t, target: 0, held: 0, failed: 0, openMs: NaN, cpuPerOpenMs: NaN };
    rows.push({ ...closedRow, step: 'closed +1 s', ...after });
    // Anything the server releases late (timers holding closed connections) shows up here.
    await abortable(sleep(LATE_RELEASE_MS - 1_000), scope.signal);
    const later = await measure();
    rows.push({ ...closedRow, step: `closed +${LATE_RELEASE_MS / 1000} s`, ...later });
    const topRow = rows.filter((r) => r.target > 0 && /^\d+$/.test(r.step)).at(-1);
    if (topRow && topRow.held > 0) {
      notes.push(
        `${t}: at ${topRow.held} streams, ${(((topRow.rssMiB - idle.rssMiB) * 1024) / topRow.held).toFixed(1)} KiB RSS and ` +
          `${(((topRow.heapMiB - idle.heapMiB) * 1024) / topRow.held).toFixed(1)} KiB heap per stream over idle; ` +
          `${failedTotal} failed to open${failedTotal ? ` ${JSON.stringify(failureReasons)}` : ''}; ` +
          `server forgot them ${left === 0 ? `${(closeMs / 1000).toFixed(1)} s after closing` : `! not within 30 s (${left < 0 ? 'stats did not answer' : `${left} left`})`}; ` +
          `heap after GC ${idle.heapMiB.toFixed(1)} MiB idle → ${after.heapMiB.toFixed(1)} MiB 1 s after all closed ` +
          `→ ${later.heapMiB.toFixed(1)} MiB ${LATE_RELEASE_MS / 1000} s after; RSS ${idle.rssMiB.toFixed(0)} → ${later.rssMiB.toFixed(0)} MiB`,
      );
    }
    if (server.log.trim()) notes.push(`${t}: server output:\n${server.log.trim()}`);
    return { rows, notes };
  } finally {
    await stopClients();
    await stopServer();
  }
}
