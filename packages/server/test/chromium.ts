/**
 * Debian's Chromium through playwright-core (never a downloaded browser).
 * Suites call `chromiumMissing()` and skip, saying why, when it is not installed;
 * `.ci/run` installs it, so CI never skips.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export function chromiumMissing(): string | null {
  if (existsSync(CHROMIUM_PATH)) return null;
  const why = `${CHROMIUM_PATH} not found: browser tests skipped (apt-get install chromium, or run .ci/run)`;
  console.warn(why);
  return why;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
