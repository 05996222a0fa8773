// Suites are chosen by file name, never by a hand-kept list:
//   *.test.ts          unit, no services
//   *.pg.test.ts       real PostgreSQL (embedded by default, DATABASE_URL overrides)
//   *.browser.test.ts  real Chromium
import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';
import { svelteTestComponents } from './packages/svelte/src/testing/vite-svelte.ts';

export default defineConfig({
  // Workspace packages resolve to their sources, not dist (the first entry of each package's
  // exports), so tests never need a build. Every project runs in Node, which vitest resolves
  // as vite's SSR; vite's own conditions stay.
  ssr: { resolve: { conditions: ['@syncline/source', ...defaultServerConditions] } },
  // The same where vite resolves for the web (packages/svelte's happy-dom tests): sources, never
  // a dist left by a build; Node's conditions, not the browser's, as those tests run the server too.
  resolve: { conditions: ['@syncline/source', ...defaultServerConditions] },
  // packages/svelte's tests: .svelte components compiled for the DOM, and `svelte` resolved to its
  // browser runtime for that package only (every other import stays as Node resolves it).
  plugins: [svelteTestComponents('packages/svelte/')],
  test: {
    // Those tests run in happy-dom but load the real server too: Node's module resolution for
    // everything (ws, pg), not the browser's.
    testTransformMode: { ssr: ['packages/svelte/src/**'] },
    // Two cores: more files in parallel only add contention.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'bench/src/**/*.test.ts'],
          exclude: ['**/*.pg.test.ts', '**/*.browser.test.ts', '**/node_modules/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['packages/*/src/**/*.browser.test.ts', 'examples/*/src/**/*.browser.test.ts'],
          globalSetup: ['packages/server/test/global-postgres.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'pg',
          include: [
            'packages/*/src/**/*.pg.test.ts',
            'packages/*/test/**/*.pg.test.ts',
            'examples/*/src/**/*.pg.test.ts',
          ],
          globalSetup: ['packages/server/test/global-postgres.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
