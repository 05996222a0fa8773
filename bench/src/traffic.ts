/**
 * `npm run bench -- traffic`: what one order change costs on the wire in seed
 * 000's scenario — 2,600 subscribed clients, of whom 50 may see the order —
 * against what simpler designs would send for the same change.
 *
 *   52 zones × 50 clients, each subscribed (SSE) to its zone's orders, bound to
 *   a `zone` claim in its token; one UPDATE of one order per sample.
 *
 * Bytes are counted on the clients' sockets (HTTP framing excluded: chunked
 * transfer overhead is the same for every design). Nothing asserts.
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
import { intOption } from './usage-error.ts';

export const trafficUsage = `traffic [--zones 52] [--per-zone 50] [--orders-per-zone 10] [--samples 20] [--markdown]
  bytes on the wire for one order change, seed 000's scenario (2,600 clients, 50 may see it)`;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SECRET = 'bench-traffic-secret-bench-traffic-secret-0123';

interface Client {
  bytes: number;
  changes: number;
  snapshotBytes: number;
  ready: boolean;
  req: http.ClientRequest;
}

export async function runTraffic(argv: string[]): Promise<void> {
  const opt = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const zones = intOption('zones', opt('zones'), 52, 1);
  const perZone = intOption('per-zone', opt('per-zone'), 50, 1);
  const ordersPerZone = intOption('orders-per-zone', opt('orders-per-zone'), 10, 1);
  const samples = intOption('samples', opt('samples'), 20, 1);
  const markdown = argv.includes('--markdown');

  const postgres = await openPostgres(repoRoot);
  const db = await createBenchDatabase(postgres.adminUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const clients: Client[] = [];
  let server: Awaited<ReturnType<typeof startSyncline>> | null = null;
  try {
    await withClient(db.url, async (c) => {
      await c.query(`CREATE TABLE traffic_order (
        id integer PRIMARY KEY, zone integer NOT NULL, status text NOT NULL, title text NOT NULL,
        address text NOT NULL, customer text NOT NULL, total numeric(12,2) NOT NULL, notes text NOT NULL,
        version integer NOT NULL DEFAULT 1, updated_at timestamptz NOT NULL DEFAULT now())`);
      await c.query(
        `INSERT INTO traffic_order (id, zone, status, title, address, customer, total, notes)
         SELECT g, g % $1, 'pending', 'Order ' || g, g || ' Harbour Road, Flat ' || (g % 90), 'Customer ' || (g * 7 % 1000),
                (g % 97) * 3.25, repeat('Leave at the door. ', 8)
           FROM generate_series(1, $2) g`,
        [zones, zones * ordersPerZone],
      );
    });
    server = await startSyncline({
      databaseUrl: db.url,
      collections: [
        { name: 'zone_orders', table: 'traffic_order', filter: { eq: ['zone', { claim: 'zone' }] }, shared: true },
      ],
      port: 0,
      host: '127.0.0.1',
      slot: `bench_traffic_${db.id}`,
      publication: `bench_traffic_${db.id}`,
      heartbeatMs: 600_000,
      logger: pino({ level: 'silent' }),
      auth: { jwtSecret: SECRET },
      limits: { requestsPerSecond: 1_000_000, maxConnectionsPerUser: 1_000_000 },
    });
    const env = describeEnvironment(await postgresVersion(db.url), repoRoot);

    // Open every client's stream and wait for all snapshots.
    const total = zones * perZone;
    for (let i = 0; i < total; i++) clients.push(await open(server.url, agent, i, i % zones));
    await until(() => clients.every((c) => c.ready), 120_000, 'all snapshots');

    const fullTable = await withClient(db.url, async (c) => (await c.query(`SELECT * FROM traffic_order`)).rows);
    const fullCollectionBytes = Buffer.byteLength(`event: snapshot\ndata: ${JSON.stringify({ rows: fullTable })}\n\n`);
    const ownCollectionBytes = clients.reduce((n, c) => n + c.snapshotBytes, 0);

    const ours: number[] = [];
    const reached: number[] = [];
    const perMessage: number[] = [];
    for (let s = 0; s < samples; s++) {
      const zone = s % zones;
      const before = clients.map((c) => c.bytes);
      const changesBefore = clients.map((c) => c.changes);
      await withClient(db.url, (c) =>
        c.query(
          `UPDATE traffic_order SET status = $2, updated_at = now() WHERE id = (SELECT min(id) FROM traffic_order WHERE zone = $1)`,
          [zone, s % 2 ? 'accepted' : 'in_progress'],
        ),
      );
      const inZone = clients.filter((_, i) => i % zones === zone);
      await until(
        () => inZone.every((c) => c.changes > (changesBefore[clients.indexOf(c)] ?? 0)),
        30_000,
        'zone delivery',
      );
      await new Promise((r) => setTimeout(r, 200)); // anyone else would have had it by now
      const deltas = clients.map((c, i) => c.bytes - (before[i] ?? 0));
      ours.push(deltas.reduce((a, b) => a + b, 0));
      reached.push(deltas.filter((d) => d > 0).length);
      perMessage.push(Math.max(...deltas));
    }

    const oursMedian = median(ours);
    const msg = median(perMessage);
    const rows: Array<[string, number, number, string]> = [
      ['syncline: changed row to the clients who may see it', oursMedian, median(reached), '1×'],
      ['broadcast the changed row to every client', msg * total, total, ratio(msg * total, oursMedian)],
      ['every client refetches its own collection', ownCollectionBytes, total, ratio(ownCollectionBytes, oursMedian)],
      [
        'the full collection to every client',
        fullCollectionBytes * total,
        total,
        ratio(fullCollectionBytes * total, oursMedian),
      ],
    ];
    console.log('Syncline traffic benchmark');
    console.log(formatEnvironment(env));
    console.log(
      `\n${total} clients in ${zones} zones of ${perZone}; ${zones * ordersPerZone} orders; one order changes per sample; median of ${samples} samples`,
    );
    console.log(
      `one changes message: ${msg} bytes; one client's own collection: ${Math.round(ownCollectionBytes / total)} bytes; the whole table: ${fullCollectionBytes} bytes\n`,
    );
    const header = ['design', 'bytes per change', 'clients reached', '× syncline'];
    console.log(formatTable(header, rows));
    if (markdown) console.log(`\n${formatMarkdownTable(header, rows)}`);
  } finally {
    for (const c of clients) c.req.destroy();
    agent.destroy();
    await server?.stop();
    await db.drop();
    await postgres.stop();
  }
}

function ratio(a: number, b: number): string {
  const r = a / b;
  return r >= 100 ? `${Math.round(r)}×` : `${r.toFixed(1)}×`;
}

async function open(base: string, agent: http.Agent, i: number, zone: number): Promise<Client> {
  const token = await signToken(SECRET, { sub: `user-${i}`, zone }, 3600);
  const url = new URL('/v1/sync/events', base);
  url.searchParams.set('clientId', `client-${i}`);
  url.searchParams.set('token', token);
  url.searchParams.set('subscribe', JSON.stringify({ id: 'z', collection: 'zone_orders' }));
  const client = { bytes: 0, changes: 0, snapshotBytes: 0, ready: false } as Client;
  let pending = '';
  client.req = http.get(url, { agent }, (res) => {
    res.on('data', (chunk: Buffer) => {
      client.bytes += chunk.length;
      const blocks = (pending + chunk.toString('latin1')).split('\n\n');
      pending = blocks.pop() ?? '';
      for (const b of blocks) {
        if (b.startsWith('event: snapshot')) {
          client.snapshotBytes += b.length + 2;
          if (b.includes('"done":true')) client.ready = true;
        } else if (b.startsWith('event: changes')) client.changes++;
      }
    });
  });
  client.req.on('error', () => {});
  return client;
}

async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function postgresVersion(url: string): Promise<string> {
  return withClient(url, async (c) => String((await c.query(`SHOW server_version`)).rows[0]?.server_version ?? '?'));
}
