/**
 * Runs queries as the user: inside one transaction with
 * `set_config('request.jwt.claims', <claims JSON>, true)` and, when configured,
 * `SET LOCAL ROLE`, so PostgreSQL Row-Level Security applies on top of
 * Syncline's own filters (Supabase/PostgREST conventions).
 *
 * The first statement sets the claims; under REPEATABLE READ it also fixes the
 * transaction snapshot, which the snapshot handoff then reads.
 */
import type pg from 'pg';
import { quoteIdent } from '../util/quote-ident.ts';
import type { Identity } from './token-verifier.ts';

export interface DbSessionOptions {
  /** Role to `SET LOCAL ROLE` to for user queries (must not own the tables, or RLS is bypassed). */
  role?: string;
}

export async function withUserTransaction<T>(
  pool: pg.Pool,
  identity: Identity,
  db: DbSessionOptions,
  mode: 'READ ONLY' | 'READ WRITE',
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(`BEGIN ISOLATION LEVEL REPEATABLE READ ${mode}`);
    await client.query(
      `SELECT set_config('request.jwt.claims', $1, true), set_config('request.jwt.claim.sub', $2, true)`,
      [JSON.stringify(identity.claims), identity.userId],
    );
    if (db.role) await client.query(`SET LOCAL ROLE ${quoteIdent(db.role)}`);
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}
