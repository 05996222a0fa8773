/**
 * Order statistics for latency samples. Percentiles interpolate linearly between
 * the two nearest ranks (the "R-7" / spreadsheet definition), so p50 of an even
 * count is the mean of the middle two, and p100 is the maximum.
 */

/** The p-th percentile (0 ≤ p ≤ 100) of already sorted ascending values; NaN when empty. */
export function percentileSorted(sorted: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile out of range: ${p}`);
  const n = sorted.length;
  if (n === 0) return NaN;
  const rank = (p / 100) * (n - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (rank - lo);
}

/** The p-th percentile of values in any order (the input is not modified). */
export function percentile(values: readonly number[], p: number): number {
  return percentileSorted(sortNumbers(values), p);
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function sortNumbers(values: readonly number[]): number[] {
  // A typed array sorts numerically (Array#sort would compare as strings).
  return Array.from(Float64Array.from(values).sort());
}

export interface Summary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = sortNumbers(values);
  return {
    count: sorted.length,
    p50: percentileSorted(sorted, 50),
    p90: percentileSorted(sorted, 90),
    p99: percentileSorted(sorted, 99),
    max: sorted.length > 0 ? (sorted[sorted.length - 1] as number) : NaN,
  };
}

/** `a / b` formatted as a ratio, e.g. `3.1×`; `–` when either side is missing. */
export function ratio(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b <= 0) return '–';
  const r = a / b;
  return `${r >= 10 ? r.toFixed(0) : r.toFixed(1)}×`;
}
