/**
 * One filter definition, compiled twice: to parameterised SQL for snapshot queries and to a JS
 * predicate for replicated rows. Both are derived from the same bound values (see Codec), so they
 * agree exactly, NULL logic included.
 */
import { bindExternal, bindList, bindValue, lookup } from './bind-values.ts';
import { codecFor } from './codecs.ts';
import { createBoundFilter, type BNode, type BoundValue, type Column } from './bound-filter.ts';
import { CoercionError, FilterCompileError, FilterRowError } from './errors.ts';
import { COMPARISON_OPS, type ComparisonOp, type Filter, type ValueRef } from './filter-types.ts';
import { formatIssues, validateFilter } from './validate-filter.ts';
import { quoteIdent } from '../../util/quote-ident.ts';

export interface ColumnInfo {
  name: string;
  typeOid: number;
}

export interface CompiledFilter {
  /** Param and claim names referenced (deduplicated, in order of first use), so callers can validate subscriptions. */
  params: string[];
  claims: string[];
  /** Columns the filter reads; `matches` needs every one of them present in the row. */
  columns: string[];
  /** Throws FilterBindError (code BAD_REQUEST) for missing, mistyped or uncoercible params/claims. */
  bind(params: Record<string, unknown>, claims?: Record<string, unknown>): BoundFilter;
}

export interface BoundFilter {
  /** SQL boolean expression; placeholders start at $`firstIndex`, values never appear in the text. */
  toSql(firstIndex: number): { text: string; values: unknown[] };
  /** True iff the row matches (SQL semantics: unknown is no match). Throws FilterRowError for a malformed row. */
  matches(row: Record<string, unknown>): boolean;
  /** Pairs a row must satisfy to match: `valueKey(type, row[column]) === key`. May hold several per column. */
  equalities(): Array<{ column: string; key: string }>;
  /**
   * When there is no single equality: pairs of which a matching row must satisfy at least one
   * (an OR of equalities, or an RLS policy's); null when unknown.
   */
  alternatives?(): Array<{ column: string; key: string }> | null;
}

type Ref = { kind: 'const'; value: BoundValue } | { kind: 'param' | 'claim'; name: string };
type CNode =
  | { op: ComparisonOp; col: Column; ref: Ref }
  | { op: 'in'; col: Column; list: Ref[] | { listParam: string } }
  | { op: 'isNull'; col: Column }
  | { op: 'and' | 'or'; children: CNode[] }
  | { op: 'not'; child: CNode };

export function compileFilter(filter: Filter, columns: ColumnInfo[]): CompiledFilter {
  const issues = validateFilter(filter);
  if (issues.length > 0) throw new FilterCompileError(`invalid filter: ${formatIssues(issues)}`);
  const byName = new Map<string, ColumnInfo>();
  for (const c of columns) if (!byName.has(c.name)) byName.set(c.name, c);
  const used = new Map<string, Column>();
  const params = new Map<string, 'single' | 'list'>();
  const claims = new Set<string>();

  const column = (name: string, at: string): Column => {
    const info = byName.get(name);
    if (!info) throw new FilterCompileError(`${at}: unknown column "${name}"`);
    const col = { name, typeOid: info.typeOid, codec: codecFor(info.typeOid), quoted: quoteIdent(name) };
    used.set(name, col);
    return col;
  };
  const useParam = (name: string, shape: 'single' | 'list', at: string) => {
    const before = params.get(name);
    if (before && before !== shape) {
      throw new FilterCompileError(`${at}: param "${name}" is used both as a single value and as a list`);
    }
    params.set(name, shape);
  };
  const ref = (v: ValueRef, col: Column, at: string): Ref => {
    if (v !== null && typeof v === 'object') {
      if ('param' in v) {
        useParam(v.param, 'single', at);
        return { kind: 'param', name: v.param };
      }
      if ('claim' in v) {
        claims.add(v.claim);
        return { kind: 'claim', name: v.claim };
      }
      v = v.value;
    }
    try {
      return { kind: 'const', value: v === null ? null : bindValue(col.codec, v) };
    } catch (e) {
      if (e instanceof CoercionError) {
        throw new FilterCompileError(`${at}: constant for column "${col.name}": ${e.message}`);
      }
      throw e;
    }
  };

  const compile = (f: Filter, at: string): CNode => {
    if ('and' in f) return { op: 'and', children: f.and.map((c, i) => compile(c, `${at}.and[${i}]`)) };
    if ('or' in f) return { op: 'or', children: f.or.map((c, i) => compile(c, `${at}.or[${i}]`)) };
    if ('not' in f) return { op: 'not', child: compile(f.not, `${at}.not`) };
    if ('isNull' in f) return { op: 'isNull', col: column(f.isNull, `${at}.isNull`) };
    if ('in' in f) {
      const [name, list] = f.in;
      const col = allow(column(name, `${at}.in`), 'in', `${at}.in`);
      if (Array.isArray(list)) return { op: 'in', col, list: list.map((v, i) => ref(v, col, `${at}.in[1][${i}]`)) };
      useParam(list.param, 'list', `${at}.in`);
      return { op: 'in', col, list: { listParam: list.param } };
    }
    const op = COMPARISON_OPS.find((o) => o in f);
    const pair = op === undefined ? undefined : (f as Record<ComparisonOp, [string, ValueRef]>)[op];
    if (op === undefined || pair === undefined) throw new FilterCompileError(`${at}: unknown operator`);
    const col = allow(column(pair[0], `${at}.${op}`), op, `${at}.${op}`);
    return { op, col, ref: ref(pair[1], col, `${at}.${op}[1]`) };
  };

  const root = compile(filter, 'filter');
  const paramNames = [...params.keys()];
  return {
    params: paramNames,
    claims: [...claims],
    columns: [...used.keys()],
    bind(paramValues, claimValues = {}) {
      const resolve = (r: Ref, col: Column): BoundValue => {
        if (r.kind === 'const') return r.value;
        const source = r.kind === 'param' ? paramValues : claimValues;
        return bindExternal(lookup(source, r.kind, r.name), col, r.kind, r.name);
      };
      const bindNode = (n: CNode): BNode => {
        switch (n.op) {
          case 'and':
          case 'or':
            return { op: n.op, children: n.children.map(bindNode) };
          case 'not':
            return { op: 'not', child: bindNode(n.child) };
          case 'isNull':
            return n;
          case 'in':
            if (Array.isArray(n.list)) return { op: 'in', col: n.col, values: n.list.map((r) => resolve(r, n.col)) };
            return { op: 'in', col: n.col, values: bindList(paramValues, n.list.listParam, n.col) };
          default:
            return { op: n.op, col: n.col, value: resolve(n.ref, n.col) };
        }
      };
      return createBoundFilter(bindNode(root));
    },
  };
}

/**
 * Normalised key of a row value for the routing index; equals an `equalities()` key exactly when that
 * eq is true. Null for SQL NULL (or absent) and for types without equality (json/jsonb).
 */
export function valueKey(typeOid: number, value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const codec = codecFor(typeOid);
  if (codec.noEquality) return null;
  try {
    return codec.key(codec.fromRow(value));
  } catch (e) {
    if (e instanceof CoercionError) {
      throw new FilterRowError(`row value for ${codec.typeName}: ${e.message}`, { cause: e });
    }
    throw e;
  }
}

function allow(col: Column, op: ComparisonOp | 'in', at: string): Column {
  const reason = op === 'eq' || op === 'neq' || op === 'in' ? col.codec.noEquality : col.codec.noOrdering;
  if (reason) throw new FilterCompileError(`${at}: column "${col.name}" (${col.codec.typeName}): ${reason}`);
  return col;
}

export { FilterBindError, FilterCompileError, FilterRowError } from './errors.ts';
export type { Filter, ValueRef, Scalar } from './filter-types.ts';
