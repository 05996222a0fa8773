/**
 * A redis-server for a benchmark run (no persistence), stopped with the run: the test suites'
 * own helper (a free port, started once it answers), registered with the run's cleanup.
 */
import { spawnSync } from 'node:child_process';
import { startRedis } from '../../packages/server/test/redis-server.ts';
import type { RunScope } from './run-scope.ts';

/** Why the Redis benchmarks cannot run here, or null. */
export function redisMissing(): string | null {
  return spawnSync('redis-server', ['--version']).status === 0
    ? null
    : 'redis-server is not installed (apt-get install redis-server): this benchmark needs it.';
}

export async function startBenchRedis(scope: RunScope): Promise<string> {
  const redis = await startRedis();
  scope.defer('redis-server', () => redis.remove());
  return redis.url;
}
