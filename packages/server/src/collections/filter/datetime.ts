/**
 * Date/time values as exact integers so ordering matches Postgres: timestamps as microseconds since
 * 1970-01-01 00:00 UTC, dates as days since 1970-01-01. Proleptic Gregorian calendar, like Postgres.
 */
export const POS_INFINITY = 1n << 100n;
export const NEG_INFINITY = -POS_INFINITY;

const US_PER_SECOND = 1_000_000n;
const US_PER_DAY = 86_400n * US_PER_SECOND;

// Postgres ISO output ("2026-01-02 03:04:05.5+05:30", "0044-03-15 BC") and ISO 8601 input ("…T…Z").
const DATETIME =
  /^(\d{4,})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)?)?( BC)?$/i;

export interface ParsedDateTime {
  /** µs since the epoch; shifted to UTC when an offset was written, otherwise the wall clock read as UTC. */
  micros: bigint;
  /** Days since the epoch of the written date (before any offset shift); ±Infinity when infinite. */
  days: number;
  /** Year as written (AD numbering, no BC adjustment). */
  year: number;
  hasTime: boolean;
  hasOffset: boolean;
  bc: boolean;
  infinite: boolean;
}

/** Returns null for anything that isn't a valid date/time in the accepted grammar. */
export function parseDateTime(text: string): ParsedDateTime | null {
  const lower = text.toLowerCase();
  if (lower === 'infinity' || lower === '+infinity' || lower === '-infinity') {
    const neg = lower === '-infinity';
    const micros = neg ? NEG_INFINITY : POS_INFINITY;
    const days = neg ? -Infinity : Infinity;
    return { micros, days, year: 0, hasTime: false, hasOffset: false, bc: false, infinite: true };
  }
  const m = DATETIME.exec(text);
  if (!m) return null;
  const [, ys, mos, ds, hs, mis, ss, frac, offset, bcs] = m;
  const written = Number(ys);
  const bc = bcs !== undefined;
  const year = bc ? 1 - written : written;
  const month = Number(mos);
  const day = Number(ds);
  if (written === 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  const h = Number(hs ?? 0);
  const mi = Number(mis ?? 0);
  const s = Number(ss ?? 0);
  if (h > 23 || mi > 59 || s > 59) return null;
  const days = daysFromCivil(year, month, day);
  let micros = BigInt(days) * US_PER_DAY + BigInt((h * 60 + mi) * 60 + s) * US_PER_SECOND;
  if (frac !== undefined) {
    // Beyond microseconds: round half up. Bound values are re-sent in canonical form, so the
    // rounding rule only has to be consistent, not identical to Postgres's.
    micros += BigInt(frac.slice(0, 6).padEnd(6, '0')) + (frac.length > 6 && frac.charCodeAt(6) >= 53 ? 1n : 0n);
  }
  if (offset !== undefined && offset.toUpperCase() !== 'Z') {
    const digits = offset.slice(1).replace(/:/g, '');
    const oh = Number(digits.slice(0, 2));
    const om = Number(digits.slice(2, 4) || '0');
    const os = Number(digits.slice(4, 6) || '0');
    if (oh > 15 || om > 59 || os > 59) return null;
    const shift = BigInt((oh * 60 + om) * 60 + os) * US_PER_SECOND;
    micros += offset.startsWith('-') ? shift : -shift;
  }
  return {
    micros,
    days,
    year: written,
    hasTime: hs !== undefined,
    hasOffset: offset !== undefined,
    bc,
    infinite: false,
  };
}

/** Canonical Postgres input text for a timestamp; `+00` pins timestamptz to UTC whatever the session TimeZone. */
export function formatTimestamp(micros: bigint, withZone: boolean): string {
  if (micros >= POS_INFINITY) return 'infinity';
  if (micros <= NEG_INFINITY) return '-infinity';
  const days = floorDiv(micros, US_PER_DAY);
  const rem = micros - days * US_PER_DAY;
  const secs = Number(rem / US_PER_SECOND);
  const us = Number(rem % US_PER_SECOND);
  const time = `${pad(Math.floor(secs / 3600), 2)}:${pad(Math.floor(secs / 60) % 60, 2)}:${pad(secs % 60, 2)}`;
  return `${formatDate(Number(days))} ${time}.${pad(us, 6)}${withZone ? '+00' : ''}`;
}

/** Canonical text for a finite date (AD years only: bound values are range-checked before formatting). */
export function formatDate(days: number): string {
  const { year, month, day } = civilFromDays(days);
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
}

// Howard Hinnant's days_from_civil / civil_from_days, valid for negative years too.
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * ((month + 9) % 12) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day: doy - Math.floor((153 * mp + 2) / 5) + 1 };
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}
function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}
function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}
