/** Starts a Syncline server on a test database with a quiet logger. */
import pino from 'pino';
import type { CollectionDefinition } from '../src/collections/collection-config.ts';
import type { SynclineOptions } from '../src/config.ts';
import type { SynclineServer } from '../src/server.ts';
import { startSyncline } from '../src/server.ts';
import type { TestDatabase } from './test-database.ts';
import { TEST_SECRET } from './test-token.ts';

export function startTestServer(
  db: TestDatabase,
  collections: CollectionDefinition[],
  extra: Partial<SynclineOptions> = {},
): Promise<SynclineServer> {
  return startSyncline({ port: 0, host: '127.0.0.1', ...testOptions(db, collections, extra) });
}

/** The options every test server shares (no port: a mounted Syncline takes them as they are). */
export function testOptions(
  db: TestDatabase,
  collections: CollectionDefinition[],
  extra: Partial<SynclineOptions> = {},
): SynclineOptions {
  return {
    databaseUrl: db.url,
    collections,
    slot: db.slot,
    publication: db.slot,
    heartbeatMs: 1_000,
    logger: pino({ level: process.env['TEST_LOG'] ?? 'silent' }),
    auth: { jwtSecret: TEST_SECRET },
    ...extra,
    // Tests open many streams as one user in quick succession; tests of the limits set them low.
    limits: { maxConnectionsPerUser: 10_000, requestsPerSecond: 100_000, messagesPerSecond: 100_000, ...extra.limits },
  };
}
