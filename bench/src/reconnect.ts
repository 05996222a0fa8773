/**
 * `npm run bench -- reconnect`: what it costs a client to catch up after a
 * disconnect, for a 10,000-row collection with 1% of rows changed meanwhile —
 * by cursor resume, by differential sync (state vector), and by a full
 * snapshot — beside a floor: the changed rows themselves (their JSON bytes, and
 * the time of a direct SELECT of them over the same database).
 *
 *   subscribe → snapshot (remember cursor + versions) → disconnect
 *   → 100 single-row UPDATE transactions
 *   → catch up three ways, each from the same starting point; median of N rounds.
 */
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { signToken } from '../../packages/server/src/auth/sign-token.ts';
import { startSyncline } from '../../packages/server/src/server.ts';
import { createBenchDatabase, openPostgres, withClient } from './database.ts';
import { describeEnvironment, formatEnvironment } from './environment.ts';
import { median } from './stats.ts';
import { formatMarkdownTable, formatTable } from './table.ts';
import { intOption, optionValues } from './usage-error.ts';

export const reconnectUsage = `reconnect [--rows 10000] [--changed 100] [--rounds 5] [--markdown]
  bytes and time to catch up after a disconnect: cursor resume vs differential sync vs full snapshot`;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SECRET = 'bench-reconnect-secret-bench-reconnect-secret-01';
const SUB = { id: 'all', collection: 'bench_rows' };

interface Catchup {
  bytes: number;
  ms: number;
  /** Request bytes the client sent (differential sync's state vector). */
  sent?: number;
}

export async function runReconnect(argv: string[]): Promise<void> {
  const opt = optionValues(argv);
  const rows = intOption('rows', opt('rows'), 10_000, 10);
  const changed = intOption('changed', opt('changed'), Math.round(rows / 100), 1);
  const rounds = intOption('rounds', opt('rounds'), 5, 1);
  const markdown = argv.includes('--markdown');

  const postgres = await openPostgres(repoRoot);
  const db = await createBenchDatabase(postgres.adminUrl);
  let server: Awaited<ReturnType<typeof startSyncline>> | null = null;
  try {
    await withClient(db.url, async (c) => {
      await c.query(`CREATE TABLE bench_rows (id integer PRIMARY KEY, name text NOT NULL, status text NOT NULL,
        amount numeric(12,2) NOT NULL, note text NOT NULL, version integer NOT NULL DEFAULT 1)`);
      await c.query(
        `INSERT INTO bench_rows (id, name, status, amount, note)
         SELECT g, 'Row ' || g, 'open', (g % 977) * 1.25, repeat('note ', 20) FROM generate_series(1, $1) g`,
        [rows],
      );
    });
    server = await startSyncline({
      databaseUrl: db.url,
      collections: [{ name: 'bench_rows', table: 'bench_rows', shared: true }],
      port: 0,
      host: '127.0.0.1',
      slot: `bench_reconnect_${db.id}`,
      publication: `bench_reconnect_${db.id}`,
      heartbeatMs: 600_000,
      logger: pino({ level: 'silent' }),
      auth: { jwtSecret: SECRET },
      limits: { requestsPerSecond: 1_000_000, maxDiffSyncBodyBytes: 16 * 1024 * 1024, snapshotPartRows: 1_000 },
    });
    const token = await signToken(SECRET, { sub: 'bench' }, 3600);
    const env = describeEnvironment(
      await withClient(db.url, async (c) => String((await c.query('SHOW server_version')).rows[0]?.server_version)),
      repoRoot,
    );

    const results = {
      resume: [] as Catchup[],
      diff: [] as Catchup[],
      snapshot: [] as Catchup[],
      floor: [] as Catchup[],
    };
    for (let r = 0; r < rounds; r++) {
      // The client's state before it goes offline.
      const start = await readStream(server.url, token, SUB, (s) => s.snapshotDone);
      const versions = start.versions;
      const ids = pick(rows, changed, r + 1);
      for (const id of ids) {
        await withClient(db.url, (c) =>
          c.query(`UPDATE bench_rows SET status = $2, amount = amount + 1 WHERE id = $1`, [id, `r${r}`]),
        );
      }
      // Wait until the server has routed the last change (its head moved past it), so all three start equal.
      await new Promise((res) => setTimeout(res, 200));

      const t0 = performance.now();
      const resumed = await readStream(
        server.url,
        token,
        { ...SUB, cursor: start.cursor },
        (s) => s.changes >= ids.length,
      );
      results.resume.push({ bytes: resumed.bytes, ms: performance.now() - t0 });

      const body = JSON.stringify({ subscription: SUB, versions });
      const t1 = performance.now();
      const res = await fetch(new URL('/v1/sync', server.url), {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body,
      });
      const answer = await res.text();
      results.diff.push({
        bytes: Buffer.byteLength(answer),
        ms: performance.now() - t1,
        sent: Buffer.byteLength(body),
      });
      const parsed = JSON.parse(answer) as { updated: unknown[] };
      if (parsed.updated.length !== ids.length)
        throw new Error(`differential sync found ${parsed.updated.length} updated rows, expected ${ids.length}`);

      const t2 = performance.now();
      const fresh = await readStream(server.url, token, SUB, (s) => s.snapshotDone);
      results.snapshot.push({ bytes: fresh.bytes, ms: performance.now() - t2 });

      const t3 = performance.now();
      const direct = await withClient(
        db.url,
        async (c) => (await c.query(`SELECT * FROM bench_rows WHERE id = ANY($1)`, [ids])).rows,
      );
      results.floor.push({ bytes: Buffer.byteLength(JSON.stringify(direct)), ms: performance.now() - t3 });
    }

    const med = (xs: Catchup[], f: (c: Catchup) => number) => median(xs.map(f));
    const floorBytes = med(results.floor, (c) => c.bytes);
    const floorMs = med(results.floor, (c) => c.ms);
    const row = (name: string, xs: Catchup[]): Array<string | number> => [
      name,
      med(xs, (c) => c.bytes),
      xs[0]?.sent === undefined ? '' : med(xs, (c) => c.sent ?? 0),
      `${(med(xs, (c) => c.bytes) / floorBytes).toFixed(1)}×`,
      med(xs, (c) => c.ms),
      `${(med(xs, (c) => c.ms) / floorMs).toFixed(1)}×`,
    ];
    const table = [
      ['floor: the changed rows (direct SELECT)', floorBytes, '', '1×', floorMs, '1×'],
      row('cursor resume (replayed transactions)', results.resume),
      row('differential sync (state vector)', results.diff),
      row('full snapshot', results.snapshot),
    ];
    console.log('Syncline reconnect benchmark');
    console.log(formatEnvironment(env));
    console.log(
      `\n${rows} rows, ${changed} changed in ${changed} transactions while offline; median of ${rounds} rounds\n`,
    );
    const header = ['catch-up', 'bytes received', 'bytes sent', '× floor', 'ms', '× floor'];
    console.log(formatTable(header, table, { decimals: 1 }));
    if (markdown) console.log(`\n${formatMarkdownTable(header, table, { decimals: 1 })}`);
  } finally {
    await server?.stop();
    await db.drop();
    await postgres.stop();
  }
}

interface StreamState {
  bytes: number;
  changes: number;
  snapshotDone: boolean;
  cursor: string;
  versions: Record<string, number>;
}

/** Opens an SSE stream, reads until `done(state)`, closes it. Bytes are what arrived (event framing included). */
function readStream(base: string, token: string, sub: object, done: (s: StreamState) => boolean): Promise<StreamState> {
  const url = new URL('/v1/sync/events', base);
  url.searchParams.set('clientId', 'bench-client');
  url.searchParams.set('token', token);
  url.searchParams.set('subscribe', JSON.stringify(sub));
  const state: StreamState = { bytes: 0, changes: 0, snapshotDone: false, cursor: '', versions: {} };
  return new Promise((resolve, reject) => {
    let pending = '';
    const req = http.get(url, (res) => {
      res.on('data', (chunk: Buffer) => {
        state.bytes += chunk.length;
        const blocks = (pending + chunk.toString('utf8')).split('\n\n');
        pending = blocks.pop() ?? '';
        for (const b of blocks) {
          const data = b.slice(b.indexOf('data: ') + 6);
          if (b.startsWith('event: snapshot')) {
            const m = JSON.parse(data) as {
              rows: Array<{ key: string; version: number }>;
              cursor: string;
              done: boolean;
            };
            for (const r of m.rows) state.versions[r.key] = r.version;
            state.cursor = m.cursor;
            if (m.done) state.snapshotDone = true;
          } else if (b.startsWith('event: changes')) {
            const m = JSON.parse(data) as { cursor: string };
            state.changes++;
            state.cursor = m.cursor;
          } else if (b.startsWith('event: resync') || b.startsWith('event: error')) {
            req.destroy();
            reject(new Error(`unexpected ${b.slice(0, 200)}`));
            return;
          }
        }
        if (done(state)) {
          req.destroy();
          resolve(state);
        }
      });
    });
    req.on('error', (e) => {
      if (!done(state)) reject(e);
    });
  });
}

/** `n` distinct ids in 1..max, deterministic per round. */
function pick(max: number, n: number, seed: number): number[] {
  const out = new Set<number>();
  let x = seed * 7919;
  while (out.size < n) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out.add((x % max) + 1);
  }
  return [...out];
}
