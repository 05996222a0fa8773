/**
 * The dispatch app in real Chromium against the demo's server and PostgreSQL:
 * each role's screen, live updates from other users and from SQL, offline
 * edits, undo/redo, drafts, presence, typing, conflicts. Each test signs in
 * its own browser contexts (fresh IndexedDB), on orders no other test uses.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SynclineServer } from '@syncline/server';
import { startDemoTestServer } from './testing/demo-test-server.ts';
import { chromiumMissing, launchChromium } from '../../../packages/server/test/chromium.ts';
import { type TestDatabase } from '../../../packages/server/test/test-database.ts';
import { DEV_SECRET } from './demo-auth.ts';
import { demoRoutes } from './page.ts';

const missing = chromiumMissing();
const screenshots = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/screenshots');
/** Seeded order n (seed.ts): n = 1, 7, 13, 19 pending; 2, 8, 14, 20 accepted (Olga); 4, 10 delivering (Dmitri). */
const order = (n: number) => `10000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
/** What going offline makes Chromium log by itself: refused sockets and requests, not the app's errors. */
const NETWORK = /ERR_INTERNET_DISCONNECTED|WebSocket connection to|Failed to load resource|net::ERR_/;

describe.skipIf(missing !== null)('the dispatch app in Chromium', () => {
  let db: TestDatabase;
  let server: SynclineServer;
  let browser: Browser;
  let contexts: BrowserContext[] = [];
  let errors: string[] = [];

  beforeAll(async () => {
    ({ db, server } = await startDemoTestServer({ auth: { jwtSecret: DEV_SECRET }, fallback: demoRoutes(DEV_SECRET) }));
    browser = await launchChromium();
  });
  afterEach(async () => {
    for (const c of contexts) await c.close();
    contexts = [];
    errors = [];
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await db?.drop();
  });

  async function open(user: string, width = 1280): Promise<Page> {
    const context = await browser.newContext({ viewport: { width, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(`${user}: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`${user}: ${m.text()}`);
    });
    await page.goto(`${server.url}/?user=${user}`);
    await page.locator('.connection[data-status="online"]').waitFor({ timeout: 20_000 });
    return page;
  }
  const card = (page: Page, n: number, column?: string) =>
    page.locator(`${column ? `.column[data-column="${column}"] ` : ''}.card[data-order="${order(n)}"]`);
  const statusOf = async (n: number) =>
    (await db.query<{ status: string }>(`SELECT status FROM "order" WHERE id = $1`, [order(n)])).rows[0]?.status;
  const versionOf = async (n: number) =>
    (await db.query<{ version: number }>(`SELECT version FROM "order" WHERE id = $1`, [order(n)])).rows[0]?.version;
  const appErrors = () => errors.filter((e) => !NETWORK.test(e));

  it('loads for every role with no console error, and screenshots it at two widths', async () => {
    mkdirSync(screenshots, { recursive: true });
    for (const [user, selector] of [
      ['dana', '.column[data-column="pending"] .card'],
      ['dmitri', '.driver .order-row'],
      ['alice', '.customer .order-row'],
    ] as const) {
      for (const width of [1280, 390]) {
        const page = await open(user, width);
        await page.locator(selector).first().waitFor();
        if (user === 'dana' || width === 390)
          await page.screenshot({ path: path.join(screenshots, `${user}-${width}.png`), fullPage: width === 1280 });
      }
    }
    const dana = await open('dana');
    await expect.poll(() => dana.locator('.column[data-column="pending"] .card').count()).toBe(4);
    await expect.poll(() => dana.locator('.column[data-column="accepted"] .card').count()).toBe(4);
    expect(errors).toEqual([]);
  });

  it('the driver accepts an order and the dispatcher’s card moves; a SQL update moves it on both', async () => {
    const dana = await open('dana');
    const dmitri = await open('dmitri');
    await card(dana, 1, 'pending').waitFor();
    await dmitri.locator(`.order-row[data-order="${order(1)}"] [data-action="accept"]`).click();
    await card(dana, 1, 'accepted').waitFor();
    expect(await statusOf(1)).toBe('accepted');
    const row = dmitri.locator(`.order-row[data-order="${order(1)}"]`);
    await expect.poll(() => row.getAttribute('data-status')).toBe('accepted');

    await db.query(`UPDATE "order" SET status = 'in_progress' WHERE id = $1`, [order(1)]);
    await card(dana, 1, 'in_progress').waitFor();
    await expect.poll(() => row.getAttribute('data-status')).toBe('in_progress');
    await db.query(`UPDATE "order" SET status = 'delivered' WHERE id = $1`, [order(1)]); // leaves the board
    await expect.poll(() => card(dana, 1).count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it('offline: three edits show at once, the banner counts them, and each applies once when back online', async () => {
    const dana = await open('dana');
    await card(dana, 7, 'pending').waitFor();
    const before = await Promise.all([7, 13, 19].map(versionOf));
    await dana.context().setOffline(true);
    await dana.locator('.connection[data-status="offline"]').waitFor();
    for (const n of [7, 13, 19]) await card(dana, n, 'pending').locator('[data-move="forward"]').click();
    for (const n of [7, 13, 19]) await card(dana, n, 'accepted').waitFor({ timeout: 1_000 }); // at once, not from the server
    await expect.poll(() => dana.locator('.banner.offline .queued').textContent()).toBe('3 changes queued');
    expect(await Promise.all([7, 13, 19].map(statusOf))).toEqual(['pending', 'pending', 'pending']);

    await dana.context().setOffline(false);
    await dana.locator('.connection[data-status="online"]').waitFor({ timeout: 20_000 });
    await expect
      .poll(() => Promise.all([7, 13, 19].map(statusOf)), { timeout: 20_000 })
      .toEqual(['accepted', 'accepted', 'accepted']);
    await expect.poll(() => dana.locator('.banner.offline').count()).toBe(0);
    await expect.poll(() => dana.locator('.connection .pending-count').count()).toBe(0);
    expect(await Promise.all([7, 13, 19].map(versionOf))).toEqual(before.map((v) => (v as number) + 1)); // once each
    expect(appErrors()).toEqual([]);
  });

  it('a reload with no network shows the stored board', async () => {
    const dana = await open('dana');
    await card(dana, 2, 'accepted').waitFor();
    await dana.evaluate(() => navigator.serviceWorker.ready.then(() => true)); // the shell is cached
    await dana.context().setOffline(true);
    await dana.reload();
    await dana.locator('.connection[data-status="offline"]').waitFor({ timeout: 20_000 });
    await card(dana, 2, 'accepted').waitFor({ timeout: 10_000 });
    expect(await dana.locator('.card').count()).toBeGreaterThan(8);
    expect(appErrors()).toEqual([]);
  });

  it('undo and redo from the keyboard restore the status in the database', async () => {
    const dana = await open('dana');
    await card(dana, 14, 'accepted').locator('[data-move="forward"]').click();
    await expect.poll(() => statusOf(14), { timeout: 20_000 }).toBe('in_progress');
    await expect.poll(() => dana.locator('.connection .pending-count').count()).toBe(0);
    await dana.keyboard.press('Control+z');
    await card(dana, 14, 'accepted').waitFor();
    await expect.poll(() => statusOf(14), { timeout: 20_000 }).toBe('accepted');
    await expect.poll(() => dana.locator('.connection .pending-count').count()).toBe(0);
    await dana.keyboard.press('Control+Shift+z');
    await card(dana, 14, 'in_progress').waitFor();
    await expect.poll(() => statusOf(14), { timeout: 20_000 }).toBe('in_progress');
    expect(errors).toEqual([]);
  });

  it('a draft order survives a reload, and placing it creates the order', async () => {
    const alice = await open('alice');
    await alice.locator('form.new-order[data-loaded="true"]').waitFor();
    await alice.fill('input[name="title"]', 'Piano');
    await alice.fill('input[name="address"]', '1 Concert Hall');
    await alice.fill('input[name="total"]', '499.99');
    // Drafts are written as you type, asynchronously: reload once the last write has landed.
    await alice.locator('form.new-order[data-saved="true"]').waitFor();
    await alice.reload();
    await alice.locator('form.new-order[data-loaded="true"]').waitFor();
    expect(await alice.inputValue('input[name="title"]')).toBe('Piano');
    expect(await alice.inputValue('input[name="address"]')).toBe('1 Concert Hall');
    expect(await alice.inputValue('input[name="total"]')).toBe('499.99');
    await alice.click('button[type="submit"]');
    await alice.locator('.customer .order-row[data-title="Piano"][data-status="pending"]').waitFor({ timeout: 20_000 });
    expect(await alice.inputValue('input[name="title"]')).toBe('');
    // The row shows from the prediction at once: the database has it once the server answered.
    await expect
      .poll(async () => (await db.query(`SELECT status FROM "order" WHERE title = 'Piano'`)).rows, { timeout: 20_000 })
      .toEqual([{ status: 'pending' }]);
    expect(errors).toEqual([]);
  });

  it('presence: a driver shows online to the dispatcher and goes when the page closes', async () => {
    const dana = await open('dana');
    const item = dana.locator('.drivers-online li[data-driver="Olga"]');
    const olgaOnline = async () => ((await item.getAttribute('class')) ?? '').split(' ').includes('online');
    await expect.poll(olgaOnline).toBe(false);
    const driver = await open('olga');
    await expect.poll(olgaOnline, { timeout: 20_000 }).toBe(true);
    await driver.close();
    await expect.poll(olgaOnline, { timeout: 20_000 }).toBe(false);
    expect(errors).toEqual([]);
  });

  it('the typing indicator shows in the other user’s chat, and the message arrives', async () => {
    const bob = await open('bob'); // order 4: Bob's, delivered by Dmitri, with a chat
    const dmitri = await open('dmitri');
    for (const page of [bob, dmitri]) {
      await page.locator(`.order-row[data-order="${order(4)}"] button:has-text("Chat")`).click();
      await page.locator('.chat').waitFor();
    }
    await expect.poll(() => bob.locator('.viewers').textContent(), { timeout: 20_000 }).toContain('Dmitri');
    await dmitri.locator('.chat input').pressSequentially('Almost there', { delay: 30 });
    await expect
      .poll(() => bob.locator('.chat .typing').textContent(), { timeout: 10_000 })
      .toContain('Dmitri is typing');
    await dmitri.locator('.chat input').press('Enter');
    await bob.locator('.chat .messages li:has-text("Almost there")').waitFor({ timeout: 20_000 });
    expect(errors).toEqual([]);
  });

  it('a conflict: the dispatcher’s stale move is rolled back and says what changed', async () => {
    const dana = await open('dana');
    const olga = await open('olga');
    await card(dana, 8, 'accepted').waitFor();
    await dana.context().setOffline(true);
    await dana.locator('.connection[data-status="offline"]').waitFor();
    await card(dana, 8, 'accepted').locator('[data-move="back"]').click();
    await card(dana, 8, 'pending').waitFor({ timeout: 1_000 });
    // Meanwhile Olga, its driver, starts the delivery.
    await olga.locator(`.order-row[data-order="${order(8)}"] [data-action="advance"]`).click();
    await expect.poll(() => statusOf(8), { timeout: 20_000 }).toBe('in_progress');

    await dana.context().setOffline(false);
    const toast = dana.locator('.toast.error');
    await expect
      .poll(() => toast.textContent(), { timeout: 20_000 })
      .toContain('was changed by someone else: it is now In progress, driver Olga. Your change was rolled back.');
    await card(dana, 8, 'in_progress').waitFor({ timeout: 20_000 });
    expect(await statusOf(8)).toBe('in_progress');
    expect(appErrors()).toEqual([]);
  });

  it('a card dragged onto another column moves there, in the database too', async () => {
    const dana = await open('dana');
    await card(dana, 20, 'accepted').waitFor();
    // Grabbed by its corner, as a hand would: a press on its driver select opens the select instead.
    await card(dana, 20).dragTo(dana.locator('.column[data-column="in_progress"]'), { sourcePosition: { x: 6, y: 6 } });
    await card(dana, 20, 'in_progress').waitFor({ timeout: 1_000 }); // at once
    await expect.poll(() => statusOf(20), { timeout: 20_000 }).toBe('in_progress');
    expect(errors).toEqual([]);
  });

  it('two tabs share one connection; a change in either shows in both', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    const sockets: string[] = [];
    const tab = async (name: string) => {
      const page = await context.newPage();
      page.on('websocket', (ws) => sockets.push(`${name} ${ws.url()}`));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(`${name}: ${m.text()}`);
      });
      await page.goto(`${server.url}/?user=dana`);
      await page.locator('.connection[data-status="online"]').waitFor({ timeout: 20_000 });
      await card(page, 21, 'in_progress').waitFor();
      return page;
    };
    const first = await tab('first');
    const second = await tab('second');
    await card(second, 21, 'in_progress').locator('[data-move="forward"]').click();
    await card(first, 21, 'delivering').waitFor({ timeout: 5_000 });
    await expect.poll(() => statusOf(21), { timeout: 20_000 }).toBe('delivering');
    await db.query(`UPDATE "order" SET status = 'accepted' WHERE id = $1`, [order(21)]);
    await card(first, 21, 'accepted').waitFor({ timeout: 20_000 });
    await card(second, 21, 'accepted').waitFor({ timeout: 20_000 });
    expect(sockets.filter((s) => s.includes('/v1/sync/ws'))).toEqual([expect.stringMatching(/^first /)]);
    expect(errors).toEqual([]);
  });

  it('a customer places an order offline: it shows at once, is created once, and its notifications count', async () => {
    const alice = await open('alice');
    const badge = alice.locator('.notifications .badge');
    await alice.locator('form.new-order[data-loaded="true"]').waitFor();
    const unreadBefore = Number(await badge.getAttribute('data-unread'));
    expect(unreadBefore).toBeGreaterThan(0);
    await alice.context().setOffline(true);
    await alice.locator('.connection[data-status="offline"]').waitFor();
    await alice.fill('input[name="title"]', 'Umbrella');
    await alice.fill('input[name="address"]', '4 Rainy Rd');
    await alice.fill('input[name="total"]', '12.50');
    await alice.click('button[type="submit"]');
    const row = alice.locator('.customer .order-row[data-title="Umbrella"]');
    await row.waitFor({ timeout: 1_000 }); // from the prediction, not the server
    expect(await row.getAttribute('data-status')).toBe('pending');
    await expect.poll(() => alice.locator('.banner.offline .queued').textContent()).toBe('1 change queued');
    await alice.context().setOffline(false);
    await expect
      .poll(async () => (await db.query(`SELECT status FROM "order" WHERE title = 'Umbrella'`)).rows, {
        timeout: 20_000,
      })
      .toEqual([{ status: 'pending' }]);
    await expect.poll(() => alice.locator('.banner.offline').count()).toBe(0);
    expect(await row.count()).toBe(1); // the server's row is the predicted one, not a second

    // A driver accepts it: Alice's row follows, and she has one more unread notification.
    const dmitri = await open('dmitri');
    await dmitri.locator('.order-row[data-title="Umbrella"] [data-action="accept"]').click();
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 20_000 }).toBe('accepted');
    await expect.poll(() => badge.getAttribute('data-unread'), { timeout: 20_000 }).toBe(String(unreadBefore + 1));
    await alice.locator('.notifications .bell').click();
    await alice.locator('.popover .notice:has-text("Umbrella")').first().waitFor();
    await alice.locator('.popover button:has-text("Mark all read")').click();
    await expect.poll(() => badge.count(), { timeout: 20_000 }).toBe(0);
    const { rows } = await db.query(
      `SELECT count(*)::int AS n FROM notification WHERE user_id = '00000000-0000-4000-8000-000000000001' AND NOT read`,
    );
    expect(rows).toEqual([{ n: 0 }]);
    // The driver's accept is not in his undo history (the server would refuse its inverse).
    expect(await dmitri.locator('[data-action="undo"]').isDisabled()).toBe(true);
    expect(appErrors()).toEqual([]);
  });

  it('an order’s viewers: the dispatcher sees the driver who has it open, and the driver sees her', async () => {
    const dana = await open('dana');
    await card(dana, 10, 'delivering').locator('.card-title').click();
    const danaViewers = dana.locator('.detail .viewers');
    await expect.poll(() => danaViewers.textContent()).toContain('Only you');
    const dmitri = await open('dmitri');
    await dmitri.locator(`.order-row[data-order="${order(10)}"] button:has-text("Chat")`).click();
    await expect.poll(() => danaViewers.textContent(), { timeout: 20_000 }).toContain('Also viewing: Dmitri');
    await expect.poll(() => dmitri.locator('.viewers').textContent(), { timeout: 20_000 }).toContain('Dana');
    await dmitri.locator(`.order-row[data-order="${order(10)}"] button:has-text("Close")`).click();
    await expect.poll(() => danaViewers.textContent(), { timeout: 20_000 }).toContain('Only you');
    expect(errors).toEqual([]);
  });

  it('switching user shows only what the next user may see', async () => {
    const page = await open('alice');
    const shown = async () =>
      (
        await page
          .locator('.customer .order-row[data-order]')
          .evaluateAll((els) => els.map((e) => e.getAttribute('data-order')))
      )
        .filter((id): id is string => id !== null)
        .sort();
    const ownedBy = async (user: string) =>
      (
        await db.query<{ id: string }>(
          `SELECT o.id FROM "order" o JOIN "user" u ON u.id = o.customer_id
            WHERE u.name = $1 AND o.status IN ('pending', 'accepted', 'in_progress', 'delivering') ORDER BY o.id`,
          [user],
        )
      ).rows.map((r) => r.id);
    await expect.poll(shown, { timeout: 20_000 }).toEqual(await ownedBy('Alice'));
    await page.selectOption('.user-switch select', 'bob');
    await page.waitForURL(/user=bob/);
    await page.locator('.connection[data-status="online"]').waitFor({ timeout: 20_000 });
    await expect.poll(shown, { timeout: 20_000 }).toEqual(await ownedBy('Bob'));
    await page.selectOption('.user-switch select', 'dmitri');
    await page.waitForURL(/user=dmitri/);
    await page.locator('.driver').waitFor({ timeout: 20_000 });
    expect(await page.locator('.customer, .board').count()).toBe(0); // a driver has no board
    expect(errors).toEqual([]);
  });
});
