/** A redis-server for a benchmark run (no persistence), on a free port, stopped with the run. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, sleep } from './database.ts';
import type { RunScope } from './run-scope.ts';

/** Why the Redis benchmarks cannot run here, or null. */
export function redisMissing(): string | null {
  return spawnSync('redis-server', ['--version']).status === 0
    ? null
    : 'redis-server is not installed (apt-get install redis-server): this benchmark needs it.';
}

export async function startBenchRedis(scope: RunScope): Promise<string> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-redis-'));
  const redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  );
  scope.defer('redis-server', async () => {
    redis.kill('SIGTERM');
    await sleep(200);
  });
  await sleep(300);
  return `redis://127.0.0.1:${port}`;
}
