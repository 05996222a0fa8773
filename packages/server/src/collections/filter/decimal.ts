/**
 * Postgres numeric compared exactly: values stay digit strings, so "12.50" = 12.5 and
 * 9007199254740993 ≠ 9007199254740992, with no float rounding anywhere.
 */
export type Decimal =
  /** value = ±0.<digits> × 10^exp; digits has no leading/trailing zeros; '' is zero. */
  { kind: 'finite'; neg: boolean; digits: string; exp: number } | { kind: 'inf'; neg: boolean } | { kind: 'nan' };

const FINITE = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** Parses decimal text (optionally with exponent) or NaN/Infinity words; null if not a decimal. */
export function parseDecimal(text: string): Decimal | null {
  switch (text.toLowerCase()) {
    case 'nan':
      return { kind: 'nan' };
    case 'infinity':
    case '+infinity':
    case 'inf':
    case '+inf':
      return { kind: 'inf', neg: false };
    case '-infinity':
    case '-inf':
      return { kind: 'inf', neg: true };
  }
  const m = FINITE.exec(text);
  if (!m) return null;
  const int = m[2] ?? '';
  const frac = m[3] ?? '';
  if (int === '' && frac === '') return null;
  const shift = m[4] === undefined ? 0 : Number(m[4]);
  if (!Number.isSafeInteger(shift)) return null;
  const all = int + frac;
  let lead = 0;
  while (lead < all.length && all.charCodeAt(lead) === 48) lead++;
  let end = all.length;
  while (end > lead && all.charCodeAt(end - 1) === 48) end--;
  if (end === lead) return { kind: 'finite', neg: false, digits: '', exp: 0 };
  return { kind: 'finite', neg: m[1] === '-', digits: all.slice(lead, end), exp: int.length + shift - lead };
}

/** Canonical text: plain notation (what Postgres numeric_in accepts), minimal digits; also the equality key. */
export function formatDecimal(d: Decimal): string {
  if (d.kind === 'nan') return 'NaN';
  if (d.kind === 'inf') return d.neg ? '-Infinity' : 'Infinity';
  const { digits, exp } = d;
  if (digits === '') return '0';
  let body: string;
  if (exp <= 0) body = `0.${'0'.repeat(-exp)}${digits}`;
  else if (exp >= digits.length) body = digits + '0'.repeat(exp - digits.length);
  else body = `${digits.slice(0, exp)}.${digits.slice(exp)}`;
  return d.neg ? `-${body}` : body;
}

/** Postgres numeric order: -Infinity < finite < Infinity < NaN, and NaN = NaN. */
export function compareDecimal(a: Decimal, b: Decimal): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  if (a.kind !== 'finite' || b.kind !== 'finite') return 0;
  const sa = signOf(a);
  const sb = signOf(b);
  if (sa !== sb) return sa < sb ? -1 : 1;
  if (sa === 0) return 0;
  // Digit strings carry no trailing zeros, so plain string order is magnitude order at equal exponent.
  const mag = a.exp !== b.exp ? (a.exp < b.exp ? -1 : 1) : a.digits < b.digits ? -1 : a.digits > b.digits ? 1 : 0;
  return mag === 0 ? 0 : sa * mag;
}

function rank(d: Decimal): number {
  if (d.kind === 'nan') return 3;
  if (d.kind === 'inf') return d.neg ? 0 : 2;
  return 1;
}
function signOf(d: { neg: boolean; digits: string }): number {
  return d.digits === '' ? 0 : d.neg ? -1 : 1;
}
