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
import { visibleRowsIn } from './database-check.ts';
import { bindPolicy } from './table-policy.ts';

export function answerFilter(
  registry: CollectionRegistry,
  role: string | undefined,
): (client: pg.PoolClient, identity: Identity, rows: WrittenRow[]) => Promise<WrittenRow[]> {
  return async (client, identity, rows) => {
    if (role === undefined) return rows;
    // Database-checked tables: one query per table, in the mutation's own transaction.
    const checked = new Map<string, Set<Record<string, unknown>>>();
    for (const table of new Set(rows.map((r) => r.table))) {
      const policy = registry.policyOf(table);
      const info = registry.table(table);
      if (policy?.mode !== 'database' || !info) continue;
      const candidates = rows.flatMap((r) => (r.table === table && r.row ? [r.row] : []));
      checked.set(table, await visibleRowsIn(client, role, info, policy.sql, candidates));
    }
    return rows.filter((r) => {
      const policy = registry.policyOf(r.table);
      if (r.row === null || !policy || policy.mode === 'open') return true;
      if (policy.mode === 'compiled') return bindPolicy(policy.expr, identity.claims).visible(r.row);
      return checked.get(r.table)?.has(r.row) === true;
    });
  };
}
