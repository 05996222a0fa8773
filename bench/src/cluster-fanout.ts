/**
 * Many subscribers spread over the given nodes, all on one row: for each paced
 * commit, the time from COMMIT to its receipt at every subscriber, and the CPU
 * the nodes spent. `npm run bench -- cluster` runs it on one node and on three,
 * on the same commits, so the one-node path is the floor.
 */
import type pg from 'pg';
import { sleep } from './database.ts';
import { processCpuMs } from './environment.ts';
import { WsSubscribers } from './ws-subscribers.ts';

export interface FanOutOptions {
  urls: readonly string[];
  subscribers: number;
  commits: number;
  /** Commits before these are not counted (connections and JIT warming up). */
  warmup: number;
  collection: string;
  /** One per subscriber (each its own user). */
  tokens: readonly string[];
  writer: pg.Client;
  /** The next sequence number to write (shared across phases, so values never repeat). */
  nextSeq(): number;
  serverPids: ReadonlyArray<number | undefined>;
  signal: AbortSignal;
}

export interface FanOutResult {
  /** COMMIT → receipt, every subscriber of every counted commit, ms. */
  receipts: number[];
  /** COMMIT → the last subscriber's receipt, per counted commit, ms. */
  last: number[];
  /** Receipts that did not arrive within 5 s. */
  missing: number;
  /** CPU of all nodes over the counted commits, ms per commit. */
  cpuMsPerCommit: number;
}

export async function fanOut(o: FanOutOptions): Promise<FanOutResult> {
  let current = -1;
  let sentAt = 0;
  let got = 0;
  let onAll: (() => void) | null = null;
  const times: number[] = [];
  let offset = 0;
  const groups = o.urls.map((url, g) => {
    const share = Math.floor(o.subscribers / o.urls.length) + (g < o.subscribers % o.urls.length ? 1 : 0);
    const tokens = o.tokens.slice(offset, offset + share);
    offset += share;
    return {
      share,
      subs: new WsSubscribers({
        baseUrl: url,
        collection: o.collection,
        column: 'n',
        clientPrefix: `fanout-${o.urls.length}-${g}`,
        tokens,
        onChange: (_i, n, at) => {
          if (n !== current) return;
          times.push(at - sentAt);
          if (++got === o.subscribers) onAll?.();
        },
      }),
    };
  });
  try {
    await Promise.all(groups.map((g) => g.subs.open(g.share, 60_000, o.signal)));
    const receipts: number[] = [];
    const last: number[] = [];
    let missing = 0;
    let cpu0 = 0;
    for (let i = 0; i < o.warmup + o.commits; i++) {
      if (i === o.warmup) cpu0 = o.serverPids.reduce<number>((a, p) => a + processCpuMs(p), 0);
      current = o.nextSeq();
      got = 0;
      times.length = 0;
      const all = new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 5_000);
        onAll = () => {
          clearTimeout(t);
          resolve();
        };
      });
      sentAt = performance.now();
      await o.writer.query('UPDATE bench_item SET n = $1 WHERE id = 1', [current]);
      await all;
      if (i >= o.warmup) {
        receipts.push(...times);
        if (got === o.subscribers) last.push(Math.max(...times));
        missing += o.subscribers - got;
      }
      await sleep(20);
    }
    const cpu = o.serverPids.reduce<number>((a, p) => a + processCpuMs(p), 0) - cpu0;
    return { receipts, last, missing, cpuMsPerCommit: cpu / o.commits };
  } finally {
    for (const g of groups) g.subs.close();
  }
}
