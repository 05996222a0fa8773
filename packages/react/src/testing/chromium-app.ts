/**
 * For the Chromium test: the React app bundled with esbuild and served, with a page,
 * by the Syncline server's own fallback (same origin, as an app would).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { CollectionDefinition } from '../../../server/src/collections/collection-config.ts';
import type { SynclineOptions } from '../../../server/src/config.ts';
import type { SynclineServer } from '../../../server/src/server.ts';
import type { TestDatabase } from '../../../server/test/test-database.ts';
import { startTestServer } from '../../../server/test/test-server.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

export async function serveReactApp(
  db: TestDatabase,
  collections: CollectionDefinition[],
  token: string,
  extra: Partial<SynclineOptions> = {},
): Promise<SynclineServer> {
  const bundle = await build({
    entryPoints: [path.join(here, 'browser-app.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    target: 'es2022',
    // Workspace packages from their sources, not dist (`module` is esbuild's default, kept).
    conditions: ['@syncline/source', 'module'],
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const js = bundle.outputFiles[0]?.text ?? '';
  const html = `<!doctype html><meta charset="utf-8"><body><div id="root"></div>
<script>window.SYNC_TOKEN = ${JSON.stringify(token)};</script><script type="module" src="/app.js"></script>`;
  return startTestServer(db, collections, {
    ...extra,
    fallback: (req, res) => {
      const isJs = req.url === '/app.js';
      res.writeHead(200, { 'Content-Type': isJs ? 'text/javascript' : 'text/html' });
      res.end(isJs ? js : html);
    },
  });
}
