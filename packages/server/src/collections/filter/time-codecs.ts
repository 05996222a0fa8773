import { expectString, order, show, type Codec } from './codec.ts';
import { daysFromCivil, formatDate, formatTimestamp, parseDateTime, type ParsedDateTime } from './datetime.ts';
import { CoercionError } from './errors.ts';

type Kind = 'timestamptz' | 'timestamp' | 'date';

const HINT: Record<Kind, string> = {
  timestamptz: 'an ISO 8601 timestamp like 2026-01-02T03:04:05.123Z (no offset means UTC)',
  timestamp: 'an ISO 8601 timestamp without offset like 2026-01-02T03:04:05.123',
  date: 'a date like 2026-01-02',
};

// Bound values are re-sent in canonical form; keeping them to AD 1..9999 keeps that form plain ISO.
const US_PER_DAY = 86_400_000_000n;
const MIN_BOUND = BigInt(daysFromCivil(1, 1, 1)) * US_PER_DAY;
const MAX_BOUND = BigInt(daysFromCivil(10000, 1, 1)) * US_PER_DAY - 1n;

/**
 * timestamptz/timestamp compare as exact µs since the epoch, date as days; ±infinity sort outside.
 * Row text may carry any offset (so the session TimeZone doesn't matter); bound values are sent
 * back as canonical UTC text, so Postgres compares exactly the instant JS compares.
 */
function timeCodec(kind: Kind): Codec<bigint> {
  const parse = (value: unknown, bind: boolean): bigint => {
    const p = parseDateTime(expectBindString(value, kind, bind));
    const problem = p === null ? 'unrecognised format' : check(p, kind, bind);
    if (p === null || problem) throw new CoercionError(`expected ${HINT[kind]}, got ${show(value)}: ${problem}`);
    if (p.infinite || kind !== 'date') return p.micros;
    return BigInt(p.days);
  };
  return {
    typeName: kind,
    compareSql: (q) => q,
    isNullSql: (q) => `${q} IS NULL`,
    fromBind: (value) => parse(value, true),
    fromRow: (value) => parse(value, false),
    toSql: (n) => (kind === 'date' && finite(n) ? formatDate(Number(n)) : formatTimestamp(n, kind === 'timestamptz')),
    key: (n) => (finite(n) ? String(n) : n > 0n ? 'infinity' : '-infinity'),
    compare: order,
  };
}

function finite(n: bigint): boolean {
  return n > -(1n << 90n) && n < 1n << 90n;
}

function expectBindString(value: unknown, kind: Kind, bind: boolean): string {
  if (bind && typeof value !== 'string') throw new CoercionError(`expected ${HINT[kind]}, got ${show(value)}`);
  return expectString(value, kind);
}

function check(p: ParsedDateTime, kind: Kind, bind: boolean): string {
  if (kind === 'date' && p.hasTime) return 'a date cannot have a time part';
  // Postgres would silently drop the offset for timestamp without time zone; refuse the ambiguity.
  if (kind === 'timestamp' && p.hasOffset) return 'timestamp without time zone cannot carry a UTC offset';
  if (!bind || p.infinite) return '';
  if (p.bc || p.year > 9999) return 'years must be between 1 and 9999';
  if (p.micros < MIN_BOUND || p.micros > MAX_BOUND) return 'out of the supported range (years 1 to 9999 in UTC)';
  return '';
}

export const timestamptzCodec = timeCodec('timestamptz');
export const timestampCodec = timeCodec('timestamp');
export const dateCodec = timeCodec('date');
