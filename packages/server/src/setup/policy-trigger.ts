/**
 * Policy changes in stream order: an event trigger emits a transactional
 * logical message (`syncline.policy`) inside every CREATE/ALTER/DROP POLICY,
 * ALTER TABLE (ENABLE/DISABLE/FORCE ROW LEVEL SECURITY), CREATE/ALTER/DROP
 * FUNCTION, DROP TABLE/OWNED … CASCADE and GRANT/REVOKE on objects, so the
 * router reloads policies exactly where the change committed. Changes to roles
 * (membership, BYPASSRLS, REASSIGN OWNED) fire no event trigger: the periodic
 * re-read finds those. Event triggers need a superuser; without one this
 * returns false and the server relies on the re-read alone.
 */
import type pg from 'pg';

export const POLICY_MESSAGE_PREFIX = 'syncline.policy';

const TRIGGER_SQL = `
CREATE OR REPLACE FUNCTION syncline.policy_changed() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_logical_emit_message(true, '${POLICY_MESSAGE_PREFIX}', tg_tag);
END $$;
DROP EVENT TRIGGER IF EXISTS syncline_policy_changed;
CREATE EVENT TRIGGER syncline_policy_changed ON ddl_command_end
  WHEN TAG IN ('CREATE POLICY', 'ALTER POLICY', 'DROP POLICY', 'ALTER TABLE', 'CREATE FUNCTION', 'ALTER FUNCTION',
               'DROP FUNCTION', 'DROP TABLE', 'DROP OWNED', 'GRANT', 'REVOKE')
  EXECUTE FUNCTION syncline.policy_changed();
`;

export async function installPolicyTrigger(pool: pg.Pool): Promise<boolean> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('syncline.install'))`);
    await client.query(TRIGGER_SQL);
    await client.query('COMMIT');
    return true;
  } catch {
    await client.query('ROLLBACK').catch(() => {});
    return false;
  } finally {
    client.release();
  }
}
