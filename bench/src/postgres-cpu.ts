/**
 * CPU time PostgreSQL used, in ms: the postmaster, its live children (backends,
 * walsenders, background workers) and the children it has already reaped (Linux
 * /proc: utime + stime, and cutime + cstime of the postmaster). Read before and
 * after a phase; the difference is what the phase cost the database.
 */
import { readFileSync, readdirSync } from 'node:fs';
import type pg from 'pg';
import { processCpuMs, ticksToMs } from './environment.ts';

function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** The postmaster's pid, from any session's backend. */
export async function postmasterPid(client: pg.Client): Promise<number> {
  const backend = Number((await client.query('SELECT pg_backend_pid() AS pid')).rows[0]?.pid);
  return Number(statFields(backend)?.[1] ?? NaN); // field 4: ppid
}

export function postgresCpuMs(postmaster: number): number {
  const own = statFields(postmaster);
  if (!own) return NaN;
  // utime, stime, cutime, cstime: fields 14–17 (the last two: children already reaped).
  let total = ticksToMs(Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]));
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === postmaster) continue;
    const f = statFields(pid);
    if (f && Number(f[1]) === postmaster) total += processCpuMs(pid);
  }
  return total;
}
