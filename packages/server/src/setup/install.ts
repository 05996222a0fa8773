/**
 * What Syncline creates in the user's database, and nothing more:
 *  - schema `syncline` (its own bookkeeping);
 *  - on each synced table: REPLICA IDENTITY FULL (updates carry old values, for
 *    move-out and unchanged-TOAST) and a trigger keeping the `version` column;
 *  - a publication over the synced tables.
 * Every step is idempotent. The replication slot is managed by capture.
 */
import type pg from 'pg';
import { SetupError } from '../util/errors.ts';
import { quoteIdent, quoteTable, splitTable } from '../util/quote-ident.ts';

const SCHEMA_SQL = `
CREATE SCHEMA IF NOT EXISTS syncline;
CREATE TABLE IF NOT EXISTS syncline.slot_epochs (
  slot_name text PRIMARY KEY,
  epoch text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
-- "No transaction for Syncline between resume_from and resume_through": written before the slot
-- is confirmed past its last delivered transaction, so a restart can resume cursors from there.
ALTER TABLE syncline.slot_epochs ADD COLUMN IF NOT EXISTS resume_from pg_lsn;
ALTER TABLE syncline.slot_epochs ADD COLUMN IF NOT EXISTS resume_through pg_lsn;
-- Idempotent writes: which user a client id belongs to, its last applied mutation,
-- and the answers to its recent mutations (older ones are pruned as new ones land).
CREATE TABLE IF NOT EXISTS syncline.clients (
  client_id text PRIMARY KEY,
  user_id text NOT NULL,
  last_mutation_id bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS syncline.mutations (
  client_id text NOT NULL,
  mutation_id bigint NOT NULL,
  status integer NOT NULL,
  response jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (client_id, mutation_id)
);
CREATE OR REPLACE FUNCTION syncline.bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    NEW.version := COALESCE(NEW.version, 1);
  ELSE
    NEW.version := OLD.version + 1;
  END IF;
  RETURN NEW;
END $$;
`;

export async function installSyncline(pool: pg.Pool, publication: string, tables: string[]): Promise<void> {
  const client = await pool.connect();
  try {
    // Serialise concurrent installs (several nodes starting at once) on one advisory lock.
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('syncline.install'))`);
    await client.query(SCHEMA_SQL);
    for (const table of tables) await prepareTable(client, table);
    await ensurePublication(client, publication, tables);
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}

async function prepareTable(client: pg.PoolClient, table: string): Promise<void> {
  const { schema, name, qualified } = splitTable(table);
  const { rows } = await client.query<{
    oid: number;
    identity: string;
    has_version: boolean;
    has_pk: boolean;
    has_trigger: boolean;
  }>(
    `SELECT c.oid::int AS oid, c.relreplident AS identity,
            EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'version' AND NOT a.attisdropped) AS has_version,
            EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS has_pk,
            EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'syncline_version') AS has_trigger
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`,
    [schema, name],
  );
  const t = rows[0];
  if (!t) throw new SetupError(`synced table ${qualified} does not exist`);
  if (!t.has_pk) throw new SetupError(`synced table ${qualified} needs a primary key`);
  if (!t.has_version) {
    throw new SetupError(
      `synced table ${qualified} needs a version column: ALTER TABLE ${quoteTable(table)} ADD COLUMN version integer NOT NULL DEFAULT 1;`,
    );
  }
  if (t.identity !== 'f') await client.query(`ALTER TABLE ${quoteTable(table)} REPLICA IDENTITY FULL`);
  if (!t.has_trigger) {
    await client.query(
      `CREATE TRIGGER syncline_version BEFORE INSERT OR UPDATE ON ${quoteTable(table)}
         FOR EACH ROW EXECUTE FUNCTION syncline.bump_version()`,
    );
  }
}

async function ensurePublication(client: pg.PoolClient, publication: string, tables: string[]): Promise<void> {
  const list = tables.map(quoteTable).join(', ');
  const { rows } = await client.query<{ schemaname: string; tablename: string }>(
    `SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1`,
    [publication],
  );
  const exists = await client.query(`SELECT 1 FROM pg_publication WHERE pubname = $1`, [publication]);
  // No tables at all is allowed (a node that only serves presence rooms): the publication is empty.
  if (exists.rowCount === 0) {
    await client.query(`CREATE PUBLICATION ${quoteIdent(publication)}${list ? ` FOR TABLE ${list}` : ''}`);
    return;
  }
  const have = new Set(rows.map((r) => `${r.schemaname}.${r.tablename}`));
  const want = new Set(tables.map((t) => splitTable(t).qualified));
  const same = have.size === want.size && [...want].every((t) => have.has(t));
  if (same) return;
  if (list) await client.query(`ALTER PUBLICATION ${quoteIdent(publication)} SET TABLE ${list}`);
  else
    await client.query(
      `ALTER PUBLICATION ${quoteIdent(publication)} DROP TABLE ${[...have].map(quoteTable).join(', ')}`,
    );
}
