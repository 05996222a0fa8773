/** For the pg tests: a real server on a fresh database, clients for it, and mounting under a client. */
import { flushSync, mount, unmount, type Component } from 'svelte';
import WebSocket from 'ws';
import { MemoryLocalStore, SyncClient, type LocalStore, type WebSocketConstructor } from '@syncline/client';
import type { SynclineOptions } from '../../../server/src/config.ts';
import type { SynclineServer } from '../../../server/src/server.ts';
import { COLLECTIONS, SCHEMA } from '../../../server/test/fixtures.ts';
import { freePort } from '../../../server/test/free-port.ts';
import { createTestDatabase, type TestDatabase } from '../../../server/test/test-database.ts';
import { startTestServer } from '../../../server/test/test-server.ts';
import { testToken } from '../../../server/test/test-token.ts';
import WithClient from './WithClient.svelte';

export { eventually } from '../../../server/test/client-harness.ts';

const writes: NonNullable<SynclineOptions['writes']> = { item: { insert: true, update: true, delete: true } };
/** One open room for the presence test. */
const rooms: NonNullable<SynclineOptions['rooms']> = [{ name: 'lobby' }];

export interface PgApp {
  db: TestDatabase;
  port: number;
  server: SynclineServer | null;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** A client of this server, as `user` (default `svelte-user`). */
  client(store?: LocalStore, user?: string): Promise<SyncClient>;
  end(): Promise<void>;
}

export async function startPgApp(): Promise<PgApp> {
  const db = await createTestDatabase(SCHEMA);
  const clients: SyncClient[] = [];
  const app: PgApp = {
    db,
    port: await freePort(),
    server: null,
    async start() {
      app.server = await startTestServer(db, COLLECTIONS, { port: app.port, writes, rooms });
    },
    async stop() {
      await app.server?.stop();
      app.server = null;
    },
    async client(store, user = 'svelte-user') {
      const c = await SyncClient.open({
        url: `http://127.0.0.1:${app.port}`,
        token: () => testToken(user),
        transport: 'ws',
        WebSocket: WebSocket as unknown as WebSocketConstructor,
        store: store ?? (await MemoryLocalStore.open()),
        backoff: { baseMs: 50, maxMs: 300 },
      });
      clients.push(c);
      return c;
    },
    async end() {
      for (const c of clients) await c.close();
      await app.stop();
      await db.drop();
    },
  };
  await app.start();
  return app;
}

export interface Mounted {
  target: HTMLElement;
  $(selector: string): HTMLElement;
  unmount(): Promise<void>;
}

/** Mounts `view` with `props` under `setSynclineClient(client)`. */
export function mountWith(
  client: SyncClient,
  view: Component<Record<string, unknown>>,
  props: Record<string, unknown>,
  lingerMs = 1_000,
): Mounted {
  const target = document.createElement('div');
  document.body.append(target);
  const app = mount(WithClient, { target, props: { client, view, lingerMs, ...props } });
  flushSync();
  return {
    target,
    $(selector) {
      const el = target.querySelector<HTMLElement>(selector);
      if (el === null) throw new Error(`no ${selector} in ${target.innerHTML}`);
      return el;
    },
    async unmount() {
      await unmount(app);
      target.remove();
    },
  };
}

export function key(target: EventTarget, k: string, mods: KeyboardEventInit = {}): void {
  target.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true, cancelable: true, ...mods }));
}
