/** Which tables' RLS differs between what the registry uses and a fresh read of the catalog. */
import type { CollectionRegistry } from '../collections/collection-registry.ts';
import type { TablePolicy } from './table-policy.ts';

const text = (p: TablePolicy | undefined) =>
  JSON.stringify(p ?? null, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));

export function changedPolicies(registry: CollectionRegistry, next: ReadonlyMap<string, TablePolicy>): Set<string> {
  const changed = new Set<string>();
  for (const t of registry.tables())
    if (text(registry.policyOf(t.qualified)) !== text(next.get(t.qualified))) changed.add(t.qualified);
  return changed;
}
