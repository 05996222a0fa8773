/**
 * Differential sync (seed 000): the client sends what it has (key → version);
 * the server answers what changed, under the user's access, and a cursor from
 * which the subscription can continue live.
 *
 * The cursor is the stream head from *before* the query: every transaction the
 * answer does not contain commits after it, so resuming from it misses nothing.
 * It may replay a few transactions the answer already reflects; every change
 * carries its whole row, so replaying them in order lands on the same state.
 */
import type pg from 'pg';
import type { DiffSyncResponse, SnapshotRow, Subscription } from '@syncline/protocol';
import { checkAccess } from '../auth/access-check.ts';
import type { Identity } from '../auth/token-verifier.ts';
import type { DbSessionOptions } from '../auth/user-transaction.ts';
import { CollectionInstance } from '../collections/collection-instance.ts';
import type { ResolvedSubscription } from '../collections/collection-registry.ts';
import { querySnapshot } from '../collections/snapshot-query.ts';

export interface DiffSyncContext {
  pool: pg.Pool;
  db: DbSessionOptions;
  maxRows: number;
  resolve(sub: Subscription, identity: Identity): ResolvedSubscription;
  headCursor(): string;
}

export async function diffSync(
  ctx: DiffSyncContext,
  identity: Identity,
  sub: Subscription,
  versions: Record<string, number>,
): Promise<DiffSyncResponse> {
  const resolved = ctx.resolve(sub, identity);
  await checkAccess(ctx.pool, ctx.db, identity, resolved);
  const cursor = ctx.headCursor();
  const instance = new CollectionInstance(resolved.instanceKey, resolved.collection, resolved.bound, identity);
  const { rows } = await querySnapshot(ctx.pool, ctx.db, instance, ctx.maxRows);
  const out: DiffSyncResponse = { new: [], updated: [], unchanged: [], removed: [], cursor };
  const seen = new Set<string>();
  for (const r of rows) {
    const w: SnapshotRow = resolved.collection.toWire(r);
    seen.add(w.key);
    const had = Object.hasOwn(versions, w.key) ? versions[w.key] : undefined;
    if (had === undefined) out.new.push(w);
    else if (had !== w.version) out.updated.push(w);
    else out.unchanged.push(w.key);
  }
  for (const key of Object.keys(versions)) if (!seen.has(key)) out.removed.push(key);
  return out;
}
