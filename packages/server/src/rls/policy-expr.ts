/**
 * A compiled policy expression: the subset of SQL Syncline evaluates in memory
 * exactly as PostgreSQL would (three-valued logic, text/uuid/integer/boolean
 * values, casts between text and the column's type).
 *
 *   parsed expr ──bindClaims(claims)──► residual over row columns only (claims folded to constants)
 *                                       ├─ evaluate(row) → true | false | null
 *                                       └─ alternatives() → (column, key) pairs a visible row must hit (routing index)
 *
 * Two subscribers whose residuals print the same see the same rows, so they can
 * share one instance (every dispatcher's residual is `true`).
 */
import { valueKey } from '../collections/filter/compile-filter.ts';

export type VType = 'text' | 'uuid' | 'int' | 'bool';
export type PValue = string | bigint | boolean;
export type CmpOp = '=' | '<>' | '<' | '<=' | '>' | '>=';

export type PExpr =
  | { k: 'col'; name: string; type: VType; typeOid: number }
  | { k: 'const'; type: VType; v: PValue | null }
  | { k: 'claim'; path: string[]; jsonb: boolean }
  | { k: 'cast'; to: VType; bits: number; e: PExpr }
  | { k: 'cmp'; op: CmpOp; l: PExpr; r: PExpr }
  | { k: 'any'; op: CmpOp; all: boolean; l: PExpr; list: PExpr[] }
  | { k: 'and' | 'or'; xs: PExpr[] }
  | { k: 'not'; x: PExpr }
  | { k: 'isnull'; x: PExpr; not: boolean };

/** A value PostgreSQL would refuse (a bad uuid in a cast): the query fails, so the row is not shown. */
export class PolicyEvalError extends Error {
  override readonly name = 'PolicyEvalError';
}

type Row = Record<string, unknown>;
type Claims = Record<string, unknown>;
type Tri = boolean | null;

export function typeOf(e: PExpr): VType {
  switch (e.k) {
    case 'col':
    case 'const':
      return e.type;
    case 'claim':
      return 'text';
    case 'cast':
      return e.to;
    default:
      return 'bool';
  }
}

// ── evaluation ─────────────────────────────────────────────────────────────

export function evaluate(e: PExpr, row: Row, claims: Claims): PValue | null {
  switch (e.k) {
    case 'col':
      return readColumn(e.type, row[e.name]);
    case 'const':
      return e.v;
    case 'claim':
      return claimText(claims, e.path, e.jsonb);
    case 'cast': {
      const v = evaluate(e.e, row, claims);
      return v === null ? null : cast(v, typeOf(e.e), e.to, e.bits);
    }
    case 'cmp': {
      const l = evaluate(e.l, row, claims);
      const r = evaluate(e.r, row, claims);
      return l === null || r === null ? null : compare(e.op, l, r);
    }
    case 'any': {
      // x = ANY(list): true if one is true, else null if one is null, else false; ALL the dual.
      const l = evaluate(e.l, row, claims);
      let unknown = false;
      for (const item of e.list) {
        const r = evaluate(item, row, claims);
        const t = l === null || r === null ? null : compare(e.op, l, r);
        if (t === null) unknown = true;
        else if (t !== e.all) return t;
      }
      return unknown ? null : e.all;
    }
    case 'and':
    case 'or': {
      const decisive = e.k === 'or';
      let unknown = false;
      for (const x of e.xs) {
        const t = evaluate(x, row, claims) as Tri;
        if (t === decisive) return decisive;
        if (t === null) unknown = true;
      }
      return unknown ? null : !decisive;
    }
    case 'not': {
      const t = evaluate(e.x, row, claims) as Tri;
      return t === null ? null : !t;
    }
    case 'isnull':
      return (evaluate(e.x, row, claims) === null) !== e.not;
  }
}

/** A row is visible only when the expression is true; a value Postgres would refuse hides it. */
export function holds(e: PExpr, row: Row, claims: Claims = {}): boolean {
  try {
    return evaluate(e, row, claims) === true;
  } catch (err) {
    if (err instanceof PolicyEvalError) return false;
    throw err;
  }
}

function readColumn(type: VType, v: unknown): PValue | null {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'text':
      return String(v);
    case 'uuid':
      return String(v).toLowerCase();
    case 'int':
      return BigInt(v as string | number);
    case 'bool':
      return v === true || v === 't' || v === 'true';
  }
}

/** `current_setting('request.jwt.claims', true)::json -> … ->> 'k'`: the claim as text, SQL NULL when absent. */
function claimText(claims: Claims, path: string[], jsonb: boolean): string | null {
  let v: unknown = claims;
  for (const p of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
    v = (v as Record<string, unknown>)[p];
  }
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    // jsonb prints numbers as numeric does (1e21 → 1000000000000000000000); agree only where both print alike.
    if (jsonb && !(Number.isSafeInteger(v) || (Number.isFinite(v) && Math.abs(v) < 1e15 && Math.abs(v) > 1e-6)))
      throw new PolicyEvalError('a jsonb number claim outside what memory prints as PostgreSQL does');
    return JSON.stringify(v);
  }
  // json keeps the text it was given (our JSON.stringify); jsonb re-prints it in its own layout.
  if (jsonb) throw new PolicyEvalError('object claims read through jsonb are not compared in memory');
  return JSON.stringify(v);
}

const INT_RANGE: Record<number, bigint> = { 16: 1n << 15n, 32: 1n << 31n, 64: 1n << 63n };

export function cast(v: PValue, from: VType, to: VType, bits = 64): PValue {
  if (to === 'text') {
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    return String(v);
  }
  if (from === to && to !== 'int') return v;
  switch (to) {
    case 'uuid':
      return parseUuid(String(v));
    case 'int': {
      let n: bigint;
      if (typeof v === 'bigint') n = v;
      else {
        // Postgres trims only ASCII whitespace (isspace in the C locale), not JS's \s.
        const m = /^[ \t\n\v\f\r]*([+-]?[0-9]+)[ \t\n\v\f\r]*$/.exec(String(v));
        if (!m) throw new PolicyEvalError(`invalid input syntax for type integer: ${JSON.stringify(v)}`);
        n = BigInt(m[1] as string);
      }
      const limit = INT_RANGE[bits] ?? (INT_RANGE[64] as bigint);
      if (n >= limit || n < -limit) throw new PolicyEvalError('integer out of range');
      return n;
    }
    case 'bool':
      return parseBool(String(v));
  }
}

export function parseUuid(text: string): string {
  let s = text;
  if (s.startsWith('{')) {
    if (!s.endsWith('}')) throw new PolicyEvalError(`invalid input syntax for type uuid: ${JSON.stringify(text)}`);
    s = s.slice(1, -1);
  }
  let hex = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (/[0-9a-fA-F]/.test(c)) hex += c.toLowerCase();
    // Postgres accepts a hyphen after any group of four digits, never two in a row or at the end.
    else if (c === '-' && hex.length > 0 && hex.length % 4 === 0 && hex.length < 32 && s[i - 1] !== '-') continue;
    else throw new PolicyEvalError(`invalid input syntax for type uuid: ${JSON.stringify(text)}`);
  }
  if (hex.length !== 32 || s.endsWith('-'))
    throw new PolicyEvalError(`invalid input syntax for type uuid: ${JSON.stringify(text)}`);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function parseBool(text: string): boolean {
  const s = text.trim().toLowerCase();
  const prefix = (word: string, min: number) => s.length >= min && word.startsWith(s);
  if (s === '1' || prefix('true', 1) || prefix('yes', 1) || prefix('on', 2)) return true;
  if (s === '0' || prefix('false', 1) || prefix('no', 1) || prefix('off', 2)) return false;
  throw new PolicyEvalError(`invalid input syntax for type boolean: ${JSON.stringify(text)}`);
}

function compare(op: CmpOp, a: PValue, b: PValue): boolean {
  const c = a < b ? -1 : a > b ? 1 : 0;
  switch (op) {
    case '=':
      return c === 0;
    case '<>':
      return c !== 0;
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    case '>=':
      return c >= 0;
  }
}

// ── binding claims ─────────────────────────────────────────────────────────

const TRUE: PExpr = { k: 'const', type: 'bool', v: true };
const FALSE: PExpr = { k: 'const', type: 'bool', v: false };

function hasColumn(e: PExpr): boolean {
  switch (e.k) {
    case 'col':
      return true;
    case 'const':
    case 'claim':
      return false;
    case 'cast':
      return hasColumn(e.e);
    case 'cmp':
      return hasColumn(e.l) || hasColumn(e.r);
    case 'any':
      return hasColumn(e.l) || e.list.some(hasColumn);
    case 'and':
    case 'or':
      return e.xs.some(hasColumn);
    case 'not':
      return hasColumn(e.x);
    case 'isnull':
      return hasColumn(e.x);
  }
}

/**
 * Folds every part that does not read the row into a constant, given the
 * subscriber's claims. Throws PolicyEvalError when Postgres would fail the
 * query for these claims (a claim cast to uuid that is no uuid).
 */
export function bindClaims(e: PExpr, claims: Claims): PExpr {
  if (!hasColumn(e)) {
    const v = evaluate(e, {}, claims);
    return { k: 'const', type: typeOf(e), v };
  }
  switch (e.k) {
    case 'cast':
      return { ...e, e: bindClaims(e.e, claims) };
    case 'cmp':
      return { ...e, l: bindClaims(e.l, claims), r: bindClaims(e.r, claims) };
    case 'any':
      return { ...e, l: bindClaims(e.l, claims), list: e.list.map((x) => bindClaims(x, claims)) };
    case 'not': {
      const x = bindClaims(e.x, claims);
      if (x.k === 'const' && x.v !== null) return x.v ? FALSE : TRUE;
      return { k: 'not', x };
    }
    case 'isnull':
      return { ...e, x: bindClaims(e.x, claims) };
    case 'and':
    case 'or': {
      // Kleene folding: a decisive constant decides; neutral constants drop; unknown stays.
      const decisive = e.k === 'or';
      const xs: PExpr[] = [];
      for (const child of e.xs) {
        const x = bindClaims(child, claims);
        if (x.k === 'const' && x.v === decisive) return decisive ? TRUE : FALSE;
        if (x.k === 'const' && x.v === !decisive) continue;
        xs.push(x);
      }
      if (xs.length === 0) return decisive ? FALSE : TRUE;
      if (xs.length === 1 && (xs[0] as PExpr).k !== 'const') return xs[0] as PExpr;
      return { k: e.k, xs };
    }
    default:
      return e;
  }
}

// ── routing hints ──────────────────────────────────────────────────────────

export interface Slot {
  column: string;
  key: string;
}

/**
 * Pairs (column, routing key) such that a row the expression accepts has one of
 * them; null when no such list is known (route by scan). An empty list: no row
 * can ever be accepted.
 */
export function alternatives(e: PExpr): Slot[] | null {
  switch (e.k) {
    case 'const':
      return e.v === true ? null : [];
    case 'cmp':
      if (e.op !== '=') return null;
      return pairSlot(e.l, e.r) ?? pairSlot(e.r, e.l);
    case 'any': {
      if (e.op !== '=' || e.all) return null;
      const out: Slot[] = [];
      for (const item of e.list) {
        const s = pairSlot(e.l, item) ?? pairSlot(item, e.l);
        if (s === null) return null;
        out.push(...s);
      }
      return out;
    }
    case 'and': {
      let best: Slot[] | null = null;
      for (const x of e.xs) {
        const a = alternatives(x);
        if (a !== null && (best === null || a.length < best.length)) best = a;
      }
      return best;
    }
    case 'or': {
      const out: Slot[] = [];
      for (const x of e.xs) {
        const a = alternatives(x);
        if (a === null) return null;
        out.push(...a);
      }
      return out;
    }
    default:
      return null;
  }
}

/** `col = const` or `col::text = 'text'`: the routing key of the one column value that makes it true. */
function pairSlot(colSide: PExpr, constSide: PExpr): Slot[] | null {
  if (constSide.k !== 'const') return null;
  if (constSide.v === null) return [];
  let col: Extract<PExpr, { k: 'col' }>;
  let value: PValue;
  if (colSide.k === 'col') {
    col = colSide;
    value = constSide.v;
  } else if (colSide.k === 'cast' && colSide.to === 'text' && colSide.e.k === 'col') {
    col = colSide.e;
    const canonical = canonicalFromText(col.type, constSide.v as string);
    if (canonical === undefined) return []; // no value of the column prints as this text
    value = canonical;
  } else return null;
  let key: string | null;
  try {
    key = valueKey(col.typeOid, rowForm(col.typeOid, value));
  } catch {
    return []; // no value of the column is this constant (an int8 claim beyond an int4 column)
  }
  return key === null ? null : [{ column: col.name, key }];
}

/** The value whose text output is exactly `text`, or undefined if none has that output. */
function canonicalFromText(type: VType, text: string): PValue | undefined {
  switch (type) {
    case 'text':
      return text;
    case 'uuid':
      return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(text) ? text : undefined;
    case 'int':
      return /^-?(0|[1-9][0-9]*)$/.test(text) ? BigInt(text) : undefined;
    case 'bool':
      return text === 'true' ? true : text === 'false' ? false : undefined;
  }
}

/** How a value of the column's type appears in a decoded row (see capture/pg-values.ts). */
function rowForm(typeOid: number, v: PValue): unknown {
  if (typeof v === 'bigint') return typeOid === 20 ? v.toString() : Number(v);
  return v;
}
