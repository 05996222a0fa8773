import { CoercionError } from './errors.ts';

/** A non-null value arriving from a param, claim or constant. */
export type Bindable = string | number | boolean;

/**
 * How one Postgres type is compared. Invariants the JS predicate relies on to agree with SQL:
 * - `toSql(fromBind(v))` is what gets sent, so Postgres compares exactly the value JS compares;
 * - for non-null row values a, b: key(a) === key(b) ⇔ Postgres `=` is true ⇔ compare(a, b) === 0.
 * `N` is the normalised, comparable form.
 */
export interface Codec<N = unknown> {
  readonly typeName: string;
  /** Why eq/neq/in can't be offered for this type; absent when they can. */
  readonly noEquality?: string;
  /** Why lt/lte/gt/gte can't be offered; absent when ordering agrees exactly between SQL and JS. */
  readonly noOrdering?: string;
  /** The column as it appears on the left of a comparison (a cast where the type's own `=` can't be mirrored). */
  compareSql(quotedColumn: string): string;
  /** SQL that is true exactly when the JS row value is null. */
  isNullSql(quotedColumn: string): string;
  /** Throws CoercionError for values the column type can't hold. */
  fromBind(value: Bindable): N;
  /** Throws CoercionError when a (non-null) row value breaks the wire mapping for this type. */
  fromRow(value: unknown): N;
  toSql(n: N): string;
  key(n: N): string;
  compare?(a: N, b: N): number;
}

export function order<T extends number | bigint | string>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Short rendering of a bad value for error messages, bounded so a huge input can't bloat them. */
export function show(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Postgres text can't hold NUL, and node-postgres would send a lone surrogate as U+FFFD, making SQL
 * compare a different string than JS; both are rejected rather than silently disagreeing.
 */
export function checkText(value: string): string {
  if (value.includes('\u0000')) throw new CoercionError('text values cannot contain NUL (\\u0000)');
  if (LONE_SURROGATE.test(value)) throw new CoercionError('text values must be well-formed UTF-16 (lone surrogate)');
  return value;
}

export function expectString(value: unknown, typeName: string): string {
  if (typeof value !== 'string') throw new CoercionError(`expected a ${typeName} string, got ${show(value)}`);
  return value;
}
