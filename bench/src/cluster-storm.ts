/**
 * A reconnect storm: subscribers live on their nodes while commits go on every
 * 20 ms; `disrupt` takes a node away (a restart, or a SIGKILL in a cluster);
 * every subscriber reconnects with its cursor. Measured: time from the
 * disruption until every subscriber is live again, resyncs and snapshots (the
 * goal is none), and the CPU the nodes and PostgreSQL spent meanwhile. After
 * the commits stop, every subscriber must hold the last value.
 */
import type pg from 'pg';
import { sleep } from './database.ts';
import { processCpuMs } from './environment.ts';
import { postgresCpuMs } from './postgres-cpu.ts';
import type { ResumingSubscribers } from './resuming-subscribers.ts';

export interface StormOptions {
  subs: ResumingSubscribers;
  count: number;
  /** Subscribers the disruption cuts off (those on the node taken away). */
  drops: number;
  writer: pg.Client;
  nextSeq(): number;
  /** The node pids that may do work, read before and after (a node started by `disrupt` counts from when it returns). */
  serverPids(): Array<number | undefined>;
  postmaster: number;
  /** Takes the node away and, for a restart, brings it back. */
  disrupt(): Promise<void>;
}

export interface StormResult {
  /** From the disruption until every subscriber was live again, ms (NaN when they were not within 2 min). */
  allLiveMs: number;
  /** From the moment `disrupt` returned (a restarted node answering health checks) until all were live, ms. */
  sinceReadyMs: number;
  resumes: number;
  resyncs: number;
  /** e.g. "cursor-too-old 3" (empty when none). */
  resyncReasons: string;
  snapshots: number;
  refused: number;
  /** Subscribers that held the last committed value once commits stopped. */
  converged: number;
  serverCpuMs: number;
  postgresCpuMs: number;
}

export async function reconnectStorm(o: StormOptions): Promise<StormResult> {
  const before = new Map(o.serverPids().map((p) => [p, processCpuMs(p)]));
  const pg0 = postgresCpuMs(o.postmaster);
  const reasons0 = { ...o.subs.resyncReasons };
  const base = {
    resumes: o.subs.resumes,
    resyncs: o.subs.resyncs,
    snapshots: o.subs.snapshots,
    refused: o.subs.refused,
  };
  let stop = false;
  let last = -1;
  const writes = (async () => {
    while (!stop) {
      const n = o.nextSeq();
      await o.writer.query('UPDATE bench_item SET n = $1 WHERE id = 1', [n]);
      last = n;
      await sleep(20);
    }
  })();
  await sleep(300);
  const t0 = performance.now();
  await o.disrupt();
  const readyAt = performance.now();
  // A node started by `disrupt` counts from here: its own start-up is not the storm's cost.
  for (const p of o.serverPids()) if (!before.has(p)) before.set(p, processCpuMs(p));
  // Every subscriber the disruption cut off is back (a fresh resume or snapshot each), and none is down.
  const back = () => o.subs.resumes + o.subs.snapshots - base.resumes - base.snapshots;
  const liveBy = performance.now() + 120_000;
  while (!(back() >= o.drops && o.subs.liveCount === o.count) && performance.now() < liveBy) await sleep(10);
  const done = performance.now() < liveBy;
  const allLiveMs = done ? o.subs.lastLiveAt - t0 : NaN;
  const sinceReadyMs = done ? o.subs.lastLiveAt - readyAt : NaN;
  // A node killed by `disrupt` has no /proc entry left: only the nodes still running count.
  const serverCpuMs = o
    .serverPids()
    .map((p) => processCpuMs(p) - (before.get(p) ?? 0))
    .filter(Number.isFinite)
    .reduce((a, ms) => a + ms, 0);
  const postgres = postgresCpuMs(o.postmaster) - pg0;
  stop = true;
  await writes;
  const deadline = performance.now() + 30_000;
  while (o.subs.at(last) < o.count && performance.now() < deadline) await sleep(50);
  return {
    allLiveMs,
    sinceReadyMs,
    resumes: o.subs.resumes - base.resumes,
    resyncs: o.subs.resyncs - base.resyncs,
    resyncReasons: Object.entries(o.subs.resyncReasons)
      .map(([r, k]) => [r, k - (reasons0[r] ?? 0)] as const)
      .filter(([, k]) => k > 0)
      .map(([r, k]) => `${r} ${k}`)
      .join(', '),
    snapshots: o.subs.snapshots - base.snapshots,
    refused: o.subs.refused - base.refused,
    converged: o.subs.at(last),
    serverCpuMs,
    postgresCpuMs: postgres,
  };
}
