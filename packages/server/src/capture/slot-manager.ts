/**
 * Finds or (re)creates the replication slot and the epoch that names its stream.
 * A slot that is missing or whose WAL is gone (`wal_status = 'lost'`) cannot
 * resume: it is recreated under a new epoch, which voids every cursor given out
 * before, so clients resync instead of silently skipping the gap.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Lsn } from './lsn.ts';
import { parseLsn } from './lsn.ts';

export interface SlotState {
  epoch: string;
  /** The slot's confirmed position: the stream resumes after it. */
  confirmedLsn: Lsn;
  created: boolean;
}

export async function prepareSlot(pool: pg.Pool, slot: string): Promise<SlotState> {
  const found = await pool.query<{ wal_status: string | null; confirmed: string | null; active_pid: number | null }>(
    `SELECT wal_status, confirmed_flush_lsn::text AS confirmed, active_pid
       FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  const row = found.rows[0];
  if (row && row.wal_status !== 'lost' && row.confirmed) {
    const known = await pool.query<{ epoch: string }>(`SELECT epoch FROM syncline.slot_epochs WHERE slot_name = $1`, [
      slot,
    ]);
    const epoch = known.rows[0]?.epoch ?? (await saveEpoch(pool, slot));
    return { epoch, confirmedLsn: parseLsn(row.confirmed), created: false };
  }
  if (row) {
    if (row.active_pid) await pool.query('SELECT pg_terminate_backend($1)', [row.active_pid]);
    await pool.query('SELECT pg_drop_replication_slot($1)', [slot]);
  }
  const created = await pool.query<{ lsn: string }>(
    `SELECT lsn::text AS lsn FROM pg_create_logical_replication_slot($1, 'pgoutput')`,
    [slot],
  );
  const lsn = created.rows[0]?.lsn;
  if (!lsn) throw new Error(`could not create replication slot ${slot}`);
  return { epoch: await saveEpoch(pool, slot), confirmedLsn: parseLsn(lsn), created: true };
}

async function saveEpoch(pool: pg.Pool, slot: string): Promise<string> {
  const epoch = randomBytes(4).toString('hex');
  await pool.query(
    `INSERT INTO syncline.slot_epochs (slot_name, epoch) VALUES ($1, $2)
       ON CONFLICT (slot_name) DO UPDATE SET epoch = EXCLUDED.epoch, created_at = now()`,
    [slot, epoch],
  );
  return epoch;
}
