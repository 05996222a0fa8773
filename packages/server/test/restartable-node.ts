/**
 * One Syncline node in a child process over its own test database, for the
 * files that kill and restart it under connected clients: the database (with
 * the counter row), the node on a port that stays the same across restarts,
 * the clients, and cleanup after the file.
 *
 *   const node = restartableNode();
 *   it('…', async () => {
 *     const { db, clients } = node;
 *     let server = await node.start();
 *     await server.kill('SIGKILL');
 *     server = await node.restart();
 *   });
 */
import { afterAll, beforeAll } from 'vitest';
import { startChildServer, type ChildServer } from './child-server.ts';
import type { WatchedClient } from './client-harness.ts';
import { COLLECTIONS, SCHEMA } from './fixtures.ts';
import { freePort } from './free-port.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';

export interface RestartableNode {
  /** Set before the file's tests run. */
  readonly db: TestDatabase;
  readonly clients: WatchedClient[];
  /** Starts the node on a free port (once per file). */
  start(): Promise<ChildServer>;
  /** Starts it again on the same port and slot (after a kill). */
  restart(): Promise<ChildServer>;
}

export function restartableNode(schema: string = SCHEMA): RestartableNode {
  let db: TestDatabase | undefined;
  let server: ChildServer | undefined;
  let opts: Parameters<typeof startChildServer>[0] | undefined;
  const clients: WatchedClient[] = [];
  beforeAll(async () => {
    db = await createTestDatabase(schema);
    await db.query('INSERT INTO counter (id, n) VALUES (1, 0)');
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.client.close()));
    await server?.kill();
    await db?.drop();
  });
  return {
    get db() {
      if (!db) throw new Error('restartableNode: the database is made in beforeAll');
      return db;
    },
    clients,
    async start() {
      const d = this.db;
      opts = { databaseUrl: d.url, port: await freePort(), slot: d.slot, collections: COLLECTIONS };
      return (server = await startChildServer(opts));
    },
    async restart() {
      if (!opts) throw new Error('restartableNode: start() first');
      return (server = await startChildServer(opts));
    },
  };
}
