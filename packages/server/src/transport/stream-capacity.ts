/**
 * How many streams one process may hold. Every stream is a socket, i.e. a file
 * descriptor; a process at its descriptor limit cannot even accept a health
 * check. So streams stop at the limit minus a reserve (database pool, health,
 * metrics, replication), and new ones get 503 instead of taking the last fds.
 */
import { readFileSync } from 'node:fs';

const RESERVE = 256;

/** Default stream cap: the soft RLIMIT_NOFILE (Linux) minus a reserve; 10,000 where it cannot be read. */
export function defaultMaxStreams(): number {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
    if (m?.[1] && m[1] !== 'unlimited') return Math.max(64, Number(m[1]) - RESERVE);
  } catch {
    // not Linux
  }
  return 10_000;
}
