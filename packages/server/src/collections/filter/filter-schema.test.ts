import { describe, expect, it } from 'vitest';
import { filterSchema, FILTER_LIMITS } from './filter-types.ts';

const messages = (input: unknown) => {
  const r = filterSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('filterSchema', () => {
  it('accepts every operator and value form', () => {
    const f = {
      and: [
        { eq: ['a', 1] },
        { neq: ['a', 'x'] },
        { lt: ['a', { value: null }] },
        { lte: ['a', { param: 'p' }] },
        { gt: ['a', { claim: 'sub' }] },
        { gte: ['a', true] },
        { in: ['a', [1, { param: 'q' }, null]] },
        { in: ['a', { param: 'list' }] },
        { or: [{ isNull: 'a' }, { not: { isNull: 'b' } }] },
      ],
    };
    const r = filterSchema.safeParse(f);
    expect(r.success).toBe(true);
    expect(r.data).toEqual(f);
  });

  it('reports each problem with its path', () => {
    expect(
      messages({ and: [{ eq: ['a'] }, { foo: 1 }, { in: ['a', { claim: 'c' }] }, { eq: ['', { param: '' }] }] }),
    ).toEqual([
      'and.0.eq: eq takes [column, value]',
      'and.1: expected exactly one operator (eq, neq, lt, lte, gt, gte, in, isNull, and, or, not), got keys: foo',
      'and.2.in.1: expected an array of values or { param: name }',
      'and.3.eq.0: expected a column name (non-empty string)',
      'and.3.eq.1: expected a string, finite number, boolean, null, { value }, { param } or { claim }; { param } and { claim } take a non-empty name',
    ]);
    expect(messages({ eq: ['a', 1], neq: ['a', 1] })).toEqual([
      ': expected exactly one operator (eq, neq, lt, lte, gt, gte, in, isNull, and, or, not), got keys: eq, neq',
    ]);
    expect(messages({ eq: ['a', [1]] })[0]).toMatch(/^eq.1: expected a string/);
    expect(messages({ eq: ['a', { value: 1, param: 'p' }] })[0]).toMatch(/^eq.1: expected/);
    expect(messages({ eq: ['a', Infinity] })).toEqual(['eq.1: numbers must be finite, got Infinity']);
    expect(messages({ and: {} })).toEqual(['and: and takes an array of filters']);
    expect(messages(null)[0]).toMatch(/expected a filter object/);
  });

  it('enforces depth and node limits', () => {
    const nest = (depth: number): unknown => {
      let f: unknown = { isNull: 'a' };
      for (let i = 1; i < depth; i++) f = { not: f };
      return f;
    };
    expect(messages(nest(FILTER_LIMITS.maxDepth))).toEqual([]);
    expect(messages(nest(FILTER_LIMITS.maxDepth + 1))[0]).toMatch(/nested deeper than 16/);
    expect(messages(nest(100_000))).toHaveLength(1); // stops at the limit instead of overflowing the stack
    const wide = (n: number) => ({ and: Array.from({ length: n - 1 }, () => ({ isNull: 'a' })) });
    expect(messages(wide(FILTER_LIMITS.maxNodes))).toEqual([]);
    expect(messages(wide(FILTER_LIMITS.maxNodes + 1))).toEqual([
      `and.${FILTER_LIMITS.maxNodes - 1}: filter has more than 256 nodes`,
    ]);
    expect(messages({ in: ['a', new Array(1001).fill(1)] })).toEqual(['in.1: in list has more than 1000 values']);
  });
});
