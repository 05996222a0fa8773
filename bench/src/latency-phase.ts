/** One case of the latency benchmark: N subscribers open, warm-up commits, measured commits. */
import type pg from 'pg';
import { sleep } from './database.ts';
import { processCpuMs } from './environment.ts';
import type { PgoutputFloor } from './pgoutput-floor.ts';
import type { PhaseLatencies, Receipts } from './receipts.ts';
import type { ServerProcess } from './server-process.ts';
import { SseSubscribers } from './sse-subscribers.ts';

export interface PhaseContext {
  writer: pg.Client;
  receipts: Receipts;
  server: ServerProcess;
  floor: PgoutputFloor;
  intervalMs: number;
  signal: AbortSignal;
  /** Next sequence number to write; unique across cases. */
  nextSeq: number;
}

export interface PhaseResult {
  subscribers: number;
  commits: number;
  latencies: PhaseLatencies;
  notes: string[];
}

/** A commit every receiver lacks after this long counts as missing; five in a row end the run. */
const RECEIPT_TIMEOUT_MS = 2_000;
/** Quiet time after the last receipt before the next commit, so the previous fan-out's tail (socket
 * callbacks, GC) does not land on the next sample. */
const SETTLE_MS = 5;

interface RouterStatsJson {
  router: { transactions: number; routingMsTotal: number; snapshotQueries: number; snapshotsCoalesced: number };
  connections: { sse: number };
}

export async function runPhase(
  ctx: PhaseContext,
  p: { subscribers: number; commits: number; warmup: number },
): Promise<PhaseResult> {
  const { server, receipts } = ctx;
  const label = `${p.subscribers} subscriber${p.subscribers === 1 ? '' : 's'}`;
  console.log(`${label}: opening streams, ${p.warmup} warm-up + ${p.commits} measured commits`);
  receipts.resetSubscribers(p.subscribers);
  const subs = new SseSubscribers({
    baseUrl: server.url,
    collection: 'bench_items',
    column: 'n',
    clientPrefix: `bench-${p.subscribers}`,
    onChange: (i, seq, at) => receipts.onSse(i, seq, at),
  });
  const rssIdle = server.rssMiB();
  const opened = performance.now();
  const notes: string[] = [];
  try {
    await subs.open(p.subscribers, 10_000 + 50 * p.subscribers, ctx.signal);
    const readyMs = performance.now() - opened;
    const rssReady = server.rssMiB();

    await drive(ctx, take(ctx, p.warmup));
    const measured = take(ctx, p.commits);
    const before = (await server.getJson('/v1/sync/stats')) as RouterStatsJson;
    const cpuBefore = processCpuMs(server.pid);
    const benchCpuBefore = process.cpuUsage();
    const { timeouts, elapsedMs } = await drive(ctx, measured);
    const cpuMs = processCpuMs(server.pid) - cpuBefore;
    const benchCpu = process.cpuUsage(benchCpuBefore);
    const benchCpuMs = (benchCpu.user + benchCpu.system) / 1000;
    const after = (await server.getJson('/v1/sync/stats')) as RouterStatsJson;
    const latencies = receipts.latencies(measured);

    const routed = after.router.transactions - before.router.transactions;
    const routingMs = after.router.routingMsTotal - before.router.routingMsTotal;
    notes.push(
      `streams ready (snapshot done) in ${readyMs.toFixed(0)} ms; server sees ${after.connections.sse} SSE connections; ` +
        `snapshot queries ${after.router.snapshotQueries} so far (${after.router.snapshotsCoalesced} joins coalesced)`,
      `measured ${p.commits} commits in ${(elapsedMs / 1000).toFixed(1)} s; CPU per commit: server ${(cpuMs / p.commits).toFixed(2)} ms ` +
        `(router ${(routingMs / Math.max(1, routed)).toFixed(3)} ms of it), bench ${(benchCpuMs / p.commits).toFixed(2)} ms`,
      `server RSS ${mib(rssIdle)} → ${mib(rssReady)} (streams open) → ${mib(server.rssMiB())} MiB; ` +
        `bench RSS ${mib(process.memoryUsage().rss / 1024 ** 2)} MiB`,
    );
    const c = subs.counters;
    const problems = [
      timeouts ? `${timeouts} commits not fully received within ${RECEIPT_TIMEOUT_MS} ms` : '',
      latencies.missingFloor ? `floor missed ${latencies.missingFloor} commits` : '',
      latencies.missingSse ? `${latencies.missingSse} SSE receipts missing` : '',
      receipts.outOfOrder ? `${receipts.outOfOrder} duplicate or out-of-order SSE receipts` : '',
      c.errors ? `${c.errors} SSE error events (first: ${c.firstError ?? ''})` : '',
      c.resyncs ? `${c.resyncs} resync events` : '',
      c.disconnects ? `${c.disconnects} streams closed by the server` : '',
    ].filter(Boolean);
    notes.push(problems.length ? `! ${problems.join('; ')}` : 'no errors, resyncs, disconnects or missing receipts');
    return { subscribers: p.subscribers, commits: p.commits, latencies, notes };
  } finally {
    subs.close();
    const gone = await waitForNoStreams(server, 10_000);
    if (!gone) notes.push('! server still counts SSE connections 10 s after every subscriber closed');
  }
}

function take(ctx: PhaseContext, count: number): number[] {
  const seqs = Array.from({ length: count }, (_, i) => ctx.nextSeq + i);
  ctx.nextSeq += count;
  return seqs;
}

/**
 * Writes one commit per sequence number, paced: the next goes `intervalMs` after the previous was sent,
 * and never before every receiver has the previous one and things have been quiet for SETTLE_MS.
 */
async function drive(ctx: PhaseContext, seqs: readonly number[]): Promise<{ timeouts: number; elapsedMs: number }> {
  const start = performance.now();
  let timeouts = 0;
  let inARow = 0;
  let next = start;
  for (const seq of seqs) {
    ctx.signal.throwIfAborted();
    if (ctx.server.exit !== null) throw new Error(`syncline exited (${ctx.server.exit}):\n${ctx.server.log}`);
    if (ctx.floor.error) throw ctx.floor.error;
    const wait = Math.max(next, ctx.receipts.lastReceiptAt + SETTLE_MS) - performance.now();
    if (wait > 0) await sleep(wait);
    const t0 = performance.now();
    ctx.receipts.markSent(seq, t0);
    await ctx.writer.query(`UPDATE bench_item SET n = ${seq} WHERE id = 1`);
    next = t0 + ctx.intervalMs;
    if (await ctx.receipts.waitComplete(seq, RECEIPT_TIMEOUT_MS)) {
      inARow = 0;
    } else {
      timeouts++;
      if (++inARow >= 5) throw new Error(`5 commits in a row not received by every subscriber (last: n = ${seq})`);
    }
  }
  return { timeouts, elapsedMs: performance.now() - start };
}

async function waitForNoStreams(server: ServerProcess, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (server.exit !== null) return true;
    const stats = (await server.getJson('/v1/sync/stats').catch(() => null)) as RouterStatsJson | null;
    if (stats && stats.connections.sse === 0) return true;
    await sleep(100);
  }
  return false;
}

function mib(v: number): string {
  return Number.isFinite(v) ? v.toFixed(0) : '?';
}
