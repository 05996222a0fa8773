/**
 * `npm run bench -- routing`: the router alone, in process — no database, no
 * sockets. The same generated transactions (updates of rows of many owners,
 * some moving a row from one owner to another) are fed to a SyncRouter holding
 * N live instances, one subscriber each, in three set-ups:
 *
 *   eq filter      a collection `owner = {param}` (today's fastest path: indexed by param)
 *   claim filter   `owner = {claim: sub}`, one user per instance
 *   compiled RLS   a collection with no filter over a table whose policy is
 *                  `owner = claims ->> 'sub'`, compiled and indexed by the claim
 *
 * Reported: changes routed per second (wall), CPU per change, messages out,
 * and the ratio of each set-up to the eq filter. Frames are serialised as a
 * transport would (the bytes are dropped, not written).
 */
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import pino from 'pino';
import type { Identity } from '../../packages/server/src/auth/token-verifier.ts';
import type { CapturedTransaction, RowChange } from '../../packages/server/src/capture/captured-transaction.ts';
import type { CollectionDefinition } from '../../packages/server/src/collections/collection-config.ts';
import { CollectionRegistry } from '../../packages/server/src/collections/collection-registry.ts';
import type { TableInfo } from '../../packages/server/src/collections/table-info.ts';
import { compileTablePolicy } from '../../packages/server/src/rls/table-policy.ts';
import { RowVerdicts } from '../../packages/server/src/rls/row-verdicts.ts';
import { SyncRouter } from '../../packages/server/src/router/sync-router.ts';
import { SyncConnection } from '../../packages/server/src/transport/sync-connection.ts';
import { describeEnvironment, formatEnvironment } from './environment.ts';
import { median, ratio } from './stats.ts';
import { formatMarkdownTable, formatTable } from './table.ts';
import { intOption, optionValues } from './usage-error.ts';

export const routingUsage = `routing [--instances 100000] [--transactions 2000] [--changes 10] [--runs 3]
  the router alone, in process: eq filter vs claim filter vs compiled RLS`;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const TABLE: TableInfo = {
  qualified: 'public.item',
  schema: 'public',
  name: 'item',
  columns: [
    { name: 'id', typeOid: 25 },
    { name: 'owner', typeOid: 25 },
    { name: 'status', typeOid: 25 },
    { name: 'version', typeOid: 23 },
  ],
  primaryKey: ['id'],
};

/** A connection whose frames are built (serialise-once included) and then dropped. */
class CountingConnection extends SyncConnection {
  static frames = 0;
  static bytes = 0;
  protected get bufferedBytes(): number {
    return 0;
  }
  protected frame(event: string, data: string, id?: string): Buffer {
    return Buffer.from(`event: ${event}\n${id ? `id: ${id}\n` : ''}data: ${data}\n\n`);
  }
  protected writeFrame(frame: Buffer): void {
    CountingConnection.frames++;
    CountingConnection.bytes += frame.length;
  }
  protected endTransport(): void {}
}

type Setup = 'eq filter' | 'claim filter' | 'compiled RLS';

function build(setup: Setup): { registry: CollectionRegistry; role?: string; sub: (i: number) => object } {
  const defs: CollectionDefinition[] = [
    { name: 'by_owner', table: 'item', filter: { eq: ['owner', { param: 'owner' }] }, params: ['owner'] },
    { name: 'mine', table: 'item', filter: { eq: ['owner', { claim: 'sub' }] } },
    { name: 'all', table: 'item' },
  ];
  const registry = CollectionRegistry.fromTables(defs, new Map([[TABLE.qualified, TABLE]]));
  if (setup === 'compiled RLS') {
    const policy = compileTablePolicy(
      TABLE.qualified,
      {
        enabled: true,
        forced: false,
        owner: false,
        bypass: false,
        policies: [
          {
            name: 'own',
            permissive: true,
            using: `(owner = ((current_setting('request.jwt.claims'::text, true))::json ->> 'sub'::text))`,
          },
        ],
      },
      { table: 'item', columns: new Map(TABLE.columns.map((c) => [c.name, c.typeOid])), functions: new Map() },
    );
    if (policy.mode !== 'compiled') throw new Error(`policy did not compile: ${JSON.stringify(policy)}`);
    registry.usePolicies(new Map([[TABLE.qualified, policy]]), new RowVerdicts());
    return { registry, role: 'bench_role', sub: () => ({ collection: 'all' }) };
  }
  if (setup === 'claim filter') return { registry, sub: () => ({ collection: 'mine' }) };
  return { registry, sub: (i) => ({ collection: 'by_owner', params: { owner: `u${i}` } }) };
}

/** Deterministic transactions: each change updates a row of a random owner; one in five moves it to another. */
function transactions(count: number, perTx: number, owners: number): CapturedTransaction[] {
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const out: CapturedTransaction[] = [];
  for (let t = 0; t < count; t++) {
    const changes: RowChange[] = [];
    for (let c = 0; c < perTx; c++) {
      const owner = `u${Math.floor(rnd() * owners)}`;
      const next = rnd() < 0.2 ? `u${Math.floor(rnd() * owners)}` : owner;
      const id = `r${t}-${c}`;
      changes.push({
        table: TABLE.qualified,
        op: 'update',
        old: { id, owner, status: 'open', version: 1 },
        row: { id, owner: next, status: 'done', version: 2 },
      });
    }
    out.push({
      xid: 1000 + t,
      lsn: BigInt(1_000_000 + t * 100),
      commitTime: Date.now(),
      changes,
      truncated: [],
      origins: [],
      oversizedTables: null,
      schemaChanged: [],
    });
  }
  return out;
}

interface Result {
  setup: Setup;
  changesPerSec: number;
  cpuUsPerChange: number;
  messages: number;
  instances: number;
}

async function runOnce(setup: Setup, instances: number, txs: CapturedTransaction[]): Promise<Result> {
  const { registry, role, sub } = build(setup);
  const router = new SyncRouter({
    registry,
    pool: {} as pg.Pool, // never used: no snapshots (subscribers resume at the head), no access rules
    logger: pino({ level: 'silent' }),
    log: { maxTransactions: 100, maxBytes: 64 * 1024 * 1024 },
    maxSnapshotBuffer: 1000,
    snapshotPartRows: 500,
    maxSnapshotRows: 1000,
    maxSubscriptionsPerConnection: 10,
    db: role ? { role } : {},
  });
  router.onEpoch({ epoch: 'be0c0001', floor: 0n, reason: 'start' });
  const cursor = router.headCursor() as string;
  for (let i = 0; i < instances; i++) {
    const identity = { userId: `u${i}`, claims: { sub: `u${i}` }, expiresAt: null } as unknown as Identity;
    const conn = new CountingConnection(`c${i}`, 'ws', 1 << 30, identity);
    router.connect(conn);
    await router.subscribe(conn, [{ id: 's', ...sub(i), cursor } as never]);
  }
  CountingConnection.frames = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const tx of txs) router.onTransaction(tx);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const changes = txs.reduce((n, tx) => n + tx.changes.length, 0);
  return {
    setup,
    changesPerSec: changes / (ms / 1000),
    cpuUsPerChange: (cpu.user + cpu.system) / changes,
    messages: CountingConnection.frames,
    instances: router.instanceCount(),
  };
}

export async function runRouting(argv: string[]): Promise<void> {
  const opt = optionValues(argv);
  const instances = intOption('instances', opt('instances'), 100_000, 1);
  const count = intOption('transactions', opt('transactions'), 2_000, 1);
  const perTx = intOption('changes', opt('changes'), 10, 1);
  const runs = intOption('runs', opt('runs'), 3, 1);
  console.log(formatEnvironment(describeEnvironment('none (router alone)', repoRoot)));
  console.log(`\n${instances} instances, ${count} transactions × ${perTx} changes, median of ${runs} runs\n`);
  const txs = transactions(count, perTx, instances);
  const setups: Setup[] = ['eq filter', 'claim filter', 'compiled RLS'];
  const results = new Map<Setup, Result[]>();
  for (let r = 0; r < runs; r++)
    for (const s of setups) {
      const list = results.get(s) ?? [];
      list.push(await runOnce(s, instances, txs));
      results.set(s, list);
    }
  const med = (s: Setup, f: (r: Result) => number) => median((results.get(s) ?? []).map(f));
  const floor = med('eq filter', (r) => r.changesPerSec);
  const header = ['set-up', 'instances', 'changes/s', 'vs eq filter', 'CPU µs/change', 'messages'];
  const rows = setups.map((s) => [
    s,
    med(s, (r) => r.instances),
    Math.round(med(s, (r) => r.changesPerSec)),
    ratio(
      med(s, (r) => r.changesPerSec),
      floor,
    ),
    med(s, (r) => r.cpuUsPerChange),
    med(s, (r) => r.messages),
  ]);
  console.log(formatTable(header, rows));
  console.log(`\n${formatMarkdownTable(header, rows)}`);
}
