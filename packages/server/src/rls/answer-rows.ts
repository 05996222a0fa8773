/**
 * The rows a mutation's answer returns pass the same RLS as every other path:
 * a mutator runs as the server and may write rows its caller may not read (a
 * notification for someone else); those are left out of the answer (and so of
 * the origin tag, which must list exactly what the answer holds).
 */
import type pg from 'pg';
import type { WrittenRow } from '@syncline/protocol';
import type { Identity } from '../auth/token-verifier.ts';
import type { CollectionRegistry } from '../collections/collection-registry.ts';
import { visibleRows } from './database-check.ts';
import { bindPolicy } from './table-policy.ts';

export function answerFilter(
  registry: CollectionRegistry,
  pool: pg.Pool,
  role: string | undefined,
): (identity: Identity, rows: WrittenRow[]) => Promise<WrittenRow[]> {
  return async (identity, rows) => {
    if (role === undefined) return rows;
    const out: WrittenRow[] = [];
    for (const r of rows) {
      const policy = registry.policyOf(r.table);
      if (r.row === null || !policy || policy.mode === 'open') out.push(r);
      else if (policy.mode === 'compiled') {
        if (bindPolicy(policy.expr, identity.claims).visible(r.row)) out.push(r);
      } else {
        const info = registry.table(r.table);
        if (info && (await visibleRows(pool, role, identity, info, policy.sql, [r.row])).size > 0) out.push(r);
      }
    }
    return out;
  };
}
