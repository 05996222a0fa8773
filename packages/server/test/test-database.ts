/**
 * A fresh database per test file, dropped afterwards (its replication slots
 * first: a slot keeps its database alive).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

export interface TestDatabase {
  url: string;
  name: string;
  /** Unique slot/publication name for servers in this database. */
  slot: string;
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  pool: pg.Pool;
  drop(): Promise<void>;
}

export async function createTestDatabase(schemaSql = ''): Promise<TestDatabase> {
  const adminUrl = inject('pgUrl');
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client(adminUrl);
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  const pool = new pg.Pool({ connectionString: url, max: 12 });
  pool.on('error', () => {});
  if (schemaSql) await pool.query(schemaSql);
  return {
    url,
    name,
    slot: `s_${name}`,
    pool,
    query: (text, values) => pool.query(text, values),
    async drop() {
      await pool.end();
      const a = new pg.Client(adminUrl);
      await a.connect();
      try {
        for (let i = 0; i < 50; i++) {
          const slots = await a.query<{ slot_name: string; active_pid: number | null }>(
            'SELECT slot_name, active_pid FROM pg_replication_slots WHERE database = $1',
            [name],
          );
          if (slots.rows.length === 0) break;
          for (const s of slots.rows) {
            if (s.active_pid) await a.query('SELECT pg_terminate_backend($1)', [s.active_pid]);
            await a.query('SELECT pg_drop_replication_slot($1)', [s.slot_name]).catch(() => {});
          }
        }
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await a.end();
      }
    },
  };
}
