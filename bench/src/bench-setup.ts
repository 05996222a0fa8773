/** The start every benchmark shares: PostgreSQL, a fresh database, a client on it, the environment. */
import pg from 'pg';
import { type BenchDatabase, createBenchDatabase, dropLeftovers, openPostgres } from './database.ts';
import { type Environment, describeEnvironment, formatEnvironment } from './environment.ts';
import type { RunScope } from './run-scope.ts';

export interface BenchSetup {
  db: BenchDatabase;
  /** A plain client on the bench database, closed at the end of the run. */
  writer: pg.Client;
  env: Environment;
}

/** Everything it starts is registered with `scope` for cleanup. Prints the environment under `title`. */
export async function setUpBench(repoRoot: string, scope: RunScope, title: string): Promise<BenchSetup> {
  const postgres = await openPostgres(repoRoot);
  scope.defer('postgres', () => postgres.stop());
  if (postgres.embedded) {
    const dropped = await dropLeftovers(postgres.adminUrl);
    if (dropped.length)
      console.log(`dropped ${dropped.length} database(s) left by an interrupted run: ${dropped.join(', ')}`);
  }
  const db = await createBenchDatabase(postgres.adminUrl);
  scope.defer(`database ${db.name}`, () => db.drop());
  const writer = new pg.Client({ connectionString: db.url });
  writer.on('error', scope.fatal);
  await writer.connect();
  scope.defer('writer', () => writer.end());

  const version = (await writer.query<{ v: string }>('SELECT version() AS v')).rows[0]?.v ?? '?';
  const env = describeEnvironment(
    `${version.split(' on ')[0] ?? version}${postgres.embedded ? ' (embedded)' : ''}`,
    repoRoot,
  );
  console.log(`${title}\n${formatEnvironment(env)}\n`);
  return { db, writer, env };
}
