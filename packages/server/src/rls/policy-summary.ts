/** What RLS costs per table, for `GET /v1/collections` and the start-up log. */
import type { TablePolicy } from './table-policy.ts';

export interface PolicySummary {
  table?: string;
  /** open: RLS does not apply to the role; memory: every policy compiled; database: PostgreSQL checks. */
  checkedBy: 'none' | 'memory' | 'database';
  reason?: string;
  policies?: Array<{ name: string; permissive: boolean; checkedBy: 'memory' | 'database'; reason?: string }>;
}

export function policySummary(p: TablePolicy | undefined): PolicySummary {
  if (!p) return { checkedBy: 'database', reason: 'policies were not read' };
  if (p.mode === 'open') return { table: p.table, checkedBy: 'none', reason: p.reason };
  return {
    table: p.table,
    checkedBy: p.mode === 'compiled' ? 'memory' : 'database',
    policies: p.policies.map((x) => ({
      name: x.name,
      permissive: x.permissive,
      checkedBy: x.checkedBy,
      ...(x.reason ? { reason: x.reason } : {}),
    })),
  };
}
