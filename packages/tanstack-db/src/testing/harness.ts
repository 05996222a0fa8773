/** A Syncline server on a fresh database, and TanStack DB collections over its clients (tests only). */
import { SyncClient, type WebSocketConstructor } from '@syncline/client';
import { createCollection, type SyncConfig } from '@tanstack/db';
import WebSocket from 'ws';
import type { SynclineOptions } from '../../../server/src/config.ts';
import type { SynclineServer } from '../../../server/src/server.ts';
import { COLLECTIONS, SCHEMA } from '../../../server/test/fixtures.ts';
import { createTestDatabase, type TestDatabase } from '../../../server/test/test-database.ts';
import { startTestServer } from '../../../server/test/test-server.ts';
import { testToken } from '../../../server/test/test-token.ts';
import { synclineCollectionOptions, type SynclineCollectionOptions } from '../syncline-collection-options.ts';

export interface Item extends Record<string, unknown> {
  id: string;
  status: string;
  owner: string | null;
  body: string | null;
  version: number;
}
export interface Note extends Record<string, unknown> {
  id: number;
  item_id: string | null;
  body: string | null;
  version: number;
}

export interface Env {
  db: TestDatabase;
  server: SynclineServer;
  url: string;
  clients: SyncClient[];
  client(transport?: 'ws' | 'sse'): SyncClient;
  stop(): Promise<void>;
}

export async function startEnv(): Promise<Env> {
  const db = await createTestDatabase(SCHEMA);
  const writes: SynclineOptions['writes'] = {
    item: { insert: true, update: true, delete: true },
    note: { insert: true },
  };
  const server = await startTestServer(db, COLLECTIONS, { writes });
  const url = server.url;
  const clients: SyncClient[] = [];
  return {
    db,
    server,
    url,
    clients,
    client(transport = 'ws') {
      const c = new SyncClient({
        url,
        token: () => testToken('tanstack-user'),
        transport,
        WebSocket: WebSocket as unknown as WebSocketConstructor,
        backoff: { baseMs: 50, maxMs: 300 },
      });
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients.splice(0)) await c.close();
      await server.stop();
      await db.drop();
    },
  };
}

/** What the collection's sync did, one entry per call, to count transactions. */
export interface SyncLog {
  begins: number;
  commits: number;
  truncates: number;
  /** Keys written in each committed transaction. */
  batches: Array<Array<string | number>>;
}

/** synclineCollectionOptions with its sync callbacks counted. */
export function countedCollection<T extends Record<string, unknown>, K extends string | number>(
  options: SynclineCollectionOptions<T, K>,
) {
  const config = synclineCollectionOptions(options);
  const log: SyncLog = { begins: 0, commits: 0, truncates: 0, batches: [] };
  const inner = config.sync.sync;
  const sync: SyncConfig<T, K>['sync'] = (params) => {
    let batch: Array<string | number> = [];
    return inner({
      ...params,
      begin: () => {
        log.begins++;
        batch = [];
        params.begin();
      },
      write: (m) => {
        batch.push('key' in m ? m.key : options.getKey(m.value as T));
        params.write(m);
      },
      commit: (signal) => {
        log.commits++;
        log.batches.push(batch);
        return params.commit(signal);
      },
      truncate: (o) => {
        log.truncates++;
        params.truncate(o);
      },
    });
  };
  const collection = createCollection({ ...config, sync: { ...config.sync, sync }, startSync: true, gcTime: 0 });
  return { collection, log };
}

export async function eventually(check: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
