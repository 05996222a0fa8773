/**
 * A React app in real Chromium (real IndexedDB, WebSocket, scheduler): a list over a
 * subscription renders the snapshot, then re-renders when a row changes in SQL.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SynclineServer } from '../../server/src/server.ts';
import { chromiumMissing, launchChromium } from '../../server/test/chromium.ts';
import { COLLECTIONS, SCHEMA } from '../../server/test/fixtures.ts';
import { createTestDatabase, type TestDatabase } from '../../server/test/test-database.ts';
import { testToken } from '../../server/test/test-token.ts';
import { serveReactApp } from './testing/chromium-app.ts';

const missing = chromiumMissing();

// Skipped only when Chromium is not installed (the reason is printed).
describe.skipIf(missing !== null)('a React list in Chromium', () => {
  let db: TestDatabase;
  let server: SynclineServer;
  let browser: Browser;

  beforeAll(async () => {
    db = await createTestDatabase(SCHEMA);
    await db.query(`INSERT INTO item (id, status, body) VALUES ('c1', 'open', 'one'), ('c2', 'open', 'two')`);
    server = await serveReactApp(db, COLLECTIONS, testToken('react-chromium'));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await db?.drop();
  });

  it('renders the list and re-renders it on a SQL write', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    const list = () => page.locator('#items').innerText();
    await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'live', null, {
      timeout: 20_000,
    });
    await page.waitForFunction(() => document.querySelectorAll('#items li').length === 2, null, { timeout: 20_000 });
    expect((await list()).split('\n')).toEqual(['c1:one', 'c2:two']);

    const before = await page.evaluate(() => window.renders);
    await db.query(`UPDATE item SET body = 'ONE' WHERE id = 'c1'`);
    await page.waitForFunction(() => document.querySelector('#items li')?.textContent === 'c1:ONE', null, {
      timeout: 20_000,
    });
    await db.query(`UPDATE item SET status = 'done' WHERE id = 'c2'`);
    await page.waitForFunction(() => document.querySelectorAll('#items li').length === 1, null, { timeout: 20_000 });
    const after = await page.evaluate(() => window.renders);
    expect(after - before).toBeLessThanOrEqual(4); // a commit re-renders the list, not the world
    expect(errors).toEqual([]);
    await page.close();
  });
});
