import type { Filter } from './filter-types.ts';

// Defined here rather than in filter-types.ts (which re-exports them) so the runtime imports stay acyclic.
export const COMPARISON_OPS = ['eq', 'neq', 'lt', 'lte', 'gt', 'gte'] as const;
export type ComparisonOp = (typeof COMPARISON_OPS)[number];

/** Bounds keep compile, bind and evaluation cost (and recursion depth) small and predictable. */
export const FILTER_LIMITS = { maxDepth: 16, maxNodes: 256, maxListLength: 1000 } as const;

export interface FilterIssue {
  path: Array<string | number>;
  message: string;
}

const OPERATORS = [...COMPARISON_OPS, 'in', 'isNull', 'and', 'or', 'not'] as const;
const VALUE_HINT = 'a string, finite number, boolean, null, { value }, { param } or { claim }';

/** Returns every problem found (empty when `input` is a valid Filter). */
export function validateFilter(input: unknown): FilterIssue[] {
  const issues: FilterIssue[] = [];
  let nodes = 0;
  const fail = (path: Array<string | number>, message: string) => void issues.push({ path, message });

  const visit = (node: unknown, path: Array<string | number>, depth: number): void => {
    if (depth > FILTER_LIMITS.maxDepth) return fail(path, `filter is nested deeper than ${FILTER_LIMITS.maxDepth}`);
    if (++nodes > FILTER_LIMITS.maxNodes) {
      // Report once; later nodes would only repeat it.
      if (nodes === FILTER_LIMITS.maxNodes + 1) fail(path, `filter has more than ${FILTER_LIMITS.maxNodes} nodes`);
      return;
    }
    if (!isPlainObject(node)) return fail(path, `expected a filter object with one of: ${OPERATORS.join(', ')}`);
    const keys = Object.keys(node);
    const op = keys[0];
    if (keys.length !== 1 || op === undefined || !(OPERATORS as readonly string[]).includes(op)) {
      return fail(
        path,
        `expected exactly one operator (${OPERATORS.join(', ')}), got keys: ${keys.join(', ') || 'none'}`,
      );
    }
    const arg = node[op];
    const at = [...path, op];
    if (op === 'and' || op === 'or') {
      if (!Array.isArray(arg)) return fail(at, `${op} takes an array of filters`);
      arg.forEach((child, i) => visit(child, [...at, i], depth + 1));
    } else if (op === 'not') {
      visit(arg, at, depth + 1);
    } else if (op === 'isNull') {
      if (!isColumnName(arg)) fail(at, 'isNull takes a column name (non-empty string)');
    } else if (op === 'in') {
      if (!isPair(arg)) return fail(at, 'in takes [column, [values...]] or [column, { param }]');
      if (!isColumnName(arg[0])) fail([...at, 0], 'expected a column name (non-empty string)');
      const list = arg[1];
      if (Array.isArray(list)) {
        if (list.length > FILTER_LIMITS.maxListLength) {
          fail([...at, 1], `in list has more than ${FILTER_LIMITS.maxListLength} values`);
        } else list.forEach((v, i) => checkValue(v, [...at, 1, i]));
      } else if (!(isPlainObject(list) && onlyKey(list) === 'param' && isName(list['param']))) {
        fail([...at, 1], 'expected an array of values or { param: name }');
      }
    } else {
      if (!isPair(arg)) return fail(at, `${op} takes [column, value]`);
      if (!isColumnName(arg[0])) fail([...at, 0], 'expected a column name (non-empty string)');
      checkValue(arg[1], [...at, 1]);
    }
  };

  const checkValue = (v: unknown, path: Array<string | number>): void => {
    if (isScalar(v)) return;
    if (typeof v === 'number') return fail(path, `numbers must be finite, got ${v}`);
    if (!isPlainObject(v)) return fail(path, `expected ${VALUE_HINT}`);
    const key = onlyKey(v);
    if (key === 'value' && isScalar(v['value'])) return;
    if ((key === 'param' || key === 'claim') && isName(v[key])) return;
    fail(path, `expected ${VALUE_HINT}; { param } and { claim } take a non-empty name`);
  };

  visit(input, [], 1);
  return issues;
}

/** Type guard wrapper for callers that only need a yes/no. */
export function isFilter(input: unknown): input is Filter {
  return validateFilter(input).length === 0;
}

export function formatIssues(issues: FilterIssue[]): string {
  const where = (path: Array<string | number>) =>
    path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');
  return issues.map((i) => `filter${where(i.path)}: ${i.message}`).join('; ');
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
function onlyKey(v: Record<string, unknown>): string | undefined {
  const keys = Object.keys(v);
  return keys.length === 1 ? keys[0] : undefined;
}
function isPair(v: unknown): v is [unknown, unknown] {
  return Array.isArray(v) && v.length === 2;
}
function isScalar(v: unknown): boolean {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}
function isName(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= 128;
}
function isColumnName(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0;
}
