/**
 * Reload in real Chromium with real IndexedDB: the page shows the stored rows
 * while the sync API is unreachable, then catches up when it is back.
 * The client is bundled and served with the page (testing/chromium-app.ts).
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SynclineServer } from '../../server/src/server.ts';
import { chromiumMissing, launchChromium } from '../../server/test/chromium.ts';
import { COLLECTIONS, SCHEMA } from '../../server/test/fixtures.ts';
import { createTestDatabase, type TestDatabase } from '../../server/test/test-database.ts';
import { serveClientPage } from './testing/chromium-app.ts';
import { testToken } from '../../server/test/test-token.ts';

const missing = chromiumMissing();

const page = (token: string) => `<!doctype html><meta charset="utf-8"><body><script type="module">
import { IdbLocalStore, SyncClient } from '/client.js';
const store = await IdbLocalStore.open({ namespace: 'chromium-reload' });
// SSE: every sync request is a fetch, so blocking /v1 in the test really cuts the network.
const client = await SyncClient.open({ url: location.origin, token: ${JSON.stringify(token)}, store, transport: 'sse', backoff: { baseMs: 100, maxMs: 500 } });
const sub = client.subscribe({ id: 'all', collection: 'items_all' });
window.sync = {
  count: () => sub.rows().length,
  status: () => sub.status,
  body: (id) => sub.get(id)?.body ?? null,
  flush: () => client.flushStorage(),
};
</script>`;

// Skipped only when Chromium is not installed (the reason is printed); CI installs it.
describe.skipIf(missing !== null)('reload in Chromium', () => {
  let db: TestDatabase;
  let server: SynclineServer;
  let browser: Browser;

  beforeAll(async () => {
    db = await createTestDatabase(SCHEMA);
    await db.query(`INSERT INTO item (id, status, body) SELECT 'c' || g, 'open', 'v1' FROM generate_series(1, 200) g`);
    server = await serveClientPage(db, COLLECTIONS, page(testToken('chromium-user')));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await db?.drop();
  });

  it('shows stored rows with the sync API unreachable, then resumes and catches up', async () => {
    const context = await browser.newContext();
    const tab = await context.newPage();
    await tab.goto(server.url);
    await tab.waitForFunction(() => (window as unknown as { sync?: { count(): number } }).sync?.count() === 200);
    await tab.evaluate(() => (window as unknown as { sync: { flush(): Promise<void> } }).sync.flush());

    // The network to the sync API is down; the page itself still loads.
    await tab.route('**/v1/**', (route) => route.abort());
    await tab.reload();
    await tab.waitForFunction(() => (window as unknown as { sync?: { count(): number } }).sync?.count() === 200);
    expect(await tab.evaluate(() => (window as unknown as { sync: { status(): string } }).sync.status())).toBe('live');

    await db.query(`UPDATE item SET body = 'v2' WHERE id = 'c7'`);
    await tab.unroute('**/v1/**');
    await tab.waitForFunction(
      () => (window as unknown as { sync: { body(id: string): string } }).sync.body('c7') === 'v2',
      undefined,
      { timeout: 20_000 },
    );
    await context.close();
  });
});
