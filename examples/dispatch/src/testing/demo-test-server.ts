/**
 * The demo as the tests need it: a fresh database with the demo's schema,
 * seed data and RLS policies, and a server with the demo's collections,
 * rooms, mutators and write rules, running as the demo's role.
 */
import { startTestServer } from '../../../../packages/server/test/test-server.ts';
import type { SynclineOptions } from '../../../../packages/server/src/config.ts';
import type { SynclineServer } from '../../../../packages/server/src/server.ts';
import { createTestDatabase, type TestDatabase } from '../../../../packages/server/test/test-database.ts';
import { demoCollections } from '../collections.ts';
import { demoMutators } from '../mutators.ts';
import { demoRooms } from '../rooms.ts';
import { DEMO_RLS, DEMO_ROLE } from '../rls.ts';
import { DEMO_SCHEMA } from '../schema.ts';
import { seedDemo } from '../seed.ts';
import { demoWrites } from '../writes.ts';

export async function startDemoTestServer(
  extra: Partial<SynclineOptions> = {},
): Promise<{ db: TestDatabase; server: SynclineServer }> {
  const db = await createTestDatabase(DEMO_SCHEMA);
  await seedDemo(db.pool);
  await db.query(DEMO_RLS);
  const server = await startTestServer(db, demoCollections, {
    mutators: demoMutators,
    writes: demoWrites,
    rooms: demoRooms,
    db: { role: DEMO_ROLE },
    ...extra,
  });
  return { db, server };
}
