/**
 * `npm run bench -- cluster`: what several nodes over Redis cost, on the same
 * commits in one run.
 *
 *   one node (in-process bus)            ─┐
 *   three nodes over Redis, the          ─┴─ COMMIT → receipt, one WebSocket subscriber, paced commits
 *   subscriber on a node that does not capture (so the Redis hop is in the path)
 *
 *   fan-out: 1,000 subscribers on one node, then spread over the three; COMMIT → receipt at every one
 *
 *   reconnect storms, 2,000 subscribers that resume by cursor, commits going on every 20 ms:
 *   one node restarted (SIGTERM, then SIGKILL); a follower of the three SIGKILLed (its
 *   subscribers move to the others). Time until all are live, resyncs, node and PostgreSQL CPU.
 *
 *   failover: SIGKILL of the capture owner while commits go on every 20 ms → the first change a
 *   subscriber on a surviving node receives from a commit made after the kill; median of N rounds
 *
 * Needs Debian's `redis-server` (apt-get install redis-server).
 */
import { Redis } from 'ioredis';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { newJwtSecret, tokenFor, tokensFor } from './auth.ts';
import { redisMissing, startBenchRedis } from './bench-redis.ts';
import { setUpBench } from './bench-setup.ts';
import { freePort, sleep } from './database.ts';
import { withRunScope } from './run-scope.ts';
import { ServerProcess } from './server-process.ts';
import { median, percentile, ratio } from './stats.ts';
import { printTables } from './table.ts';
import { intOption, optionValues } from './usage-error.ts';
import { WsSubscribers } from './ws-subscribers.ts';
import { type FanOutResult, fanOut } from './cluster-fanout.ts';
import { reconnectStorm } from './cluster-storm.ts';
import { postmasterPid } from './postgres-cpu.ts';
import { ResumingSubscribers } from './resuming-subscribers.ts';

export const clusterUsage = `cluster [--commits 200] [--rounds 5] [--subscribers 1000] [--storm 2000]
    COMMIT → receipt on one node vs three nodes over Redis (one subscriber, then --subscribers),
    reconnect storms of --storm subscribers (one node restarted; a cluster follower SIGKILLed),
    failover time after SIGKILL of the capture owner, and Redis memory per 10,000 transactions`;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export async function runCluster(argv: string[]): Promise<void> {
  const opt = optionValues(argv);
  const commits = intOption('commits', opt('commits'), 200, 1);
  const rounds = intOption('rounds', opt('rounds'), 5, 1);
  const subscribers = intOption('subscribers', opt('subscribers'), 1_000, 1);
  const stormSize = intOption('storm', opt('storm'), 2_000, 1);
  const missing = redisMissing();
  if (missing) return void console.error(missing);
  await withRunScope(async (scope) => {
    const { db, writer } = await setUpBench(repoRoot, scope, 'Syncline cluster benchmark');
    await writer.query(
      'CREATE TABLE bench_item (id int PRIMARY KEY, n bigint NOT NULL, version integer NOT NULL DEFAULT 1)',
    );
    await writer.query('INSERT INTO bench_item (id, n) VALUES (1, 0)');
    const redisUrl = await startBenchRedis(scope);
    const jwtSecret = newJwtSecret();
    const adminToken = await tokenFor(jwtSecret, 'bench-admin');
    const tokens = await tokensFor(jwtSecret, 'bench-user', Math.max(subscribers, stormSize));
    const postmaster = await postmasterPid(writer);
    const base = { repoRoot, databaseUrl: db.url, databaseName: db.name, jwtSecret, adminToken };
    const start = (slot: string, port: number, redisUrl?: string) =>
      ServerProcess.node(
        base,
        slot,
        port,
        { collections: [{ name: 'bench_items', table: 'bench_item' }], limits: { requestsPerSecond: 1_000_000 } },
        redisUrl,
      );

    let seq = 1;
    const sent = new Map<number, number>();
    const got: number[] = [];
    let onSeq: ((n: number, at: number) => void) | null = null;
    const subscribe = async (url: string) => {
      const subs = new WsSubscribers({
        baseUrl: url,
        collection: 'bench_items',
        column: 'n',
        clientPrefix: `cluster-${new URL(url).port}`,
        tokens,
        onChange: (_i, n, at) => onSeq?.(n, at),
      });
      await subs.open(1, 20_000, scope.signal);
      return subs;
    };
    const measure = async (url: string): Promise<number[]> => {
      const subs = await subscribe(url);
      got.length = 0;
      for (let i = 0; i < commits + 20; i++) {
        const n = seq++;
        const done = new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 2_000);
          onSeq = (m, at) => {
            if (m !== n) return;
            if (i >= 20) got.push(at - (sent.get(n) as number));
            clearTimeout(t);
            resolve();
          };
        });
        sent.set(n, performance.now());
        await writer.query('UPDATE bench_item SET n = $1 WHERE id = 1', [n]);
        await done;
        await sleep(10);
      }
      subs.close();
      return [...got];
    };

    const nextSeq = () => seq++;
    const fanOutOn = (servers: ServerProcess[]) =>
      fanOut({
        urls: servers.map((x) => x.url),
        subscribers,
        commits: Math.min(commits, 100),
        warmup: 10,
        collection: 'bench_items',
        tokens,
        writer,
        nextSeq,
        serverPids: servers.map((x) => x.pid),
        signal: scope.signal,
      });
    let stormIndex = 0;
    const storm = async (
      name: string,
      urls: string[],
      pids: () => Array<number | undefined>,
      victim: number,
      disrupt: () => Promise<void>,
    ) => {
      const subs = new ResumingSubscribers({
        urls,
        collection: 'bench_items',
        column: 'n',
        clientPrefix: `storm-${stormIndex++}`,
        tokens,
      });
      try {
        await subs.open(stormSize, 120_000);
        const drops = subs.perNode()[victim] as number;
        return {
          name,
          drops,
          ...(await reconnectStorm({
            subs,
            count: stormSize,
            drops,
            writer,
            nextSeq,
            serverPids: pids,
            postmaster,
            disrupt,
          })),
        };
      } finally {
        subs.close();
      }
    };
    const storms: Array<Awaited<ReturnType<typeof storm>>> = [];

    // One node.
    const singleSlot = `bench_single_${db.id}`;
    const singlePort = await freePort();
    let single = await start(singleSlot, singlePort);
    scope.defer('one node', () => single.stop());
    const one = await measure(single.url);
    const oneFan = await fanOutOn([single]);
    for (const how of ['SIGTERM', 'SIGKILL'] as const)
      storms.push(
        await storm(
          `one node restarted (${how})`,
          [single.url],
          () => [single.pid],
          0,
          async () => {
            await (how === 'SIGTERM' ? single.stop() : single.kill());
            single = await start(singleSlot, singlePort);
          },
        ),
      );
    await single.stop();

    // Three nodes over Redis; the subscriber on one that does not capture.
    const slot = `bench_cluster_${db.id}`;
    const ports = [await freePort(), await freePort(), await freePort()];
    const nodes: ServerProcess[] = [];
    for (const p of ports) nodes.push(await start(slot, p, redisUrl));
    scope.defer('cluster nodes', () => Promise.all(nodes.map((n) => n.stop())).then(() => {}));
    const ownerIndex = async () => {
      for (const [i, n] of nodes.entries()) {
        const h = (await n.getJson('/v1/health').catch(() => null)) as {
          replication?: { captureOwner?: boolean };
        } | null;
        if (h?.replication?.captureOwner) return i;
      }
      return -1;
    };
    await sleep(1_000);
    const owner = await ownerIndex();
    const follower = nodes[(owner + 1) % 3] as ServerProcess;
    const three = await measure(follower.url);
    const threeFan = await fanOutOn(nodes);
    {
      const o = await ownerIndex();
      const victim = (o + 1) % 3;
      storms.push(
        await storm(
          'three nodes, a follower SIGKILLed',
          nodes.map((x) => x.url),
          () => nodes.map((x) => x.pid),
          victim,
          async () => {
            await (nodes[victim] as ServerProcess).kill();
          },
        ),
      );
      nodes[victim] = await start(slot, ports[victim] as number, redisUrl);
    }

    // Failover rounds.
    const failovers: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const o = await ownerIndex();
      const watcherNode = nodes[(o + 1) % 3] as ServerProcess;
      const subs = await subscribe(watcherNode.url);
      let killedAt = 0;
      let firstAfter = 0;
      let stop = false;
      const afterKill = new Set<number>();
      onSeq = (n, at) => {
        if (killedAt && afterKill.has(n) && !firstAfter) firstAfter = at;
      };
      const writes = (async () => {
        while (!stop) {
          const n = seq++;
          if (killedAt) afterKill.add(n);
          await writer.query('UPDATE bench_item SET n = $1 WHERE id = 1', [n]);
          await sleep(20);
        }
      })();
      await sleep(500);
      const victim = nodes[o] as ServerProcess;
      killedAt = performance.now();
      await victim.kill();
      const deadline = performance.now() + 20_000;
      while (!firstAfter && performance.now() < deadline) await sleep(10);
      stop = true;
      await writes;
      subs.close();
      failovers.push(firstAfter ? firstAfter - killedAt : NaN);
      nodes[o] = await start(slot, ports[o] as number, redisUrl);
      await sleep(500);
    }

    // Redis memory per 10,000 logged transactions (one-row updates, the shape measured above).
    const redisClient = new Redis(redisUrl);
    const used = async () => Number(/used_memory:(\d+)/.exec(await redisClient.info('memory'))?.[1] ?? NaN);
    const logKey = `{syncline:${slot}}:log`;
    const len0 = await redisClient.xlen(logKey);
    const mem0 = await used();
    const batch = Math.min(10_000, Math.max(0, 10_000 - len0));
    for (let i = 0; i < batch; i++) await writer.query('UPDATE bench_item SET n = $1 WHERE id = 1', [seq++]);
    const deadline = performance.now() + 60_000;
    while ((await redisClient.xlen(logKey)) < len0 + batch && performance.now() < deadline) await sleep(100);
    const mem1 = await used();
    const len1 = await redisClient.xlen(logKey);
    await redisClient.quit();

    const header = ['case', 'p50 ms', 'p99 ms', 'p50 vs one node', 'added at p50 ms'];
    const rows = [
      ['one node (in-process bus)', percentile(one, 50), percentile(one, 99), '1.0×', 0],
      [
        'three nodes over Redis (subscriber on a follower)',
        percentile(three, 50),
        percentile(three, 99),
        ratio(percentile(three, 50), percentile(one, 50)),
        percentile(three, 50) - percentile(one, 50),
      ],
    ];
    printTables(`COMMIT → receipt, ${commits} paced commits each, one WebSocket subscriber`, header, rows);

    const fanHeader = [
      'case',
      'receipt p50 ms',
      'receipt p99 ms',
      'last receipt p50 ms',
      'vs one node (p50)',
      'node CPU ms/commit',
      'missing',
    ];
    const fanRow = (name: string, r: FanOutResult) => [
      name,
      percentile(r.receipts, 50),
      percentile(r.receipts, 99),
      median(r.last),
      ratio(percentile(r.receipts, 50), percentile(oneFan.receipts, 50)),
      r.cpuMsPerCommit,
      r.missing,
    ];
    const fanRows = [fanRow('one node', oneFan), fanRow('three nodes over Redis', threeFan)];
    printTables(
      `${subscribers} WebSocket subscribers on one row, ${oneFan.last.length} paced commits`,
      fanHeader,
      fanRows,
    );

    const stormHeader = [
      'case',
      'cut off',
      'all live ms',
      'after ready ms',
      'resumed',
      'resyncs',
      'snapshots',
      'converged',
      'node CPU ms',
      'Postgres CPU ms',
    ];
    const stormRows = storms.map((r) => [
      r.name,
      r.drops,
      r.allLiveMs,
      r.sinceReadyMs,
      r.resumes,
      r.resyncs ? `${r.resyncs} (${r.resyncReasons})` : 0,
      r.snapshots,
      `${r.converged}/${stormSize}`,
      r.serverCpuMs,
      r.postgresCpuMs,
    ]);
    printTables(
      `Reconnect storm, ${stormSize} WebSocket subscribers resuming by cursor, commits every 20 ms`,
      stormHeader,
      stormRows,
    );
    console.log(
      `\nfailover (SIGKILL of the capture owner → first change of a later commit on a surviving node), ${rounds} rounds: ` +
        `median ${median(failovers).toFixed(0)} ms; all: ${failovers.map((f) => f.toFixed(0)).join(', ')} ms`,
    );
    const added = len1 - len0;
    console.log(
      `Redis memory: ${added} more log entries took ${((mem1 - mem0) / 1024 / 1024).toFixed(1)} MiB ` +
        `(${((((mem1 - mem0) / Math.max(1, added)) * 10_000) / 1024 / 1024).toFixed(1)} MiB per 10,000 transactions)`,
    );
  });
}
