import { describe, expect, it } from 'vitest';
import { median, percentile, percentileSorted, ratio, sortNumbers, summarize } from './stats.ts';

describe('percentile', () => {
  it('interpolates linearly between ranks', () => {
    const v = [1, 2, 3, 4];
    expect(percentile(v, 0)).toBe(1);
    expect(percentile(v, 100)).toBe(4);
    expect(percentile(v, 50)).toBe(2.5);
    expect(percentile(v, 25)).toBeCloseTo(1.75);
    expect(percentile([10, 20], 90)).toBeCloseTo(19);
  });

  it('sorts numerically without touching the input', () => {
    const v = [10, 9, 100, 1];
    expect(percentile(v, 100)).toBe(100);
    expect(percentile(v, 0)).toBe(1);
    expect(v).toEqual([10, 9, 100, 1]);
    expect(sortNumbers([10, 9, 100, 1])).toEqual([1, 9, 10, 100]);
  });

  it('p99 of 1..100 sits between the two top ranks', () => {
    const v = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(v, 99)).toBeCloseTo(99.01);
  });

  it('is NaN for no values, and the value itself for one', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(percentile([7], 99)).toBe(7);
  });

  it('rejects percentiles outside 0..100', () => {
    expect(() => percentileSorted([1], 101)).toThrow(RangeError);
    expect(() => percentileSorted([1], -1)).toThrow(RangeError);
    expect(() => percentileSorted([1], NaN)).toThrow(RangeError);
  });
});

describe('median', () => {
  it('is the middle value, or the mean of the middle two', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('summarize', () => {
  it('reports count, p50, p90, p99 and max', () => {
    const s = summarize(Array.from({ length: 101 }, (_, i) => i));
    expect(s).toEqual({ count: 101, p50: 50, p90: 90, p99: 99, max: 100 });
  });

  it('is NaN but count 0 when empty', () => {
    const s = summarize([]);
    expect(s.count).toBe(0);
    expect(s.p50).toBeNaN();
    expect(s.max).toBeNaN();
  });
});

describe('ratio', () => {
  it('formats one decimal below 10×, none above', () => {
    expect(ratio(3.1, 1)).toBe('3.1×');
    expect(ratio(1, 1)).toBe('1.0×');
    expect(ratio(140, 10)).toBe('14×');
  });

  it('is a dash when it cannot be computed', () => {
    expect(ratio(1, 0)).toBe('–');
    expect(ratio(NaN, 1)).toBe('–');
  });
});
