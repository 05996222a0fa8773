/**
 * A real redis-server for a suite, on a free port, with the persistence the
 * suite tests (none by default). Suites call `redisMissing()` and skip, saying
 * why, when it is not installed; `.ci/run` installs it, so CI never skips.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.ts';

export function redisMissing(): string | null {
  if (spawnSync('redis-server', ['--version']).status === 0) return null;
  const why = 'redis-server not found: multi-node tests skipped (apt-get install redis-server, or run .ci/run)';
  console.warn(why);
  return why;
}

export interface RunningRedis {
  url: string;
  port: number;
  /** Stops it; its data directory stays for a later start() (persistence tests). */
  stop(): Promise<void>;
  /** Stops it for good and removes its data directory. */
  remove(): Promise<void>;
  /** Started again on the same port and folder (what persistence kept, it still has). */
  start(): Promise<void>;
}

/** No persistence by default; pass e.g. `['--appendonly', 'yes', '--appendfsync', 'always']` for AOF. */
export async function startRedis(args: string[] = ['--save', '', '--appendonly', 'no']): Promise<RunningRedis> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'syncline-redis-'));
  let proc: ChildProcess | null = null;
  const start = async () => {
    const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, ...args], {
      stdio: 'ignore',
    });
    proc = p;
    const deadline = Date.now() + 10_000;
    while (!(await answers(port))) {
      if (p.exitCode !== null) throw new Error(`redis-server exited with ${p.exitCode}`);
      if (Date.now() > deadline) throw new Error('redis-server did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await start();
  const stop = () =>
    new Promise<void>((resolve) => {
      const p = proc as ChildProcess | null;
      if (!p || p.exitCode !== null) return resolve();
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    stop,
    remove: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('PING\r\n'));
    s.once('data', (d) => {
      s.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    s.once('error', () => resolve(false));
  });
}
