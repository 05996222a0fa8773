/**
 * CPU time PostgreSQL used, in ms: the postmaster, its live children (backends,
 * walsenders, background workers) and the children it has already reaped (Linux
 * /proc: utime + stime, and cutime + cstime of the postmaster). Read before and
 * after a phase; the difference is what the phase cost the database.
 */
import { readdirSync } from 'node:fs';
import type pg from 'pg';
import { procStat, ticksToMs } from './environment.ts';

/** The postmaster's pid, from any session's backend. */
export async function postmasterPid(client: pg.Client): Promise<number> {
  const backend = Number((await client.query('SELECT pg_backend_pid() AS pid')).rows[0]?.pid);
  return Number(procStat(backend)?.[1] ?? NaN); // the backend's ppid
}

export function postgresCpuMs(postmaster: number): number {
  const own = procStat(postmaster);
  if (!own) return NaN;
  // utime, stime, cutime, cstime (the last two: children already reaped).
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === postmaster) continue;
    const f = procStat(pid);
    if (f && Number(f[1]) === postmaster) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticksToMs(ticks);
}
