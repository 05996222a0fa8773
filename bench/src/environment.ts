/** What the numbers were measured on, printed above every result. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface Environment {
  node: string;
  cpuModel: string;
  cores: number;
  memGiB: number;
  os: string;
  date: string;
  postgres: string;
  /** Soft limit on open files (inherited by the server process); NaN if unknown. */
  fdLimit: number;
  /** The commit measured, and whether the working tree differed from it. */
  revision: string;
}

export function describeEnvironment(postgres: string, repoRoot: string): Environment {
  const cpus = os.cpus();
  return {
    node: process.version,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memGiB: os.totalmem() / 1024 ** 3,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString().slice(0, 10),
    postgres,
    fdLimit: openFileLimit(),
    revision: gitRevision(repoRoot),
  };
}

export function formatEnvironment(e: Environment): string {
  return [
    `date      ${e.date}`,
    `syncline  ${e.revision}`,
    `node      ${e.node} on ${e.os}`,
    `cpu       ${e.cpuModel} × ${e.cores}, ${e.memGiB.toFixed(1)} GiB RAM`,
    `postgres  ${e.postgres}`,
    `ulimit -n ${Number.isFinite(e.fdLimit) ? e.fdLimit : 'unknown'}`,
  ].join('\n');
}

function gitRevision(repoRoot: string): string {
  try {
    const git = (...args: string[]) => execFileSync('git', ['-C', repoRoot, ...args], { encoding: 'utf8' }).trim();
    const changed = git('status', '--porcelain', '--', 'packages').split('\n').filter(Boolean).length;
    return `${git('rev-parse', '--short', 'HEAD')}${changed ? ` + ${changed} uncommitted file(s) in packages/` : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

function openFileLimit(): number {
  try {
    const out = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
    return out === 'unlimited' ? Infinity : Number(out);
  } catch {
    return NaN;
  }
}

/**
 * The fields of /proc/<pid>/stat after the parenthesised command name (so index 0 is field 3,
 * the state; 1 the ppid; 11 and 12 utime and stime; 13 and 14 cutime and cstime); null when the
 * process is gone or this is not Linux.
 */
export function procStat(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** User + system CPU time a process has used, in ms (Linux /proc); NaN elsewhere. */
export function processCpuMs(pid: number | undefined): number {
  const fields = pid === undefined ? null : procStat(pid);
  return fields ? ticksToMs(Number(fields[11]) + Number(fields[12])) : NaN;
}

/** Clock ticks (the unit of /proc/<pid>/stat times) in ms. */
export function ticksToMs(ticks: number): number {
  return (ticks * 1000) / clockTicksPerSecond();
}

let ticksPerSecond: number | null = null;
function clockTicksPerSecond(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}
