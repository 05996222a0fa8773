/**
 * A real server on a fresh test database, and client options for it: what the
 * `*.pg.test.ts` files of this package render against.
 */
import WebSocket from 'ws';
import type { SyncClientOptions, WebSocketConstructor } from '@syncline/client';
import type { SynclineOptions } from '../../../server/src/config.ts';
import type { SynclineServer } from '../../../server/src/server.ts';
import { COLLECTIONS, SCHEMA } from '../../../server/test/fixtures.ts';
import { freePort } from '../../../server/test/free-port.ts';
import { createTestDatabase, type TestDatabase } from '../../../server/test/test-database.ts';
import { startTestServer } from '../../../server/test/test-server.ts';
import { testToken } from '../../../server/test/test-token.ts';

export { eventually } from '../../../server/test/client-harness.ts';

export interface PgApp {
  db: TestDatabase;
  readonly server: SynclineServer | null;
  url: string;
  /** Options for a client of this server (WebSocket, quick reconnects). */
  options(extra?: Partial<SyncClientOptions>): SyncClientOptions;
  stop(): Promise<void>;
  /** Starts the server again on the same port (after `stop`). */
  start(): Promise<void>;
  close(): Promise<void>;
}

const writes: NonNullable<SynclineOptions['writes']> = { item: { insert: true, update: true, delete: true } };
/** One open room for the presence test. */
const rooms: NonNullable<SynclineOptions['rooms']> = [{ name: 'lobby' }];

export async function startPgApp(): Promise<PgApp> {
  const db = await createTestDatabase(SCHEMA);
  const port = await freePort();
  let server: SynclineServer | null = await startTestServer(db, COLLECTIONS, { port, writes, rooms });
  const url = `http://127.0.0.1:${port}`;
  return {
    db,
    get server() {
      return server;
    },
    url,
    options: (extra = {}) => ({
      url,
      token: () => testToken('react-user'),
      transport: 'ws',
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      backoff: { baseMs: 50, maxMs: 300 },
      tabs: false,
      ...extra,
    }),
    async stop() {
      await server?.stop();
      server = null;
    },
    async start() {
      server = await startTestServer(db, COLLECTIONS, { port, writes, rooms });
    },
    async close() {
      await server?.stop();
      await db.drop();
    },
  };
}
