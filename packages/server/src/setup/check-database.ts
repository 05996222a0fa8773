/** Fails early, with a message that says what to change, when Postgres cannot do logical replication for us. */
import type pg from 'pg';
import { SetupError } from '../util/errors.ts';

export async function checkDatabase(pool: pg.Pool): Promise<void> {
  const { rows } = await pool.query<{ wal_level: string; can_replicate: boolean; max_slots: string; version: number }>(
    `SELECT current_setting('wal_level') AS wal_level,
            (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user) AS can_replicate,
            current_setting('max_replication_slots') AS max_slots,
            current_setting('server_version_num')::int AS version`,
  );
  const r = rows[0];
  if (!r) throw new SetupError('could not read server settings');
  if (r.version < 140000) throw new SetupError(`PostgreSQL 14 or newer is required (found ${r.version}).`);
  if (r.wal_level !== 'logical') {
    throw new SetupError(
      `wal_level is '${r.wal_level}', but Syncline needs 'logical'. ` +
        `Run ALTER SYSTEM SET wal_level = logical; and restart PostgreSQL.`,
    );
  }
  if (!r.can_replicate) {
    throw new SetupError(
      'the database user lacks the REPLICATION attribute. Run ALTER ROLE <user> WITH REPLICATION; as a superuser.',
    );
  }
  if (Number(r.max_slots) < 1) throw new SetupError('max_replication_slots is 0; set it to at least 1 and restart.');
}
