/**
 * A Svelte app in real Chromium: a list from createSyncline + subscription +
 * query, updated by a SQL write to the database (testing/browser-app.ts bundles it).
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SynclineServer } from '../../server/src/server.ts';
import { chromiumMissing, launchChromium } from '../../server/test/chromium.ts';
import { COLLECTIONS, SCHEMA } from '../../server/test/fixtures.ts';
import { createTestDatabase, type TestDatabase } from '../../server/test/test-database.ts';
import { testToken } from '../../server/test/test-token.ts';
import { serveSvelteApp } from './testing/browser-app.ts';

const missing = chromiumMissing();

// Skipped only when Chromium is not installed (the reason is printed); CI installs it.
describe.skipIf(missing !== null)('a Svelte app in Chromium', () => {
  let db: TestDatabase;
  let server: SynclineServer;
  let browser: Browser;

  beforeAll(async () => {
    db = await createTestDatabase(SCHEMA);
    await db.query(`INSERT INTO item (id, status, body) VALUES ('i1', 'open', 'one'), ('i2', 'open', 'two')`);
    server = await serveSvelteApp(db, COLLECTIONS, testToken('svelte-chromium'));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await db?.drop();
  });

  it('renders the rows and follows a SQL write', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    const items = () => page.locator('ul[data-status="live"] li').allTextContents();
    await expect.poll(items, { timeout: 20_000 }).toEqual(['i1:one', 'i2:two']);

    await db.query(`UPDATE item SET body = 'uno', version = version + 1 WHERE id = 'i1'`);
    await db.query(`INSERT INTO item (id, status, body) VALUES ('i3', 'open', 'three')`);
    await db.query(`UPDATE item SET status = 'closed', version = version + 1 WHERE id = 'i2'`);
    await expect.poll(items, { timeout: 20_000 }).toEqual(['i1:uno', 'i3:three']);
    expect(errors).toEqual([]);
    await page.close();
  });
});
