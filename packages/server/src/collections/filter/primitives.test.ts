import { describe, expect, it } from 'vitest';
import { compareDecimal, formatDecimal, parseDecimal, type Decimal } from './decimal.ts';
import { civilFromDays, daysFromCivil, formatTimestamp, parseDateTime } from './datetime.ts';

const dec = (s: string): Decimal => {
  const d = parseDecimal(s);
  if (!d) throw new Error(`not a decimal: ${s}`);
  return d;
};

describe('decimal', () => {
  it('canonicalises', () => {
    const cases: Array<[string, string]> = [
      ['12.50', '12.5'],
      ['-0.00', '0'],
      ['+007', '7'],
      ['.5', '0.5'],
      ['5.', '5'],
      ['1.5e3', '1500'],
      ['1.5E-3', '0.0015'],
      ['-120e-1', '-12'],
      ['nan', 'NaN'],
      ['-Infinity', '-Infinity'],
      ['9007199254740993', '9007199254740993'],
    ];
    for (const [input, out] of cases) expect(formatDecimal(dec(input))).toBe(out);
    for (const bad of ['', '.', '1..2', '1e', 'e5', '0x10', ' 1', '1_000']) expect(parseDecimal(bad)).toBeNull();
  });

  it('orders like Postgres numeric', () => {
    const sorted = [
      '-Infinity',
      '-1e20',
      '-12.5',
      '-0.001',
      '0',
      '0.0001',
      '0.001',
      '12.5',
      '12.50001',
      '1e20',
      'Infinity',
      'NaN',
    ];
    for (let i = 0; i < sorted.length; i++) {
      for (let j = 0; j < sorted.length; j++) {
        expect(compareDecimal(dec(sorted[i] ?? ''), dec(sorted[j] ?? ''))).toBe(Math.sign(i - j));
      }
    }
    expect(compareDecimal(dec('12.50'), dec('12.5'))).toBe(0);
    expect(compareDecimal(dec('9007199254740993'), dec('9007199254740992'))).toBe(1);
  });
});

describe('datetime', () => {
  it('round-trips civil dates across eras', () => {
    for (const days of [-1_000_000, -719_528, -719_162, -1, 0, 1, 19_723, 2_932_896, 5_000_000]) {
      const { year, month, day } = civilFromDays(days);
      expect(daysFromCivil(year, month, day)).toBe(days);
    }
    expect(civilFromDays(0)).toEqual({ year: 1970, month: 1, day: 1 });
    expect(daysFromCivil(2000, 3, 1) - daysFromCivil(2000, 2, 28)).toBe(2);
  });

  it('parses Postgres output and ISO input to the same instant', () => {
    const us = (s: string) => parseDateTime(s)?.micros;
    expect(us('2026-01-02 03:04:05.5+00')).toBe(us('2026-01-02T03:04:05.500Z'));
    expect(us('2026-01-02 08:34:05.5+05:30')).toBe(us('2026-01-02T03:04:05.5Z'));
    expect(us('2026-01-01 23:04:05.5-04')).toBe(us('2026-01-02T03:04:05.5+0000'));
    expect(us('1970-01-01 00:00:00.000001+00')).toBe(1n);
    expect(us('0001-12-31 BC')).toBe(BigInt(daysFromCivil(0, 12, 31)) * 86_400_000_000n);
    expect(parseDateTime('2026-01-02')?.hasTime).toBe(false);
    for (const bad of ['2026-13-01', '2023-02-29', '0000-01-01', '2026-01-02 25:00:00', '2026-01-02+05', 'now']) {
      expect(parseDateTime(bad)).toBeNull();
    }
  });

  it('formats canonical UTC text', () => {
    expect(formatTimestamp(0n, true)).toBe('1970-01-01 00:00:00.000000+00');
    expect(formatTimestamp(-1n, false)).toBe('1969-12-31 23:59:59.999999');
  });
});
