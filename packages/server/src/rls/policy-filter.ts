/**
 * A collection's bound filter narrowed by a subscriber's bound RLS policy: the
 * one predicate live routing, replay, move-in/out and revocation all use, so
 * RLS holds on every path a change takes. Snapshots keep the filter's SQL:
 * they run under the role, where PostgreSQL applies the same policies itself.
 */
import type { BoundFilter } from '../collections/filter/compile-filter.ts';
import type { BoundPolicy } from './table-policy.ts';

export function withPolicy(filter: BoundFilter, policy: BoundPolicy): BoundFilter {
  return {
    toSql: (firstIndex) => filter.toSql(firstIndex),
    matches: (row) => filter.matches(row) && policy.visible(row),
    equalities: () => filter.equalities(),
    alternatives: () => filter.alternatives?.() ?? policy.alternatives,
  };
}
