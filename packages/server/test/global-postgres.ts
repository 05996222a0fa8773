/**
 * One PostgreSQL for the whole `pg` test run: the embedded one unless
 * DATABASE_URL points elsewhere. Each test file makes its own database (see
 * test-database.ts), so files run in parallel without sharing state.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../src/setup/embedded-postgres.ts';
import { freePort } from './free-port.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string;
    pgDataDir: string;
    pgPort: number;
  }
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env['DATABASE_URL']) {
    project.provide('pgUrl', process.env['DATABASE_URL']);
    project.provide('pgDataDir', '');
    project.provide('pgPort', 0);
    return async () => {};
  }
  const port = await freePort();
  const dataDir = path.join(root, '.syncline', 'test-pg', String(port));
  const pg = await startEmbeddedPostgres({ dataDir, port });
  project.provide('pgUrl', pg.url);
  project.provide('pgDataDir', dataDir);
  project.provide('pgPort', port);
  return async () => {
    await pg.stop();
  };
}
