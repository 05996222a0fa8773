/**
 * Setup against a user's own server: clear failures for wal_level and missing
 * REPLICATION rights; idempotent install that touches only what it documents.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSyncline } from '../src/server.ts';
import { startEmbeddedPostgres } from '../src/setup/embedded-postgres.ts';
import { COLLECTIONS, SCHEMA } from './fixtures.ts';
import { freePort } from './free-port.ts';
import { TEST_SECRET } from './test-token.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const quiet = pino({ level: 'silent' });
const auth = { jwtSecret: TEST_SECRET };
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(SCHEMA);
});
afterAll(async () => {
  await db?.drop();
});

describe('setup checks', () => {
  it('refuses a user without REPLICATION, saying how to fix it', async () => {
    const role = `norep_${db.name}`;
    await db.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw' NOREPLICATION`);
    try {
      const u = new URL(db.url);
      u.username = role;
      u.password = 'pw';
      await expect(
        startSyncline({
          databaseUrl: u.toString(),
          collections: COLLECTIONS,
          port: 0,
          logger: quiet,
          auth,
          slot: db.slot,
        }),
      ).rejects.toThrow(/lacks the REPLICATION attribute.*ALTER ROLE/);
    } finally {
      await db.query(`DROP ROLE ${role}`);
    }
  });

  it('refuses wal_level other than logical, saying how to fix it', async () => {
    const port = await freePort();
    const pg = await startEmbeddedPostgres({
      dataDir: path.join(root, '.syncline', 'test-pg', `replica-${port}`),
      port,
      settings: { wal_level: 'replica' },
    });
    try {
      await expect(
        startSyncline({ databaseUrl: pg.url, collections: COLLECTIONS, port: 0, logger: quiet, auth }),
      ).rejects.toThrow(/wal_level is 'replica'.*ALTER SYSTEM SET wal_level = logical/);
    } finally {
      await pg.stop();
    }
  }, 60_000);

  it('names the missing version column of a synced table', async () => {
    await db.query('CREATE TABLE plain (id int PRIMARY KEY)');
    await expect(
      startSyncline({
        databaseUrl: db.url,
        collections: [{ name: 'plain', table: 'plain' }],
        port: 0,
        logger: quiet,
        auth,
        slot: `${db.slot}_v`,
        publication: `${db.slot}_v`,
      }),
    ).rejects.toThrow(/public\.plain needs a version column/);
  });

  it('installs idempotently: publication, REPLICA IDENTITY FULL, version trigger', async () => {
    for (let i = 0; i < 2; i++) {
      const s = await startSyncline({
        databaseUrl: db.url,
        collections: COLLECTIONS,
        port: 0,
        logger: quiet,
        auth,
        slot: db.slot,
        publication: db.slot,
      });
      await s.stop();
    }
    const pub = await db.query<{ t: string }>(
      `SELECT tablename AS t FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1`,
      [db.slot],
    );
    expect(pub.rows.map((r) => r.t)).toEqual(['counter', 'item', 'note']);
    const ident = await db.query<{ r: string }>(`SELECT relreplident AS r FROM pg_class WHERE relname = 'item'`);
    expect(ident.rows[0]?.r).toBe('f');
    await db.query(`INSERT INTO item (id, status) VALUES ('v', 'open')`);
    await db.query(`UPDATE item SET body = 'b' WHERE id = 'v'`);
    expect((await db.query(`SELECT version FROM item WHERE id = 'v'`)).rows[0]?.version).toBe(2);
  });
});
