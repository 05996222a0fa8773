/** For the Chromium test: the React app (browser-app.ts) bundled and served with its page. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CollectionDefinition } from '../../../server/src/collections/collection-config.ts';
import type { SynclineOptions } from '../../../server/src/config.ts';
import type { SynclineServer } from '../../../server/src/server.ts';
import type { TestDatabase } from '../../../server/test/test-database.ts';
import { serveBundledPage } from '../../../server/test/bundled-page.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

export function serveReactApp(
  db: TestDatabase,
  collections: CollectionDefinition[],
  token: string,
  extra: Partial<SynclineOptions> = {},
): Promise<SynclineServer> {
  const html = `<!doctype html><meta charset="utf-8"><body><div id="root"></div>
<script>window.SYNC_TOKEN = ${JSON.stringify(token)};</script><script type="module" src="/app.js"></script>`;
  return serveBundledPage(db, collections, {
    bundle: {
      entryPoints: [path.join(here, 'browser-app.ts')],
      define: { 'process.env.NODE_ENV': '"production"' },
    },
    html,
    script: '/app.js',
    extra,
  });
}
