/**
 * Runs a Syncline node as a separate process through the CLI, so tests can
 * SIGKILL it mid-stream like a real crash.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CollectionDefinition } from '../src/collections/collection-config.ts';
import { TEST_SECRET } from './test-token.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface ChildServer {
  url: string;
  proc: ChildProcess;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function startChildServer(opts: {
  databaseUrl: string;
  port: number;
  slot: string;
  collections: CollectionDefinition[];
  /** More options for the config file (JSON only: no functions). */
  extra?: Record<string, unknown>;
  /** More environment (REDIS_URL for a cluster node). */
  env?: Record<string, string>;
}): Promise<ChildServer> {
  const dir = path.join(root, '.syncline', 'scratch');
  mkdirSync(dir, { recursive: true });
  // One file per process (nodes of a cluster share a slot), removed when it exits.
  const config = path.join(dir, `${opts.slot}-${randomUUID().slice(0, 8)}.config.ts`);
  writeFileSync(
    config,
    `export default ${JSON.stringify({
      collections: opts.collections,
      slot: opts.slot,
      publication: opts.slot,
      heartbeatMs: 500,
      host: '127.0.0.1',
      limits: { maxConnectionsPerUser: 10_000, requestsPerSecond: 100_000 },
      ...opts.extra,
    })};\n`,
  );
  const proc = spawn(
    process.execPath,
    // The CLI from source, as in the dev loop: workspace packages resolve to src, not dist.
    [
      '--conditions=@syncline/source',
      '--import',
      'tsx',
      path.join(root, 'packages/server/src/cli.ts'),
      '--config',
      config,
    ],
    {
      cwd: root,
      env: {
        ...process.env,
        DATABASE_URL: opts.databaseUrl,
        PORT: String(opts.port),
        LOG_LEVEL: process.env['TEST_LOG'] ?? 'silent',
        SYNCLINE_JWT_SECRET: TEST_SECRET,
        ...opts.env,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const url = `http://127.0.0.1:${opts.port}`;
  const exited = new Promise<void>((r) =>
    proc.once('exit', () => {
      rmSync(config, { force: true });
      r();
    }),
  );
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}`);
    const ok = await fetch(`${url}/v1/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error('server did not become healthy');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    proc,
    async kill(signal = 'SIGKILL') {
      if (proc.exitCode === null) proc.kill(signal);
      await exited;
    },
  };
}
