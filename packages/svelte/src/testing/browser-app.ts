/**
 * For the Chromium test: a small Svelte app (BrowserApp.svelte) bundled with
 * esbuild, its components compiled by svelte/compiler, and served with a page
 * by the Syncline server's own fallback (same origin, as an app would be).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';
import { compile } from 'svelte/compiler';
import type { CollectionDefinition } from '../../../server/src/collections/collection-config.ts';
import type { SynclineServer } from '../../../server/src/server.ts';
import type { TestDatabase } from '../../../server/test/test-database.ts';
import { serveBundledPage } from '../../../server/test/bundled-page.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

const svelteComponents: Plugin = {
  name: 'svelte-components',
  setup(b) {
    b.onLoad({ filter: /\.svelte$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const { js } = compile(source, { filename: args.path, generate: 'client' });
      return { contents: js.code, loader: 'js' };
    });
  },
};

export function serveSvelteApp(
  db: TestDatabase,
  collections: CollectionDefinition[],
  token: string,
): Promise<SynclineServer> {
  return serveBundledPage(db, collections, {
    bundle: {
      stdin: {
        contents: `import { mount } from 'svelte';
import App from './BrowserApp.svelte';
mount(App, { target: document.body, props: { url: location.origin, token: ${JSON.stringify(token)} } });`,
        resolveDir: here,
        loader: 'ts',
      },
      // svelte's browser runtime comes with esbuild's platform browser.
      plugins: [svelteComponents],
    },
    html: '<!doctype html><meta charset="utf-8"><body><script type="module" src="/app.js"></script>',
    script: '/app.js',
  });
}
