import type { Codec } from './codec.ts';
import type { BoundFilter } from './compile-filter.ts';
import { CoercionError, FilterRowError } from './errors.ts';
import type { ComparisonOp } from './filter-types.ts';

export interface Column {
  name: string;
  typeOid: number;
  codec: Codec;
  /** Double-quoted identifier. */
  quoted: string;
}

/** A bound value in both forms, precomputed once per bind; null is SQL NULL. */
export type BoundValue = { norm: unknown; key: string; sql: string } | null;

export type BNode =
  | { op: ComparisonOp; col: Column; value: BoundValue }
  | { op: 'in'; col: Column; values: BoundValue[] }
  | { op: 'isNull'; col: Column }
  | { op: 'and' | 'or'; children: BNode[] }
  | { op: 'not'; child: BNode };

/** SQL three-valued logic: null is "unknown". */
type Tri = boolean | null;

const SQL_OP: Record<ComparisonOp, string> = { eq: '=', neq: '<>', lt: '<', lte: '<=', gt: '>', gte: '>=' };

export function createBoundFilter(root: BNode): BoundFilter {
  let equalities: Array<{ column: string; key: string }> | undefined;
  return {
    toSql(firstIndex) {
      if (!Number.isInteger(firstIndex) || firstIndex < 1) throw new RangeError(`bad placeholder index ${firstIndex}`);
      const values: unknown[] = [];
      const text = toSql(root, (v) => `$${firstIndex + values.push(v) - 1}`);
      return { text, values };
    },
    matches: (row) => evaluate(root, row) === true,
    equalities: () => (equalities ??= collectEqualities(root)).map((e) => ({ ...e })),
  };
}

function toSql(node: BNode, place: (value: unknown) => string): string {
  switch (node.op) {
    case 'and':
    case 'or':
      if (node.children.length === 0) return node.op === 'and' ? 'true' : 'false';
      return `(${node.children.map((c) => toSql(c, place)).join(node.op === 'and' ? ' AND ' : ' OR ')})`;
    case 'not':
      return `NOT (${toSql(node.child, place)})`;
    case 'isNull':
      return node.col.codec.isNullSql(node.col.quoted);
    case 'in':
      // ANY over an empty array is false even for a NULL column; emitting `false` says the same without a cast.
      if (node.values.length === 0) return 'false';
      return `${node.col.codec.compareSql(node.col.quoted)} = ANY(${place(node.values.map((v) => v?.sql ?? null))})`;
    default:
      return `${node.col.codec.compareSql(node.col.quoted)} ${SQL_OP[node.op]} ${place(node.value?.sql ?? null)}`;
  }
}

function evaluate(node: BNode, row: Record<string, unknown>): Tri {
  switch (node.op) {
    case 'and':
    case 'or': {
      // Kleene logic: a decisive child (false for AND, true for OR) wins over unknown.
      const decisive = node.op === 'or';
      let unknown = false;
      for (const child of node.children) {
        const r = evaluate(child, row);
        if (r === decisive) return decisive;
        if (r === null) unknown = true;
      }
      return unknown ? null : !decisive;
    }
    case 'not': {
      const r = evaluate(node.child, row);
      return r === null ? null : !r;
    }
    case 'isNull':
      return rawValue(row, node.col) === null;
    case 'in': {
      if (node.values.length === 0) return false;
      const raw = rawValue(row, node.col);
      if (raw === null) return null;
      const key = node.col.codec.key(fromRow(node.col, raw));
      let sawNull = false;
      for (const v of node.values) {
        if (v === null) sawNull = true;
        else if (v.key === key) return true;
      }
      return sawNull ? null : false;
    }
    default: {
      const raw = rawValue(row, node.col);
      if (raw === null || node.value === null) return null;
      const { codec } = node.col;
      const v = fromRow(node.col, raw);
      if (node.op === 'eq') return codec.key(v) === node.value.key;
      if (node.op === 'neq') return codec.key(v) !== node.value.key;
      if (!codec.compare) throw new Error(`unreachable: ordering on ${codec.typeName}`);
      const c = codec.compare(v, node.value.norm);
      return node.op === 'lt' ? c < 0 : node.op === 'lte' ? c <= 0 : node.op === 'gt' ? c > 0 : c >= 0;
    }
  }
}

function rawValue(row: Record<string, unknown>, col: Column): unknown {
  const raw = Object.hasOwn(row, col.name) ? row[col.name] : undefined;
  if (raw === undefined) throw new FilterRowError(`row has no value for filter column "${col.name}"`);
  return raw;
}

function fromRow(col: Column, raw: unknown): unknown {
  try {
    return col.codec.fromRow(raw);
  } catch (e) {
    if (e instanceof CoercionError) throw new FilterRowError(`row column "${col.name}": ${e.message}`, { cause: e });
    throw e;
  }
}

/** Equalities every matching row must satisfy: eq (or a one-value in) reached through AND only. */
function collectEqualities(root: BNode): Array<{ column: string; key: string }> {
  const out = new Map<string, { column: string; key: string }>();
  const visit = (node: BNode): void => {
    if (node.op === 'and' || (node.op === 'or' && node.children.length === 1)) node.children.forEach(visit);
    const value = node.op === 'eq' ? node.value : node.op === 'in' && node.values.length === 1 ? node.values[0] : null;
    if (value && (node.op === 'eq' || node.op === 'in')) {
      out.set(JSON.stringify([node.col.name, value.key]), { column: node.col.name, key: value.key });
    }
  };
  visit(root);
  return [...out.values()];
}
