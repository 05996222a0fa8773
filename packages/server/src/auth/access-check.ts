/**
 * Runs a collection's access rule for one subscriber, as that subscriber
 * (claims set, role applied). Throws FORBIDDEN when the rule says no.
 */
import type pg from 'pg';
import type { CompiledAccess } from '../collections/collection.ts';
import type { ResolvedSubscription } from '../collections/collection-registry.ts';
import type { BoundFilter } from '../collections/filter/compile-filter.ts';
import { SynclineError } from '../util/errors.ts';
import { quoteTable } from '../util/quote-ident.ts';
import type { Identity } from './token-verifier.ts';
import type { DbSessionOptions } from './user-transaction.ts';
import { withUserTransaction } from './user-transaction.ts';

export async function checkAccess(
  pool: pg.Pool,
  db: DbSessionOptions,
  identity: Identity,
  resolved: ResolvedSubscription,
): Promise<void> {
  const access = resolved.collection.access;
  if (!access) return;
  if (!(await accessAllows(pool, db, identity, access, resolved.accessBound, resolved.params)))
    throw new SynclineError('FORBIDDEN', `not allowed to subscribe to ${resolved.collection.name} with these params`);
}

/** Whether a rule lets this user in with these params (`exists`: its filter already bound to them). */
export async function accessAllows(
  pool: pg.Pool,
  db: DbSessionOptions,
  identity: Identity,
  access: CompiledAccess,
  bound: BoundFilter | null,
  params: Record<string, unknown>,
): Promise<boolean> {
  if (access.kind === 'exists' && bound) {
    const where = bound.toSql(1);
    const sql = `SELECT EXISTS (SELECT 1 FROM ${quoteTable(access.table.qualified)} WHERE ${where.text}) AS ok`;
    return withUserTransaction(pool, identity, db, 'READ ONLY', async (c) => {
      const r = await c.query<{ ok: boolean }>(sql, where.values);
      return r.rows[0]?.ok === true;
    });
  }
  if (access.kind === 'function')
    return access.check({
      userId: identity.userId,
      claims: identity.claims,
      params,
      query: (sql, values) =>
        withUserTransaction(pool, identity, db, 'READ ONLY', async (c) => (await c.query(sql, values)).rows),
    });
  return false;
}
