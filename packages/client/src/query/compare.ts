/**
 * Total, deterministic orderings for query results.
 *
 * - Column values: booleans < numbers < strings < arrays/objects < null < missing
 *   (PostgreSQL's ASC puts NULLs last; `desc` reverses the whole order, so NULLs
 *   come first there, as in PostgreSQL). Strings compare by UTF-16 code units,
 *   not by locale, so every client sorts the same way.
 * - Row keys (the final tie-breaker): unsigned integer keys first and numerically,
 *   then anything else (composite JSON keys, uuids, text) by code units.
 */
import type { Row } from '@syncline/protocol';

/** A row of a table with its key, as a query holds it. */
export interface Entry {
  readonly key: string;
  readonly row: Row;
}

export type Direction = 'asc' | 'desc';
export type Comparator<T> = (a: T, b: T) => number;

function rank(v: unknown): number {
  if (v === undefined) return 5;
  if (v === null) return 4;
  switch (typeof v) {
    case 'boolean':
      return 0;
    case 'number':
      return 1;
    case 'string':
      return 2;
    default:
      return 3;
  }
}

function codeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Compares two column values (JSON values, or undefined for a missing column). */
export function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 0:
    case 1:
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
    case 2:
      return codeUnits(a as string, b as string);
    case 3:
      return codeUnits(JSON.stringify(a), JSON.stringify(b));
    default:
      return 0;
  }
}

const UNSIGNED = /^\d+$/;

/**
 * Compares row keys: unsigned integer keys first and numerically (`9` < `10`),
 * then every other key by code units. A total order (needed by binary search).
 */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const na = UNSIGNED.test(a);
  const nb = UNSIGNED.test(b);
  if (na !== nb) return na ? -1 : 1;
  if (na) {
    const sa = a.replace(/^0+(?=\d)/, '');
    const sb = b.replace(/^0+(?=\d)/, '');
    if (sa.length !== sb.length) return sa.length - sb.length;
    const c = codeUnits(sa, sb);
    if (c !== 0) return c;
  }
  return codeUnits(a, b);
}

/** One `orderBy`: a column name or a comparator over rows, and a direction. */
export interface OrderTerm {
  readonly by: string | Comparator<Row>;
  readonly dir: Direction;
}

/**
 * The comparator of a query: its `orderBy` terms in order, then the row key, so
 * two distinct entries never compare equal and the result never depends on the
 * order the rows were stored or arrived in.
 */
export function entryComparator(terms: readonly OrderTerm[]): Comparator<Entry> {
  const fns = terms.map(({ by, dir }): Comparator<Row> => {
    const base: Comparator<Row> = typeof by === 'string' ? (a, b) => compareValues(a[by], b[by]) : by;
    return dir === 'desc' ? (a, b) => base(b, a) : base;
  });
  return (a, b) => {
    for (const fn of fns) {
      const c = fn(a.row, b.row);
      if (c !== 0 && !Number.isNaN(c)) return c;
    }
    return compareKeys(a.key, b.key);
  };
}
