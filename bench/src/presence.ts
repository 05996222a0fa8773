/**
 * `npm run bench -- presence`: what presence costs.
 *
 *   join storm: N connections open (one user each), then all join one room at once
 *     → time until every member's view holds all N; presence messages per member; node CPU.
 *     On one node, then spread over three nodes over Redis (the one-node path is the floor).
 *   update storm (one node): every member sets its state once a second, spread over the
 *     second, for S seconds → meta updates delivered per second against those offered
 *     (N updates/s × N−1 recipients), messages per member per second, node CPU.
 *
 * Needs Debian's `redis-server` for the three-node case.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { newJwtSecret, tokenFor, tokensFor } from './auth.ts';
import { redisMissing, startBenchRedis } from './bench-redis.ts';
import { setUpBench } from './bench-setup.ts';
import { freePort, sleep } from './database.ts';
import { processCpuMs } from './environment.ts';
import { PresenceMembers } from './presence-members.ts';
import { withRunScope } from './run-scope.ts';
import { ServerProcess } from './server-process.ts';
import { ratio } from './stats.ts';
import { printTables } from './table.ts';
import { intOption, optionValues } from './usage-error.ts';

export const presenceUsage = `presence [--members 1000] [--seconds 10]
    join storm of --members in one room (one node, then three over Redis) and an update storm
    (every member once a second for --seconds): time to full state, messages, delivered updates/s, CPU`;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export async function runPresence(argv: string[]): Promise<void> {
  const opt = optionValues(argv);
  const count = intOption('members', opt('members'), 1_000, 2);
  const seconds = intOption('seconds', opt('seconds'), 10, 1);
  const missing = redisMissing();
  if (missing) return void console.error(missing);
  await withRunScope(async (scope) => {
    const { db } = await setUpBench(repoRoot, scope, 'Syncline presence benchmark');
    const redisUrl = await startBenchRedis(scope);
    const jwtSecret = newJwtSecret();
    const adminToken = await tokenFor(jwtSecret, 'bench-admin');
    const tokens = await tokensFor(jwtSecret, 'member', count);
    const servers: ServerProcess[] = [];
    scope.defer('nodes', () => Promise.all(servers.map((s) => s.stop())).then(() => {}));
    const start = async (slot: string, redis?: string) => {
      const port = await freePort();
      const s = await ServerProcess.node(
        { repoRoot, databaseUrl: db.url, databaseName: db.name, jwtSecret, adminToken },
        slot,
        port,
        {
          collections: [],
          rooms: [{ name: 'open:{name}' }],
          limits: { requestsPerSecond: 1_000_000, presenceMembersListed: count * 2 },
        },
        redis,
      );
      servers.push(s);
      return s;
    };
    const cpu = (nodes: ServerProcess[]) => nodes.reduce((a, n) => a + processCpuMs(n.pid), 0);

    const joinStorm = async (nodes: ServerProcess[], room: string) => {
      const members = new PresenceMembers(
        nodes.map((n) => n.url),
        tokens,
        room,
        'member',
      );
      try {
        await members.open(count, 120_000);
        const cpu0 = cpu(nodes);
        const t0 = performance.now();
        for (let i = 0; i < count; i++) members.set(i, room, { i });
        while (members.seeing(count) < count && performance.now() - t0 < 120_000) await sleep(10);
        const ms = members.seeing(count) === count ? performance.now() - t0 : NaN;
        return { ms, perMember: members.messages / count, cpuMs: cpu(nodes) - cpu0, errors: members.errors, members };
      } catch (e) {
        members.close();
        throw e;
      }
    };

    const one = await start(`bench_presence_one_${db.id}`);
    const single = await joinStorm([one], 'open:one');

    // Update storm on the one node, with the members that just joined.
    const before = { updates: single.members.updates, messages: single.members.messages, bytes: single.members.bytes };
    const cpu0 = cpu([one]);
    const t0 = performance.now();
    for (let s = 0; s < seconds; s++)
      for (let i = 0; i < count; i++) {
        const due = t0 + s * 1000 + (i * 1000) / count;
        const wait = due - performance.now();
        if (wait > 1) await sleep(wait);
        single.members.set(i, 'open:one', { i, s });
      }
    await sleep(500); // the last flush
    const elapsed = (performance.now() - t0) / 1000;
    // Rates over the seconds the updates were offered (the last flush's half second only collects).
    const delivered = (single.members.updates - before.updates) / seconds;
    const offered = count * (count - 1);
    const storm = {
      delivered,
      offered,
      perMember: (single.members.messages - before.messages) / count / seconds,
      mibPerSec: (single.members.bytes - before.bytes) / seconds / 1024 / 1024,
      cpuMsPerSec: (cpu([one]) - cpu0) / elapsed,
    };
    single.members.close();
    await one.stop();

    const slot = `bench_presence_cluster_${db.id}`;
    const three = [await start(slot, redisUrl), await start(slot, redisUrl), await start(slot, redisUrl)];
    await sleep(1_500); // every node has beaten and read the others
    const cluster = await joinStorm(three, 'open:three');
    cluster.members.close();

    const header = ['case', 'all see all ms', 'vs one node', 'presence messages per member', 'node CPU ms', 'errors'];
    const rows = [
      ['one node', single.ms, '1.0×', single.perMember, single.cpuMs, single.errors],
      [
        'three nodes over Redis',
        cluster.ms,
        ratio(cluster.ms, single.ms),
        cluster.perMember,
        cluster.cpuMs,
        cluster.errors,
      ],
    ];
    printTables(`Join storm: ${count} members join one room at once`, header, rows);
    const h2 = [
      'case',
      'meta updates delivered/s',
      'offered/s',
      'delivered vs offered',
      'messages per member/s',
      'MiB/s to members',
      'node CPU ms/s',
    ];
    const r2 = [
      [
        `one node, ${count} members, each once a second`,
        storm.delivered,
        storm.offered,
        ratio(storm.delivered, storm.offered),
        storm.perMember,
        storm.mibPerSec,
        storm.cpuMsPerSec,
      ],
    ];
    printTables(`Update storm, ${seconds} s`, h2, r2);
  });
}
