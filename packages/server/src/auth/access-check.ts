/**
 * Runs a collection's access rule for one subscriber, as that subscriber
 * (claims set, role applied). Throws FORBIDDEN when the rule says no.
 */
import type pg from 'pg';
import type { ResolvedSubscription } from '../collections/collection-registry.ts';
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
  let allowed: boolean;
  if (access.kind === 'exists' && resolved.accessBound) {
    const where = resolved.accessBound.toSql(1);
    const sql = `SELECT EXISTS (SELECT 1 FROM ${quoteTable(access.table.qualified)} WHERE ${where.text}) AS ok`;
    allowed = await withUserTransaction(pool, identity, db, 'READ ONLY', async (c) => {
      const r = await c.query<{ ok: boolean }>(sql, where.values);
      return r.rows[0]?.ok === true;
    });
  } else if (access.kind === 'function') {
    allowed = await access.check({
      userId: identity.userId,
      claims: identity.claims,
      params: resolved.params,
      query: (sql, values) =>
        withUserTransaction(pool, identity, db, 'READ ONLY', async (c) => (await c.query(sql, values)).rows),
    });
  } else {
    allowed = false;
  }
  if (!allowed)
    throw new SynclineError('FORBIDDEN', `not allowed to subscribe to ${resolved.collection.name} with these params`);
}
