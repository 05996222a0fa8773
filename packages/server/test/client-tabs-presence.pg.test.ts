/**
 * Presence from two tabs sharing one connection (one lock manager and one
 * BroadcastChannel name, as two tabs of an origin have): the follower's meta
 * rides the leader's connection under its own tab key, so another user sees
 * one key with two metas; both tabs see the room; the follower's tab closing
 * removes its meta after the grace period and the key stays.
 */
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { IdbLocalStore, MemoryTabLocks, SyncClient, type WebSocketConstructor } from '@syncline/client';
import type { SynclineServer } from '../src/server.ts';
import { eventually } from './client-harness.ts';
import { COLLECTIONS, SCHEMA } from './fixtures.ts';
import { presenceView, statesOf } from './presence-view.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';
import { startTestServer } from './test-server.ts';
import { testToken } from './test-token.ts';
import { WsReader, wsUrl } from './ws-reader.ts';

let db: TestDatabase;
let server: SynclineServer;
beforeAll(async () => {
  db = await createTestDatabase(SCHEMA);
  server = await startTestServer(db, COLLECTIONS, { rooms: [{ name: 'lobby' }], limits: { presenceGraceMs: 500 } });
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

it('two tabs of one user are one key with two metas on one connection; a closed tab’s meta leaves, the key stays', async () => {
  const idb = new IDBFactory();
  const locks = new MemoryTabLocks();
  const open = async () =>
    SyncClient.open({
      url: server.url,
      token: () => testToken('tab-user'),
      transport: 'ws',
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      store: await IdbLocalStore.open({ namespace: 'presence-tabs', indexedDB: idb }),
      backoff: { baseMs: 50, maxMs: 300 },
      tabs: { locks, channel: (name) => new BroadcastChannel(name) },
    });
  const a = await open();
  const b = await open();
  expect([a.tabRole, b.tabRole]).toEqual(['leader', 'follower']);
  const watcher = new WsReader(wsUrl(server.url, 'watcher', testToken('watcher')));
  await watcher.until((r) => r.of('hello').length === 1);
  watcher.send({ type: 'PRESENCE_SET', room: 'lobby', state: {} });

  const ra = a.presence('lobby', {}, { tab: 'a' });
  const rb = b.presence('lobby', {}, { tab: 'b' });
  await watcher.until((r) => presenceView(r, 'lobby').users.get('tab-user')?.size === 2, 10_000, 'two metas');
  const health = (await (await fetch(`${server.url}/v1/health`)).json()) as { connections: { ws: number } };
  expect(health.connections.ws).toBe(2); // the two tabs' one connection, and the watcher's
  const metasIn = (r: typeof ra) => r.members().find((m) => m.user === 'tab-user')?.metas.length;
  await eventually(() => metasIn(ra) === 2 && metasIn(rb) === 2, 10_000, 'both tabs see both metas');

  rb.set({ tab: 'b', typing: true });
  await watcher.until((r) =>
    statesOf(presenceView(r, 'lobby'), 'tab-user').some((s) => JSON.stringify(s).includes('typing')),
  );

  await b.close();
  await watcher.until((r) => presenceView(r, 'lobby').users.get('tab-user')?.size === 1, 10_000, 'one meta left');
  expect(statesOf(presenceView(watcher, 'lobby'), 'tab-user')).toEqual([{ tab: 'a' }]);
  await eventually(() => metasIn(ra) === 1, 10_000, 'the leader sees one');
  watcher.close();
  await a.close();
});
