/**
 * `npm start`: the dispatch demo. Without DATABASE_URL it runs PostgreSQL
 * itself (embedded, data in .syncline/demo-pg, kept between runs); with it,
 * it checks that server and turns an empty database into the demo.
 */
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createSyncline, guardPool, startEmbeddedPostgres } from '@syncline/server';
import type { RunningPostgres } from '@syncline/server';
import { demoCollections } from './collections.ts';
import { demoRooms } from './rooms.ts';
import { startActivity } from './activity.ts';
import { DEV_SECRET } from './demo-auth.ts';
import { demoMutators } from './mutators.ts';
import { demoWrites } from './writes.ts';
import { demoRoutes } from './page.ts';
import { buildDemoApp } from './app-bundle.ts';
import { DEMO_RLS, DEMO_ROLE } from './rls.ts';
import { DEMO_SCHEMA } from './schema.ts';
import { seedDemo } from './seed.ts';
import { ensureDatabase } from './ensure-database.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const port = Number(process.env['PORT'] ?? 4000);

async function main(): Promise<void> {
  let embedded: RunningPostgres | null = null;
  let databaseUrl = process.env['DATABASE_URL'];
  if (!databaseUrl) {
    const pgPort = Number(process.env['SYNCLINE_PG_PORT'] ?? 54329);
    console.log(`Starting embedded PostgreSQL on port ${pgPort} (data in .syncline/demo-pg)…`);
    embedded = await startEmbeddedPostgres({ dataDir: path.join(root, '.syncline', 'demo-pg'), port: pgPort });
    databaseUrl = await ensureDatabase(embedded.url, 'syncline_demo');
  }

  // The simulated dispatcher's connections die with a Postgres restart; that must not stop the demo.
  const pool = guardPool(new pg.Pool({ connectionString: databaseUrl, max: 2 }), {
    warn: (o, m) => console.warn(m, o),
  });
  await pool.query(DEMO_SCHEMA);
  await seedDemo(pool);
  await pool.query(DEMO_RLS);

  // The Svelte app is built here, once (Vite + vite-plugin-svelte, in memory, two seconds or so): no separate
  // build step.
  await buildDemoApp();

  const secret = process.env['SYNCLINE_JWT_SECRET'] ?? DEV_SECRET;
  if (!process.env['SYNCLINE_JWT_SECRET'])
    console.log(`SYNCLINE_JWT_SECRET is not set; using the development secret "${DEV_SECRET}".`);
  // An ordinary app server with its own routes (the demo sign-in, the app's files), and Syncline
  // mounted into it: what an app with a backend of its own does (README: "Mount into your server").
  const syncline = await createSyncline({
    databaseUrl,
    collections: demoCollections,
    rooms: demoRooms,
    auth: { jwtSecret: secret },
    db: { role: DEMO_ROLE },
    mutators: demoMutators,
    writes: demoWrites,
    // `npm run start:cluster` runs three of these over one Redis.
    ...(process.env['REDIS_URL'] ? { redis: process.env['REDIS_URL'] } : {}),
  });
  const routes = demoRoutes(secret);
  const app = http.createServer((req, res) => {
    routes(req, res).catch((err: unknown) => {
      console.error('demo route failed', err);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  syncline.attach(app);
  await new Promise<void>((resolve, reject) => {
    app.once('error', reject);
    app.listen(port, '0.0.0.0', () => resolve());
  });
  const activity = process.env['SYNCLINE_DEMO_ACTIVITY'] === '0' ? null : startActivity(pool);

  console.log(
    `\nSyncline demo is running.\n  Open   http://localhost:${port}/\n  Health http://localhost:${port}/v1/health\n`,
  );
  if (activity)
    console.log('A simulated dispatcher changes an order every few seconds (SYNCLINE_DEMO_ACTIVITY=0 to stop it).');
  console.log('Press Ctrl-C to stop.');

  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping…');
    activity?.stop();
    await syncline.stop();
    await new Promise((resolve) => app.close(resolve));
    await pool.end();
    await embedded?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());
}

main().catch((err: unknown) => {
  console.error(`\nThe demo could not start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
