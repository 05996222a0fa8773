/**
 * What RLS means for one synced table under the configured role, decided once
 * from the catalog:
 *
 *   RLS off, BYPASSRLS, or the role owns the table (without FORCE)  → open: nothing to check
 *   every applicable SELECT policy in the subset                      → compiled: one expression,
 *        (permissive OR-ed) AND (restrictive AND-ed), no permissive → false
 *   any other policy                                                  → database: checked by PostgreSQL
 *
 * A compiled policy is bound to a subscriber's claims once (see policy-expr.ts);
 * the residual decides their rows on every path and keys the instance they share.
 */
import { PolicyUnsupported } from './policy-lexer.ts';
import { alternatives, bindClaims, holds, PolicyEvalError, type PExpr, type Slot } from './policy-expr.ts';
import { parsePolicy, type ParseContext } from './policy-parser.ts';

export interface PolicyRow {
  name: string;
  permissive: boolean;
  /** `pg_get_expr(polqual)`; null when the policy has no USING clause. */
  using: string | null;
}

export interface TableRlsState {
  enabled: boolean;
  forced: boolean;
  /** The role owns the table (or has its owner's privileges). */
  owner: boolean;
  /** The role has BYPASSRLS or is a superuser. */
  bypass: boolean;
  policies: PolicyRow[];
}

export interface PolicyReport {
  name: string;
  permissive: boolean;
  using: string | null;
  /** compiled: evaluated in memory; database: evaluated by PostgreSQL. */
  checkedBy: 'memory' | 'database';
  reason?: string;
}

export type TablePolicy =
  | { mode: 'open'; table: string; reason: string }
  | { mode: 'compiled'; table: string; expr: PExpr; policies: PolicyReport[] }
  | {
      mode: 'database';
      table: string;
      policies: PolicyReport[];
      /** The combined USING expressions, evaluated by PostgreSQL over committed row values. */
      sql: string;
      /** Other tables the policies read (an EXISTS over chat membership): a change there re-checks. */
      dependsOn: string[];
    };

export interface BoundPolicy {
  /** Equal for subscribers who see exactly the same rows of the table. */
  key: string;
  visible(row: Record<string, unknown>): boolean;
  /** Routing hints: (column, key) pairs a visible row must have one of; null: unknown. */
  alternatives: Slot[] | null;
}

export function compileTablePolicy(
  table: string,
  state: TableRlsState & { dependsOn?: string[] },
  ctx: ParseContext,
): TablePolicy {
  if (!state.enabled) return { mode: 'open', table, reason: 'row-level security is not enabled' };
  if (state.bypass) return { mode: 'open', table, reason: 'the role bypasses row-level security' };
  if (state.owner && !state.forced) return { mode: 'open', table, reason: 'the role owns the table (RLS not forced)' };
  const reports: PolicyReport[] = [];
  const permissive: PExpr[] = [];
  const restrictive: PExpr[] = [];
  let allCompiled = true;
  for (const p of state.policies) {
    const base = { name: p.name, permissive: p.permissive, using: p.using };
    // No USING: a permissive policy admits nothing, a restrictive one restricts nothing (as Postgres does).
    if (p.using === null) {
      reports.push({ ...base, checkedBy: 'memory' });
      continue;
    }
    try {
      const e = parsePolicy(p.using, ctx);
      (p.permissive ? permissive : restrictive).push(e);
      reports.push({ ...base, checkedBy: 'memory' });
    } catch (err) {
      if (!(err instanceof PolicyUnsupported)) throw err;
      allCompiled = false;
      reports.push({ ...base, checkedBy: 'database', reason: err.message });
    }
  }
  if (!allCompiled) {
    for (const r of reports) if (r.checkedBy === 'memory') r.checkedBy = 'database';
    const using = (p: PolicyRow) => `(${p.using})`;
    const perm = state.policies.filter((p) => p.permissive && p.using !== null).map(using);
    const restr = state.policies.filter((p) => !p.permissive && p.using !== null).map(using);
    const sql = [perm.length === 0 ? 'false' : `(${perm.join(' OR ')})`, ...restr].join(' AND ');
    return { mode: 'database', table, policies: reports, sql, dependsOn: state.dependsOn ?? [] };
  }
  const anyPermissive: PExpr =
    permissive.length === 0 ? { k: 'const', type: 'bool', v: false } : { k: 'or', xs: permissive };
  const expr: PExpr = restrictive.length === 0 ? anyPermissive : { k: 'and', xs: [anyPermissive, ...restrictive] };
  return { mode: 'compiled', table, expr, policies: reports };
}

/** The policy with a subscriber's claims folded in. */
export function bindPolicy(expr: PExpr, claims: Record<string, unknown>): BoundPolicy {
  let residual: PExpr;
  try {
    residual = bindClaims(expr, claims);
  } catch (e) {
    // Postgres would fail every query for these claims (a claim that is no uuid cast to uuid): nothing is visible.
    if (!(e instanceof PolicyEvalError)) throw e;
    residual = { k: 'const', type: 'bool', v: false };
  }
  const key = JSON.stringify(residual, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
  return {
    key,
    visible: (row) => holds(residual, row),
    alternatives: alternatives(residual),
  };
}
