/**
 * The demo page in real Chromium: it shows orders_active, and a status change
 * made with plain SQL moves the card to its new column without a reload.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SynclineServer } from '@syncline/server';
import { startDemoTestServer } from './testing/demo-test-server.ts';
import { chromiumMissing, launchChromium } from '../../../packages/server/test/chromium.ts';
import { type TestDatabase } from '../../../packages/server/test/test-database.ts';
import { DEV_SECRET } from './demo-auth.ts';
import { demoRoutes } from './page.ts';

const missing = chromiumMissing();

// Skipped only when Chromium is not installed (the reason is printed); CI installs it.
describe.skipIf(missing !== null)('demo page in Chromium', () => {
  let db: TestDatabase;
  let server: SynclineServer;
  let browser: Browser;

  beforeAll(async () => {
    ({ db, server } = await startDemoTestServer({ auth: { jwtSecret: DEV_SECRET }, fallback: demoRoutes(DEV_SECRET) }));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await db?.drop();
  });

  it('shows active orders by status and moves a card live when SQL changes it', async () => {
    const page = await browser.newPage();
    await page.goto(server.url);
    const column = (n: number) => page.locator(`section:nth-child(${n}) .card`);
    await expect.poll(() => column(1).count()).toBe(4); // pending
    await expect.poll(() => column(2).count()).toBe(4); // accepted
    const pending = await db.query<{ id: string; title: string }>(
      `SELECT id, title FROM "order" WHERE status = 'pending' ORDER BY title LIMIT 1`,
    );
    const title = pending.rows[0]?.title as string;
    await db.query(`UPDATE "order" SET status = 'accepted' WHERE id = $1`, [pending.rows[0]?.id]);
    await expect.poll(() => column(1).count()).toBe(3);
    await expect.poll(() => column(2).count()).toBe(5);
    expect(await column(2).allTextContents()).toContainEqual(expect.stringContaining(title));
    await db.query(`UPDATE "order" SET status = 'delivered' WHERE id = $1`, [pending.rows[0]?.id]); // leaves orders_active
    await expect.poll(() => column(2).count()).toBe(4);
    await page.close();
  });
});
