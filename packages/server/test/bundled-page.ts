/**
 * For the Chromium tests: an app bundled for the browser with esbuild (workspace
 * packages from their sources, not dist) and served with its page by the test
 * server's fallback — same origin, as an app would be.
 */
import { build, type BuildOptions } from 'esbuild';
import type { CollectionDefinition } from '../src/collections/collection-config.ts';
import type { SynclineOptions } from '../src/config.ts';
import type { SynclineServer } from '../src/server.ts';
import type { TestDatabase } from './test-database.ts';
import { startTestServer } from './test-server.ts';

export interface BundledPage {
  /** What to bundle: `entryPoints` or `stdin`, and any plugins or defines. */
  bundle: Pick<BuildOptions, 'entryPoints' | 'stdin' | 'plugins' | 'define'>;
  /** The page; it loads the bundle from `script`. */
  html: string;
  /** Where the page loads the bundle from. */
  script: string;
  /** More server options. */
  extra?: Partial<SynclineOptions>;
}

export async function serveBundledPage(
  db: TestDatabase,
  collections: CollectionDefinition[],
  page: BundledPage,
): Promise<SynclineServer> {
  const out = await build({
    ...page.bundle,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    target: 'es2022',
    // Workspace packages from their sources (`module` is esbuild's default, kept).
    conditions: ['@syncline/source', 'module'],
  });
  const js = out.outputFiles[0]?.text ?? '';
  return startTestServer(db, collections, {
    ...page.extra,
    fallback: (req, res) => {
      const isJs = req.url === page.script;
      res.writeHead(200, { 'Content-Type': isJs ? 'text/javascript' : 'text/html' });
      res.end(isJs ? js : page.html);
    },
  });
}
