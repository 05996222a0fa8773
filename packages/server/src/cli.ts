#!/usr/bin/env node
/**
 * `syncline [--config syncline.config.ts]` — runs a node with the user's own
 * collections against DATABASE_URL. Run through tsx (or compile) so the config
 * may be TypeScript. The config's default export is `{ collections, …options }`.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { SynclineOptions } from './config.ts';
import { startSyncline } from './server.ts';

const { values } = parseArgs({ options: { config: { type: 'string', short: 'c', default: 'syncline.config.ts' } } });
const configPath = path.resolve(values.config as string);

async function main(): Promise<void> {
  const databaseUrl = process.env['DATABASE_URL'];
  if (!databaseUrl) {
    console.error('DATABASE_URL is not set. Point it at a PostgreSQL with wal_level=logical.');
    process.exit(2);
  }
  const mod = (await import(pathToFileURL(configPath).href)) as { default?: Partial<SynclineOptions> };
  const config = mod.default;
  if (!config?.collections) {
    console.error(`${configPath} must default-export an object with a "collections" array.`);
    process.exit(2);
  }
  const server = await startSyncline({
    ...config,
    collections: config.collections,
    databaseUrl,
    ...(process.env['REDIS_URL'] ? { redis: process.env['REDIS_URL'] } : {}),
    port: process.env['PORT'] ? Number(process.env['PORT']) : (config.port ?? 4000),
  });
  const shutdown = () => {
    server.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? `syncline: ${err.message}` : err);
  process.exit(1);
});
