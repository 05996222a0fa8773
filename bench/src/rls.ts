/**
 * `npm run bench -- rls`: what row-level security costs on the live stream.
 * 1,000 WebSocket subscribers, each a different user, on one collection; every
 * commit updates one row of each of K random owners, so each commit reaches K
 * of them. Three set-ups, same server, same commits, one after the other:
 *
 *   (c) claim filter   no RLS on the table; the collection filters `owner = {claim: sub}` (the floor)
 *   (a) compiled RLS   no filter; policy `owner = claims ->> 'sub'`, compiled and indexed by the claim
 *   (b) database RLS   no filter; the same rule as `owner = (SELECT claims ->> 'sub')`, which only
 *                      PostgreSQL evaluates: one query per commit and distinct user it may reach
 *
 * Commits are paced (the next one after every expected receipt), so latency is
 * per lone commit. A receipt by a subscriber the commit did not concern is
 * counted as a leak (it must stay 0).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { newJwtSecret, tokenFor, tokensFor } from './auth.ts';
import { setUpBench } from './bench-setup.ts';
import { freePort, sleep } from './database.ts';
import { processCpuMs } from './environment.ts';
import { withRunScope } from './run-scope.ts';
import { ServerProcess } from './server-process.ts';
import { percentile, ratio } from './stats.ts';
import { formatMarkdownTable, formatTable } from './table.ts';
import { intOption, optionValues } from './usage-error.ts';
import { WsSubscribers } from './ws-subscribers.ts';

export const rlsUsage = `rls [--subscribers 1000] [--owners-per-commit 50] [--commits 100] [--warmup 20]
    live RLS with N subscribers, each its own user: claim filter vs compiled policy vs database-checked policy`;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ROLE = 'bench_rls_user';

interface SetUp {
  label: string;
  table: string;
  collection: string;
}

const SETUPS: SetUp[] = [
  { label: '(c) claim filter, no RLS', table: 'rls_c', collection: 'c_mine' },
  { label: '(a) compiled RLS', table: 'rls_a', collection: 'a_all' },
  { label: '(b) database RLS', table: 'rls_b', collection: 'b_all' },
];

interface Outcome {
  label: string;
  latencies: number[];
  receipts: number;
  leaks: number;
  missing: number;
  elapsedMs: number;
  serverCpuMsPerCommit: number;
  queriesPerCommit: number;
  commits: number;
}

export async function runRls(argv: string[]): Promise<void> {
  const opt = optionValues(argv);
  const subscribers = intOption('subscribers', opt('subscribers'), 1000, 1);
  const perCommit = Math.min(subscribers, intOption('owners-per-commit', opt('owners-per-commit'), 50, 1));
  const commits = intOption('commits', opt('commits'), 100, 1);
  const warmup = intOption('warmup', opt('warmup'), 20, 0);

  await withRunScope(async (scope) => {
    const { db, writer } = await setUpBench(repoRoot, scope, 'Syncline RLS benchmark');
    await writer.query(`DO $$ BEGIN CREATE ROLE ${ROLE} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
    for (const s of SETUPS) {
      await writer.query(
        `CREATE TABLE ${s.table} (id int PRIMARY KEY, owner text NOT NULL, n bigint NOT NULL DEFAULT 0, version integer NOT NULL DEFAULT 1)`,
      );
      await writer.query(
        `INSERT INTO ${s.table} (id, owner) SELECT g, 'bench-user-' || (g % ${subscribers}) FROM generate_series(0, ${2 * subscribers - 1}) g`,
      );
      await writer.query(`GRANT SELECT ON ${s.table} TO ${ROLE}`);
    }
    const claim = `current_setting('request.jwt.claims', true)::json ->> 'sub'`;
    await writer.query(`ALTER TABLE rls_a ENABLE ROW LEVEL SECURITY`);
    await writer.query(`CREATE POLICY own ON rls_a FOR SELECT USING (owner = (${claim}))`);
    await writer.query(`ALTER TABLE rls_b ENABLE ROW LEVEL SECURITY`);
    await writer.query(`CREATE POLICY own ON rls_b FOR SELECT USING (owner = (SELECT ${claim}))`);

    const jwtSecret = newJwtSecret();
    const server = await ServerProcess.start({
      repoRoot,
      databaseUrl: db.url,
      port: await freePort(),
      jwtSecret,
      adminToken: await tokenFor(jwtSecret, 'bench-admin'),
      configName: `${db.name}.config.ts`,
      config: `export default ${JSON.stringify({
        collections: [
          { name: 'c_mine', table: 'rls_c', filter: { eq: ['owner', { claim: 'sub' }] } },
          { name: 'a_all', table: 'rls_a' },
          { name: 'b_all', table: 'rls_b' },
        ],
        db: { role: ROLE },
        slot: `bench_syncline_${db.id}`,
        publication: 'bench_syncline',
        heartbeatMs: 15000,
        limits: { requestsPerSecond: 1_000_000 },
      })};\n`,
    });
    scope.defer('syncline server', () => server.stop());
    const tokens = await tokensFor(jwtSecret, 'bench-user', subscribers);
    const collections = (await server.getJson('/v1/collections')) as {
      collections: Array<{ name: string; rls?: { checkedBy: string } }>;
    };
    console.log(
      `policies: ${collections.collections.map((c) => `${c.name} checked by ${c.rls?.checkedBy ?? '?'}`).join(', ')}\n`,
    );

    let seq = 1;
    let rnd = 7;
    const pick = () => (rnd = (rnd * 1103515245 + 12345) >>> 0) % subscribers;
    const outcomes: Outcome[] = [];
    for (const s of SETUPS) {
      const expected = new Map<number, { t0: number; who: Set<number> }>();
      const latencies: number[] = [];
      let leaks = 0;
      let receipts = 0;
      let waiting: (() => void) | null = null;
      const subs = new WsSubscribers({
        baseUrl: server.url,
        collection: s.collection,
        column: 'n',
        clientPrefix: `rls-${s.table}`,
        tokens,
        onChange: (i, n, at) => {
          const e = expected.get(n);
          if (!e || !e.who.delete(i)) {
            if (n > 0) leaks++;
            return;
          }
          receipts++;
          latencies.push(at - e.t0);
          if (e.who.size === 0) {
            expected.delete(n);
            waiting?.();
          }
        },
      });
      console.log(`${s.label}: opening ${subscribers} streams, ${warmup} warm-up + ${commits} measured commits`);
      await subs.open(subscribers, 10_000 + 50 * subscribers, scope.signal);
      const commitOnce = async (): Promise<boolean> => {
        const owners = new Set<number>();
        while (owners.size < perCommit) owners.add(pick());
        const n = seq++;
        const done = new Promise<boolean>((resolve) => {
          const t = setTimeout(() => resolve(false), 5_000);
          waiting = () => {
            clearTimeout(t);
            resolve(true);
          };
        });
        expected.set(n, { t0: performance.now(), who: new Set(owners) });
        // One row of each owner (ids below `subscribers` belong to owner id % subscribers).
        await writer.query(`UPDATE ${s.table} SET n = $1 WHERE id = ANY($2::int[])`, [n, [...owners]]);
        const ok = await done;
        if (!ok) expected.delete(n);
        await sleep(5);
        return ok;
      };
      for (let i = 0; i < warmup; i++) await commitOnce();
      latencies.length = 0;
      receipts = 0;
      leaks = 0;
      const before = (await server.getJson('/v1/sync/stats')) as { router: { rlsQueries: number } };
      const cpu0 = processCpuMs(server.pid);
      const t0 = performance.now();
      let missing = 0;
      for (let i = 0; i < commits; i++) if (!(await commitOnce())) missing++;
      const elapsedMs = performance.now() - t0;
      const cpu = processCpuMs(server.pid) - cpu0;
      const after = (await server.getJson('/v1/sync/stats')) as { router: { rlsQueries: number } };
      subs.close();
      outcomes.push({
        label: s.label,
        latencies,
        receipts,
        leaks,
        missing,
        elapsedMs,
        serverCpuMsPerCommit: cpu / commits,
        queriesPerCommit: (after.router.rlsQueries - before.router.rlsQueries) / commits,
        commits,
      });
      if (subs.counters.errors) console.log(`  errors: ${subs.counters.errors}, first: ${subs.counters.firstError}`);
      await sleep(500);
    }

    const floor = outcomes[0] as Outcome;
    const rate = (o: Outcome) => o.receipts / (o.elapsedMs / 1000);
    const header = [
      'set-up',
      'messages/s',
      'vs (c)',
      'p50 ms',
      'p99 ms',
      'p50 vs (c)',
      'server CPU ms/commit',
      'RLS queries/commit',
      'leaks',
      'missing',
    ];
    const rows = outcomes.map((o) => [
      o.label,
      Math.round(rate(o)),
      ratio(rate(o), rate(floor)),
      percentile(o.latencies, 50),
      percentile(o.latencies, 99),
      ratio(percentile(o.latencies, 50), percentile(floor.latencies, 50)),
      o.serverCpuMsPerCommit,
      o.queriesPerCommit,
      o.leaks,
      o.missing,
    ]);
    console.log(`\n${subscribers} subscribers (one user each), ${perCommit} owners per commit, paced commits\n`);
    console.log(formatTable(header, rows));
    console.log(`\n${formatMarkdownTable(header, rows)}`);
    if (server.log.trim()) console.log(`\nserver output:\n${server.log.trim()}`);
  });
}
