/** For the Chromium tests: the client bundled and served with `html` (which loads `/client.js`). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CollectionDefinition } from '../../../server/src/collections/collection-config.ts';
import type { SynclineOptions } from '../../../server/src/config.ts';
import type { SynclineServer } from '../../../server/src/server.ts';
import type { TestDatabase } from '../../../server/test/test-database.ts';
import { serveBundledPage } from '../../../server/test/bundled-page.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

export function serveClientPage(
  db: TestDatabase,
  collections: CollectionDefinition[],
  html: string,
  extra: Partial<SynclineOptions> = {},
): Promise<SynclineServer> {
  return serveBundledPage(db, collections, {
    bundle: { entryPoints: [path.join(here, '..', 'index.ts')] },
    html,
    script: '/client.js',
    extra,
  });
}
