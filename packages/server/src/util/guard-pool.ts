/**
 * A `pg` client emits `'error'` when its server goes away (a restart: 57P01).
 * The pool listens only while a client is idle; a client that is checked out
 * (between two queries of a transaction, or held by a slow handler) has no
 * listener, and Node turns the event into an uncaught exception that stops the
 * process. Every client gets a listener as it is created, so a lost connection
 * fails only the query in flight; the pool then discards the client on release.
 */
import type pg from 'pg';

export interface PoolLogger {
  warn(obj: object, msg: string): void;
}

export function guardPool(pool: pg.Pool, logger: PoolLogger): pg.Pool {
  pool.on('error', (err) => logger.warn({ err: err.message }, 'idle database connection lost'));
  pool.on('connect', (client) => {
    client.on('error', (err) => logger.warn({ err: err.message }, 'database connection lost while in use'));
  });
  return pool;
}
