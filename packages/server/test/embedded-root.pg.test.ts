/**
 * As root, embedded Postgres runs as the `postgres` user, which must reach the
 * data folder even when the checkout sits under a root-only folder (`mktemp -d`
 * makes them 0700). Not root: nothing to hand over, so nothing to test.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../src/setup/embedded-postgres.ts';
import { freePort } from './free-port.ts';

const asRoot = process.getuid?.() === 0;
if (!asRoot) console.log('embedded-root: not running as root; the postgres-user handover is not exercised');

describe.runIf(asRoot)('embedded PostgreSQL as root', () => {
  it('starts with its data under a 0700 root-owned folder, granting search only', async () => {
    const closed = mkdtempSync(path.join(os.tmpdir(), 'syncline-0700-'));
    expect(statSync(closed).mode & 0o777).toBe(0o700);
    const port = await freePort();
    const running = await startEmbeddedPostgres({ dataDir: path.join(closed, 'pg', 'data'), port });
    try {
      const client = new pg.Client({ connectionString: running.url });
      await client.connect();
      const { rows } = await client.query<{ wal_level: string }>('SHOW wal_level');
      await client.end();
      expect(rows[0]?.wal_level).toBe('logical');
      expect(statSync(closed).mode & 0o777).toBe(0o701);
    } finally {
      await running.stop();
      rmSync(closed, { recursive: true, force: true });
    }
  });
});
