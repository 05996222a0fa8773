/**
 * Finds or (re)creates the replication slot and the epoch that names its stream.
 * A slot that is missing or whose WAL is gone (`wal_status = 'lost'`) cannot
 * resume: it is recreated under a new epoch, which voids every cursor given out
 * before, so clients resync instead of silently skipping the gap.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Lsn } from './lsn.ts';
import { formatLsn, parseLsn } from './lsn.ts';

export interface SlotState {
  epoch: string;
  /** The slot's confirmed position: the stream resumes after it. */
  confirmedLsn: Lsn;
  /**
   * The oldest cursor that can still resume: the last transaction delivered before the slot was
   * confirmed past it over WAL with nothing for Syncline, when that is on record; else confirmedLsn.
   */
  floorLsn: Lsn;
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
    const known = await pool.query<{ epoch: string; from: string | null; through: string | null }>(
      `SELECT epoch, resume_from::text AS from, resume_through::text AS through
         FROM syncline.slot_epochs WHERE slot_name = $1`,
      [slot],
    );
    const k = known.rows[0];
    const epoch = k?.epoch ?? (await saveEpoch(pool, slot));
    const confirmedLsn = parseLsn(row.confirmed);
    return {
      epoch,
      confirmedLsn,
      floorLsn: resumeFloor(confirmedLsn, k?.from ?? null, k?.through ?? null),
      created: false,
    };
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
  return { epoch: await saveEpoch(pool, slot), confirmedLsn: parseLsn(lsn), floorLsn: parseLsn(lsn), created: true };
}

/**
 * The record says nothing for Syncline committed in (from, through]; if the slot's position lies in
 * that range, every cursor from `from` on has missed nothing the slot will not resend. Otherwise
 * (a delivered transaction was confirmed after the record, or the record is missing) only cursors
 * from the slot's position can resume.
 */
export function resumeFloor(confirmed: Lsn, from: string | null, through: string | null): Lsn {
  if (from === null || through === null) return confirmed;
  const f = parseLsn(from);
  const t = parseLsn(through);
  return f <= confirmed && confirmed <= t ? f : confirmed;
}

/** Records (from, through] as free of Syncline transactions, before the slot is confirmed to `through`. */
export async function saveResumeRange(pool: pg.Pool, slot: string, from: Lsn, through: Lsn): Promise<void> {
  await pool.query(
    `UPDATE syncline.slot_epochs SET resume_from = $2::pg_lsn, resume_through = $3::pg_lsn WHERE slot_name = $1`,
    [slot, formatLsn(from), formatLsn(through)],
  );
}

export async function saveEpoch(pool: pg.Pool, slot: string): Promise<string> {
  const epoch = randomBytes(4).toString('hex');
  await pool.query(
    `INSERT INTO syncline.slot_epochs (slot_name, epoch) VALUES ($1, $2)
       ON CONFLICT (slot_name) DO UPDATE
         SET epoch = EXCLUDED.epoch, created_at = now(), resume_from = NULL, resume_through = NULL`,
    [slot, epoch],
  );
  return epoch;
}
