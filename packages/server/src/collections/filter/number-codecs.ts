import { show, order, type Bindable, type Codec } from './codec.ts';
import { compareDecimal, formatDecimal, parseDecimal, type Decimal } from './decimal.ts';
import { CoercionError } from './errors.ts';

const INT_TEXT = /^[+-]?\d+$/;
const FLOAT_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const FLOAT_SPECIAL = /^[+-]?(?:nan|infinity)$/i;
const plain = (q: string) => q;
const isNull = (q: string) => `${q} IS NULL`;
const numberKey = (n: number) => (Number.isNaN(n) ? 'NaN' : String(n)); // String(-0) is "0", as Postgres -0 = 0

/** int2/int4: exact as JS numbers. */
export function intCodec(typeName: string, bits: 16 | 32): Codec<number> {
  const max = 2 ** (bits - 1) - 1;
  const min = -max - 1;
  const parse = (value: unknown): number => {
    const n = typeof value === 'string' && INT_TEXT.test(value) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
      throw new CoercionError(`expected an integer between ${min} and ${max} (${typeName}), got ${show(value)}`);
    }
    return n === 0 ? 0 : n;
  };
  return {
    typeName,
    compareSql: plain,
    isNullSql: isNull,
    fromBind: parse,
    fromRow: parse,
    toSql: String,
    key: String,
    compare: order,
  };
}

const INT8_MAX = 2n ** 63n - 1n;
const INT8_MIN = -INT8_MAX - 1n;

/** int8 arrives as decimal text and is compared as BigInt, so no precision is lost above 2^53. */
export const int8Codec: Codec<bigint> = {
  typeName: 'int8',
  compareSql: plain,
  isNullSql: isNull,
  fromBind(value) {
    if (typeof value === 'number' && !Number.isSafeInteger(value)) {
      throw new CoercionError(
        `expected an int8; numbers must be safe integers (pass larger values as decimal strings), got ${show(value)}`,
      );
    }
    return parseInt8(value);
  },
  fromRow: (value) => parseInt8(value),
  toSql: String,
  key: String,
  compare: order,
};

function parseInt8(value: unknown): bigint {
  let n: bigint | undefined;
  if (typeof value === 'number' && Number.isInteger(value)) n = BigInt(value);
  else if (typeof value === 'string' && INT_TEXT.test(value)) n = BigInt(value.replace(/^\+/, ''));
  if (n === undefined || n < INT8_MIN || n > INT8_MAX) throw new CoercionError(`expected an int8, got ${show(value)}`);
  return n;
}

/**
 * float4/float8 with Postgres semantics: NaN = NaN and NaN sorts above Infinity. float4 values are
 * rounded to single precision on both sides so the bound value and the row value are the same float4.
 */
export function floatCodec(typeName: string, single: boolean): Codec<number> {
  const round = single ? Math.fround : (n: number) => n;
  const parse = (value: unknown, bind: boolean): number => {
    let n: number | undefined;
    if (typeof value === 'number') n = value;
    else if (typeof value === 'string') n = parseFloatText(value);
    if (n === undefined) throw new CoercionError(`expected a ${typeName} number, got ${show(value)}`);
    const r = round(n);
    // Postgres rejects finite text that overflows ("1e999", or 1e39 for float4) instead of saturating.
    if (bind && !Number.isFinite(r) && !(typeof value === 'string' && FLOAT_SPECIAL.test(value))) {
      throw new CoercionError(`value out of range for ${typeName}: ${show(value)}`);
    }
    return r;
  };
  return {
    typeName,
    compareSql: plain,
    isNullSql: isNull,
    fromBind: (value: Bindable) => parse(value, true),
    fromRow: (value: unknown) => parse(value, false),
    // Shortest round-trip text; Postgres reads it back to the identical float4/float8.
    toSql: numberKey,
    key: numberKey,
    compare: (a, b) => (Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : Number.isNaN(b) ? -1 : order(a, b)),
  };
}

function parseFloatText(text: string): number | undefined {
  switch (text.toLowerCase()) {
    case 'nan':
      return NaN;
    case 'infinity':
    case '+infinity':
      return Infinity;
    case '-infinity':
      return -Infinity;
  }
  return FLOAT_TEXT.test(text) ? Number(text) : undefined;
}

/** Keeps bound numerics small enough to format in plain notation and well inside Postgres limits. */
const MAX_BOUND_DIGITS = 1000;

export const numericCodec: Codec<Decimal> = {
  typeName: 'numeric',
  compareSql: plain,
  isNullSql: isNull,
  fromBind(value) {
    const d = parseNumeric(value);
    if (d.kind === 'finite' && (d.digits.length > MAX_BOUND_DIGITS || Math.abs(d.exp) > MAX_BOUND_DIGITS)) {
      throw new CoercionError(`numeric value out of supported range: ${show(value)}`);
    }
    return d;
  },
  fromRow: (value) => parseNumeric(value),
  toSql: formatDecimal,
  key: formatDecimal,
  compare: compareDecimal,
};

function parseNumeric(value: unknown): Decimal {
  const d =
    typeof value === 'string' ? parseDecimal(value) : typeof value === 'number' ? parseDecimal(numberKey(value)) : null;
  if (d === null) throw new CoercionError(`expected a numeric (decimal number or string), got ${show(value)}`);
  return d;
}
