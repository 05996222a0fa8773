/**
 * `npm run start:cluster`: the demo as three nodes over one Redis, behind a
 * round-robin front on :4000 (development only). Kill a node (its pid is
 * printed) and the board carries on: its clients reconnect through the front
 * to another node and resume from their cursors; kill the one that captures
 * and another takes capture over.
 *
 * Needs Debian's `redis-server` on the PATH (apt-get install redis-server).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedPostgres, type RunningPostgres } from '@syncline/server';
import { startRoundRobin } from './round-robin.ts';
import { ensureDatabase } from './ensure-database.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const FRONT = Number(process.env['PORT'] ?? 4000);
const NODES = [FRONT + 1, FRONT + 2, FRONT + 3];
const REDIS_PORT = Number(process.env['SYNCLINE_REDIS_PORT'] ?? 6390);

async function main(): Promise<void> {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    console.error('redis-server is not installed. On Debian: apt-get install redis-server (or use REDIS_URL).');
    process.exit(2);
  }
  const children: ChildProcess[] = [];
  let embedded: RunningPostgres | null = null;
  let databaseUrl = process.env['DATABASE_URL'];
  if (!databaseUrl) {
    const pgPort = Number(process.env['SYNCLINE_PG_PORT'] ?? 54329);
    embedded = await startEmbeddedPostgres({ dataDir: path.join(root, '.syncline', 'demo-pg'), port: pgPort });
    databaseUrl = await ensureDatabase(embedded.url, 'syncline_demo');
  }
  let redisUrl = process.env['REDIS_URL'];
  if (!redisUrl) {
    const dir = path.join(root, '.syncline', 'demo-redis');
    mkdirSync(dir, { recursive: true });
    // AOF with fsync every write: a Redis restart keeps the shared log, so clients do not resync.
    const redis = spawn(
      'redis-server',
      [
        '--port',
        String(REDIS_PORT),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--save',
        '',
      ],
      { stdio: 'ignore' },
    );
    children.push(redis);
    redisUrl = `redis://127.0.0.1:${REDIS_PORT}`;
    console.log(`redis-server on ${redisUrl} (pid ${redis.pid}, data in .syncline/demo-redis)`);
  }
  // One at a time: each node applies the demo schema, and only the first runs the simulated dispatcher.
  for (const [i, port] of NODES.entries()) {
    // Like `npm start`: workspace packages resolve to their sources, not dist.
    const main = path.join(root, 'examples/dispatch/src/main.ts');
    const node = spawn(process.execPath, ['--conditions=@syncline/source', '--import', 'tsx', main], {
      cwd: root,
      env: {
        ...process.env,
        PORT: String(port),
        DATABASE_URL: databaseUrl,
        REDIS_URL: redisUrl,
        LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'warn',
        ...(i > 0 ? { SYNCLINE_DEMO_ACTIVITY: '0' } : {}),
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(node);
    await healthy(port);
    console.log(`node ${i + 1} on :${port} (pid ${node.pid})`);
  }
  const front = await startRoundRobin(FRONT, NODES);
  console.log(`\nThe cluster demo is running: open http://localhost:${FRONT}/ (round-robin over ${NODES.join(', ')}).`);
  console.log('Kill a node with `kill <pid>` (or -9) and watch the board carry on. Ctrl-C stops everything.');

  const shutdown = async () => {
    front.close();
    for (const c of children.reverse()) c.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1_000));
    await embedded?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());
}

async function healthy(port: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/v1/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`node on :${port} did not become ready`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

main().catch((err: unknown) => {
  console.error(`The cluster demo could not start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
