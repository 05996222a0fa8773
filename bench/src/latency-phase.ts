/**
 * One case of the latency benchmark: N subscribers on one transport open, warm-up
 * commits, measured commits. The receivers are either Syncline (each commit is an
 * UPDATE, and the pgoutput floor sees it too) or the bare broadcast floor (each
 * "commit" is a trigger over IPC; no database).
 */
import type pg from 'pg';
import type { BroadcastFloor } from './broadcast-floor.ts';
import { sleep } from './database.ts';
import { processCpuMs } from './environment.ts';
import type { PgoutputFloor } from './pgoutput-floor.ts';
import { type PhaseLatencies, Receipts } from './receipts.ts';
import type { ServerProcess } from './server-process.ts';
import { SseSubscribers } from './sse-subscribers.ts';
import type { Subscribers, SubscriberOptions, Transport } from './subscribers.ts';
import { WsSubscribers } from './ws-subscribers.ts';

export interface PhaseContext {
  writer: pg.Client;
  receipts: Receipts;
  server: ServerProcess;
  floor: PgoutputFloor;
  intervalMs: number;
  signal: AbortSignal;
  /** Next sequence number to write; unique across cases. */
  nextSeq: number;
  /** Bearer token of subscriber i, each a distinct user. */
  tokens: readonly string[];
}

export interface PhaseSpec {
  transport: Transport;
  subscribers: number;
  commits: number;
  warmup: number;
  /**
   * With a broadcast floor, its own subscribers (as many) are opened too, and its
   * frames alternate with Syncline's commits: commit, every receipt, frame, every
   * receipt, commit… so both see the same machine at the same time, never at once.
   */
  broadcast: BroadcastFloor | null;
}

export interface PhaseResult {
  kind: 'syncline' | 'broadcast';
  transport: Transport;
  subscribers: number;
  commits: number;
  latencies: PhaseLatencies;
  notes: string[];
  /** Broadcast: the size of the frame sent (the size of Syncline's `changes` message), bytes. */
  frameBytes: number | null;
}

/** A commit every receiver lacks after this long counts as missing; five in a row end the run. */
const RECEIPT_TIMEOUT_MS = 2_000;
/** Quiet time after the last receipt before the next commit, so the previous fan-out's tail (socket
 * callbacks, GC) does not land on the next sample. */
const SETTLE_MS = 5;

interface RouterStatsJson {
  router: { transactions: number; routingMsTotal: number; snapshotQueries: number; snapshotsCoalesced: number };
  instances: number;
  connections: { sse: number; ws: number };
}

export function transportName(t: Transport): string {
  return t === 'sse' ? 'SSE' : 'WS';
}

export function createSubscribers(transport: Transport, options: SubscriberOptions): Subscribers {
  return transport === 'sse' ? new SseSubscribers(options) : new WsSubscribers(options);
}

/** One set of receivers and how to make them receive something. */
interface Lane {
  kind: 'syncline' | 'broadcast';
  receipts: Receipts;
  subs: Subscribers;
  issue(seq: number): Promise<void>;
  /** The process that does the sending (server or broadcaster). */
  pid: number | undefined;
  /** Bench CPU spent from issue to the last receipt, summed over measured commits (µs). */
  benchCpuUs: number;
}

export async function runPhase(ctx: PhaseContext, p: PhaseSpec): Promise<PhaseResult[]> {
  const { server } = ctx;
  const bc = p.broadcast;
  const t = transportName(p.transport);
  console.log(
    `${t}, ${p.subscribers} subscriber${p.subscribers === 1 ? '' : 's'}${bc ? ` (+ as many of the ${t} broadcast floor)` : ''}: ` +
      `opening streams, ${p.warmup} warm-up + ${p.commits} measured commits${bc ? ' and as many frames' : ''}`,
  );
  if (p.subscribers > ctx.tokens.length) throw new Error(`only ${ctx.tokens.length} tokens for ${p.subscribers}`);
  const lane = (
    kind: Lane['kind'],
    receipts: Receipts,
    baseUrl: string,
    issue: Lane['issue'],
    pid: number | undefined,
  ) => {
    receipts.reset(p.subscribers, kind === 'syncline');
    const subs = createSubscribers(p.transport, {
      baseUrl,
      collection: 'bench_items',
      column: 'n',
      clientPrefix: `bench-${p.transport}-${p.subscribers}`,
      tokens: ctx.tokens,
      onChange: (i, seq, at) => receipts.onReceipt(i, seq, at),
    });
    return { kind, receipts, subs, issue, pid, benchCpuUs: 0 };
  };
  const lanes: Lane[] = [
    lane(
      'syncline',
      ctx.receipts,
      server.url,
      async (seq) => {
        await ctx.writer.query(`UPDATE bench_item SET n = ${seq} WHERE id = 1`);
      },
      server.pid,
    ),
  ];
  if (bc) {
    lanes.push(
      lane(
        'broadcast',
        new Receipts(),
        bc.url,
        (seq) => {
          bc.trigger(seq);
          return Promise.resolve();
        },
        bc.pid,
      ),
    );
  }
  const alive = () => {
    if (server.exit !== null) throw new Error(`syncline exited (${server.exit}):\n${server.log}`);
    if (bc && bc.exit !== null) throw new Error(`broadcast floor exited (${bc.exit})`);
    if (ctx.floor.error) throw ctx.floor.error;
  };
  const [sy, br] = lanes as [Lane, Lane | undefined];
  const rssIdle = server.rssMiB();
  const notes: string[] = [];
  const brNotes: string[] = [];
  try {
    const opened = performance.now();
    await sy.subs.open(p.subscribers, 10_000 + 50 * p.subscribers, ctx.signal);
    const readyMs = performance.now() - opened;
    const rssReady = server.rssMiB();
    let brReadyMs = NaN;
    if (br) {
      const brOpened = performance.now();
      await br.subs.open(p.subscribers, 10_000 + 50 * p.subscribers, ctx.signal);
      brReadyMs = performance.now() - brOpened;
    }

    // Syncline's warm-up first: its `changes` message is the broadcast floor's frame.
    await drive(ctx, [sy], alive, take(ctx, p.warmup, 1), false);
    let frameBytes: number | null = null;
    if (bc && br) {
      const frame = sy.subs.lastChangesFrame;
      if (!frame) throw new Error(`no ${t} changes message to size the broadcast floor's frame with`);
      frameBytes = await bc.setFrame(frame, 'n');
      await drive(ctx, [br], alive, take(ctx, p.warmup, 1), false);
    }
    const measured = take(ctx, p.commits, lanes.length);
    const before = (await server.getJson('/v1/sync/stats')) as RouterStatsJson;
    const cpuBefore = lanes.map((l) => processCpuMs(l.pid));
    const { timeouts, elapsedMs } = await drive(ctx, lanes, alive, measured, true);
    const cpuMs = lanes.map((l, i) => processCpuMs(l.pid) - (cpuBefore[i] as number));
    const after = (await server.getJson('/v1/sync/stats')) as RouterStatsJson;
    const perCommit = (ms: number) => (ms / p.commits).toFixed(2);

    const routed = after.router.transactions - before.router.transactions;
    const routingMs = after.router.routingMsTotal - before.router.routingMsTotal;
    notes.push(
      `streams ready (snapshot done) in ${readyMs.toFixed(0)} ms; server sees ${after.connections[p.transport]} ${t} connections, ` +
        `${after.instances} collection instance(s); snapshot queries ${after.router.snapshotQueries} so far ` +
        `(${after.router.snapshotsCoalesced} joins coalesced)`,
      `measured ${p.commits} commits${br ? ` alternating with ${p.commits} broadcast frames` : ''} in ${(elapsedMs / 1000).toFixed(1)} s; ` +
        `CPU per commit: server ${perCommit(cpuMs[0] as number)} ms (router ${(routingMs / Math.max(1, routed)).toFixed(3)} ms of it), ` +
        `bench ${perCommit(sy.benchCpuUs / 1000)} ms`,
      `server RSS ${mib(rssIdle)} → ${mib(rssReady)} (streams open) → ${mib(server.rssMiB())} MiB; ` +
        `bench RSS ${mib(process.memoryUsage().rss / 1024 ** 2)} MiB`,
    );
    if (br) {
      brNotes.push(
        `broadcast floor: streams ready in ${brReadyMs.toFixed(0)} ms; frame ${frameBytes} B; CPU per frame: ` +
          `broadcaster ${perCommit(cpuMs[1] as number)} ms, bench ${perCommit(br.benchCpuUs / 1000)} ms`,
      );
    }
    const results: PhaseResult[] = [];
    for (const l of lanes) {
      const latencies = l.receipts.latencies(measured.filter((_, i) => lanes[i % lanes.length] === l));
      const c = l.subs.counters;
      const problems = [
        timeouts ? `${timeouts} commits or frames not fully received within ${RECEIPT_TIMEOUT_MS} ms` : '',
        latencies.missingFloor ? `floor missed ${latencies.missingFloor} commits` : '',
        latencies.missing ? `${latencies.missing} receipts missing` : '',
        l.receipts.outOfOrder ? `${l.receipts.outOfOrder} duplicate or out-of-order receipts` : '',
        c.errors ? `${c.errors} error messages (first: ${c.firstError ?? ''})` : '',
        c.resyncs ? `${c.resyncs} resync messages` : '',
        c.disconnects ? `${c.disconnects} streams closed by the server` : '',
      ].filter(Boolean);
      const ok = l.kind === 'syncline' ? 'no errors, resyncs, disconnects or missing receipts' : 'no missing receipts';
      const list = l.kind === 'syncline' ? notes : brNotes;
      list.push(problems.length ? `! ${l.kind}: ${problems.join('; ')}` : `${l.kind}: ${ok}`);
      results.push({
        kind: l.kind,
        transport: p.transport,
        subscribers: p.subscribers,
        commits: p.commits,
        latencies,
        notes: list,
        frameBytes: l.kind === 'broadcast' ? frameBytes : null,
      });
    }
    return results;
  } finally {
    for (const l of lanes) l.subs.close();
    const gone = await waitForNoStreams(server, 10_000);
    if (!gone) notes.push('! server still counts connections 10 s after every subscriber closed');
  }
}

/** `count` rounds of `lanes` fresh sequence numbers (lane i of a round gets the i-th). */
function take(ctx: PhaseContext, count: number, lanes: number): number[] {
  const seqs = Array.from({ length: count * lanes }, (_, i) => ctx.nextSeq + i);
  ctx.nextSeq += count * lanes;
  return seqs;
}

/**
 * Issues one commit (or trigger) per sequence number, lane after lane in turn, paced: the next goes
 * `intervalMs` after the previous was sent, and never before every receiver of the previous one has it
 * and things have been quiet for SETTLE_MS. With `account`, adds the bench's CPU from each issue to
 * its last receipt to the lane.
 */
async function drive(
  ctx: PhaseContext,
  lanes: readonly Lane[],
  alive: () => void,
  seqs: readonly number[],
  account: boolean,
): Promise<{ timeouts: number; elapsedMs: number }> {
  const start = performance.now();
  let timeouts = 0;
  let inARow = 0;
  let next = start;
  for (const [i, seq] of seqs.entries()) {
    const lane = lanes[i % lanes.length] as Lane;
    ctx.signal.throwIfAborted();
    alive();
    const quiet = Math.max(...lanes.map((l) => l.receipts.lastReceiptAt)) + SETTLE_MS;
    const wait = Math.max(next, quiet) - performance.now();
    if (wait > 0) await sleep(wait);
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    lane.receipts.markSent(seq, t0);
    await lane.issue(seq);
    next = t0 + ctx.intervalMs;
    const complete = await lane.receipts.waitComplete(seq, RECEIPT_TIMEOUT_MS);
    if (account) {
      const used = process.cpuUsage(cpu);
      lane.benchCpuUs += used.user + used.system;
    }
    if (complete) {
      inARow = 0;
    } else {
      timeouts++;
      if (++inARow >= 5) throw new Error(`5 in a row not received by every subscriber (last: n = ${seq})`);
    }
  }
  return { timeouts, elapsedMs: performance.now() - start };
}

async function waitForNoStreams(server: ServerProcess, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (server.exit !== null) return true;
    const stats = (await server.getJson('/v1/sync/stats').catch(() => null)) as RouterStatsJson | null;
    if (stats && stats.connections.sse === 0 && stats.connections.ws === 0) return true;
    await sleep(100);
  }
  return false;
}

function mib(v: number): string {
  return Number.isFinite(v) ? v.toFixed(0) : '?';
}
