/**
 * The bench's PostgreSQL: DATABASE_URL when set, else the embedded one under
 * .syncline/bench-pg. Every run works in a fresh database it drops at the end.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';

export interface PostgresHandle {
  /** Connection string for a maintenance database (CREATE/DROP DATABASE). */
  adminUrl: string;
  embedded: boolean;
  stop(): Promise<void>;
}

export async function openPostgres(repoRoot: string): Promise<PostgresHandle> {
  const url = process.env['DATABASE_URL'];
  if (url) return { adminUrl: url, embedded: false, stop: async () => {} };
  // Imported only when used: a DATABASE_URL run has no need for the embedded binaries.
  const { startEmbeddedPostgres } = await import('../../packages/server/src/setup/embedded-postgres.ts');
  const port = await freePort();
  const running = await startEmbeddedPostgres({ dataDir: path.join(repoRoot, '.syncline', 'bench-pg'), port });
  return { adminUrl: running.url, embedded: true, stop: () => running.stop() };
}

export interface BenchDatabase {
  name: string;
  /** Random part of the name; suffix for cluster-wide names (replication slots). */
  id: string;
  url: string;
  /** Drops the database's replication slots, then the database. Call once nothing streams from it. */
  drop(): Promise<void>;
}

export async function createBenchDatabase(adminUrl: string): Promise<BenchDatabase> {
  const id = randomBytes(4).toString('hex');
  const name = `syncline_bench_${id}`;
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  return { name, id, url, drop: () => dropDatabase(adminUrl, name) };
}

/** Drops the database's replication slots (they would keep WAL forever), then the database. */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  // A walsender may outlive its client by a moment; an active slot cannot be dropped.
  for (let attempt = 0; ; attempt++) {
    try {
      await withClient(adminUrl, (c) =>
        c.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1`, [name]),
      );
      break;
    } catch (err) {
      if (attempt >= 20) throw err;
      await sleep(250);
    }
  }
  await withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

/**
 * Databases earlier runs could not drop (killed with SIGKILL, say). Only for the embedded cluster,
 * which nobody else uses: on a shared DATABASE_URL they might belong to a run in progress.
 */
export async function dropLeftovers(adminUrl: string): Promise<string[]> {
  const { rows } = await withClient(adminUrl, (c) =>
    c.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'syncline\\_bench\\_%'`),
  );
  for (const r of rows) await dropDatabase(adminUrl, r.datname);
  return rows.map((r) => r.datname);
}

export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
