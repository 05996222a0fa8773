import { describe, expect, it } from 'vitest';
import {
  compileFilter,
  FilterBindError,
  FilterCompileError,
  FilterRowError,
  valueKey,
  type ColumnInfo,
} from './compile-filter.ts';
import type { Filter } from './filter-types.ts';
import { PG_TYPE_OIDS as T } from './codecs.ts';

const COLUMNS: ColumnInfo[] = [
  { name: 'id', typeOid: T.int8 },
  { name: 'qty', typeOid: T.int4 },
  { name: 'small', typeOid: T.int2 },
  { name: 'price', typeOid: T.numeric },
  { name: 'ratio', typeOid: T.float8 },
  { name: 'r4', typeOid: T.float4 },
  { name: 'done', typeOid: T.bool },
  { name: 'title', typeOid: T.text },
  { name: 'code', typeOid: T.bpchar },
  { name: 'nm', typeOid: T.name },
  { name: 'org', typeOid: T.uuid },
  { name: 'at', typeOid: T.timestamptz },
  { name: 'local', typeOid: T.timestamp },
  { name: 'day', typeOid: T.date },
  { name: 'meta', typeOid: T.jsonb },
  { name: 'doc', typeOid: T.json },
  { name: 'status', typeOid: 91234 }, // an enum
  { name: 'we"ird', typeOid: T.text },
];

const bind = (filter: Filter, params: Record<string, unknown> = {}, claims?: Record<string, unknown>) =>
  compileFilter(filter, COLUMNS).bind(params, claims);
const sql = (filter: Filter, params: Record<string, unknown> = {}, first = 1) => bind(filter, params).toSql(first);
const matches = (filter: Filter, row: Record<string, unknown>, params: Record<string, unknown> = {}) =>
  bind(filter, params).matches(row);

describe('SQL text', () => {
  it('renders each operator with placeholders', () => {
    expect(sql({ eq: ['qty', 3] })).toEqual({ text: '"qty" = $1', values: ['3'] });
    expect(sql({ neq: ['qty', 3] }).text).toBe('"qty" <> $1');
    expect(sql({ lt: ['qty', 3] }).text).toBe('"qty" < $1');
    expect(sql({ lte: ['qty', 3] }).text).toBe('"qty" <= $1');
    expect(sql({ gt: ['qty', 3] }).text).toBe('"qty" > $1');
    expect(sql({ gte: ['qty', 3] }).text).toBe('"qty" >= $1');
    expect(sql({ isNull: 'qty' })).toEqual({ text: '"qty" IS NULL', values: [] });
    expect(sql({ in: ['qty', [1, 2]] })).toEqual({ text: '"qty" = ANY($1)', values: [['1', '2']] });
    expect(sql({ not: { eq: ['done', true] } })).toEqual({ text: 'NOT ("done" = $1)', values: ['true'] });
  });

  it('numbers placeholders from firstIndex across and/or', () => {
    const f: Filter = {
      and: [{ eq: ['qty', 1] }, { or: [{ eq: ['title', 'a'] }, { in: ['small', [{ param: 'p' }]] }] }],
    };
    expect(sql(f, { p: 7 }, 4)).toEqual({
      text: '("qty" = $4 AND ("title" = $5 OR "small" = ANY($6)))',
      values: ['1', 'a', ['7']],
    });
  });

  it('renders empty and/or/in as constants', () => {
    expect(sql({ and: [] }).text).toBe('true');
    expect(sql({ or: [] }).text).toBe('false');
    expect(sql({ in: ['qty', []] })).toEqual({ text: 'false', values: [] });
    expect(sql({ in: ['qty', { param: 'ids' }] }, { ids: [] })).toEqual({ text: 'false', values: [] });
  });

  it('quotes identifiers and never splices values', () => {
    const evil = `x'; DROP TABLE t; --`;
    const out = sql({ and: [{ eq: ['title', { param: 'q' }] }, { in: ['we"ird', [evil]] }] }, { q: evil });
    expect(out.text).toBe('("title" = $1 AND "we""ird" = ANY($2))');
    expect(out.text).not.toContain('DROP');
    expect(out.values).toEqual([evil, [evil]]);
  });

  it('sends canonical DB text so int8/numeric keep precision', () => {
    expect(sql({ eq: ['id', '9007199254740993'] }).values).toEqual(['9007199254740993']);
    expect(sql({ eq: ['price', '012.500'] }).values).toEqual(['12.5']);
    expect(sql({ eq: ['price', '1.5e3'] }).values).toEqual(['1500']);
    expect(sql({ eq: ['org', 'ABCDEF00-0000-0000-0000-00000000000A'] }).values).toEqual([
      'abcdef00-0000-0000-0000-00000000000a',
    ]);
    expect(sql({ eq: ['at', '2026-01-02T03:04:05.5+05:30'] }).values).toEqual(['2026-01-01 21:34:05.500000+00']);
    expect(sql({ eq: ['local', '2026-01-02T03:04:05'] }).values).toEqual(['2026-01-02 03:04:05.000000']);
    expect(sql({ eq: ['day', '2024-02-29'] }).values).toEqual(['2024-02-29']);
    expect(sql({ eq: ['r4', 0.1] }).values).toEqual(['0.10000000149011612']);
  });

  it('compares unknown types (enums) as text and json isNull as SQL or JSON null', () => {
    expect(sql({ eq: ['status', 'open'] }).text).toBe('"status"::text = $1');
    expect(sql({ in: ['status', ['a']] }).text).toBe('"status"::text = ANY($1)');
    expect(sql({ isNull: 'status' }).text).toBe('"status" IS NULL');
    expect(sql({ isNull: 'meta' }).text).toBe(`("meta" IS NULL OR jsonb_typeof("meta") = 'null')`);
    expect(sql({ isNull: 'doc' }).text).toBe(`("doc" IS NULL OR json_typeof("doc") = 'null')`);
  });

  it('passes null params as SQL NULL', () => {
    expect(sql({ eq: ['qty', { param: 'p' }] }, { p: null })).toEqual({ text: '"qty" = $1', values: [null] });
    expect(sql({ in: ['qty', { param: 'p' }] }, { p: [1, null] }).values).toEqual([['1', null]]);
  });

  it('rejects a bad firstIndex', () => {
    expect(() => sql({ eq: ['qty', 1] }, {}, 0)).toThrow(RangeError);
  });
});

describe('operators in JS', () => {
  const row = { qty: 5, title: 'Hello', done: false };
  it('compares', () => {
    expect(matches({ eq: ['qty', 5] }, row)).toBe(true);
    expect(matches({ eq: ['qty', '5'] }, row)).toBe(true);
    expect(matches({ neq: ['qty', 5] }, row)).toBe(false);
    expect(matches({ lt: ['qty', 6] }, row)).toBe(true);
    expect(matches({ lte: ['qty', 5] }, row)).toBe(true);
    expect(matches({ gt: ['qty', 5] }, row)).toBe(false);
    expect(matches({ gte: ['qty', 5] }, row)).toBe(true);
    expect(matches({ eq: ['title', 'hello'] }, row)).toBe(false);
    expect(matches({ eq: ['done', 'false'] }, row)).toBe(true);
    expect(matches({ in: ['title', ['x', 'Hello']] }, row)).toBe(true);
    expect(matches({ in: ['title', []] }, row)).toBe(false);
  });

  it('combines with and/or/not', () => {
    expect(matches({ and: [] }, row)).toBe(true);
    expect(matches({ or: [] }, row)).toBe(false);
    expect(matches({ and: [{ eq: ['qty', 5] }, { eq: ['done', false] }] }, row)).toBe(true);
    expect(matches({ and: [{ eq: ['qty', 5] }, { eq: ['done', true] }] }, row)).toBe(false);
    expect(matches({ or: [{ eq: ['qty', 4] }, { eq: ['done', false] }] }, row)).toBe(true);
    expect(matches({ not: { eq: ['qty', 4] } }, row)).toBe(true);
  });

  it('binds params and claims', () => {
    const f: Filter = { and: [{ eq: ['title', { param: 't' }] }, { eq: ['qty', { claim: 'q' }] }] };
    const c = compileFilter(f, COLUMNS);
    expect(c.params).toEqual(['t']);
    expect(c.claims).toEqual(['q']);
    expect(c.columns).toEqual(['title', 'qty']);
    expect(c.bind({ t: 'Hello' }, { q: 5 }).matches(row)).toBe(true);
    expect(c.bind({ t: 'Hello' }, { q: 6 }).matches(row)).toBe(false);
    expect(matches({ eq: ['qty', { value: 5 }] }, row)).toBe(true);
  });
});

describe('NULL logic (SQL three-valued)', () => {
  const nul = { qty: null, title: 'a' };
  it('treats comparisons with NULL as unknown', () => {
    expect(matches({ eq: ['qty', 1] }, nul)).toBe(false);
    expect(matches({ neq: ['qty', 1] }, nul)).toBe(false);
    expect(matches({ not: { eq: ['qty', 1] } }, nul)).toBe(false);
    expect(matches({ not: { neq: ['qty', 1] } }, nul)).toBe(false);
    expect(matches({ eq: ['title', { param: 'p' }] }, nul, { p: null })).toBe(false);
    expect(matches({ neq: ['title', { param: 'p' }] }, nul, { p: null })).toBe(false);
    expect(matches({ eq: ['title', null] }, nul)).toBe(false);
  });

  it('applies Kleene and/or', () => {
    const unknown: Filter = { eq: ['qty', 1] };
    expect(matches({ or: [unknown, { eq: ['title', 'a'] }] }, nul)).toBe(true);
    expect(matches({ not: { or: [unknown, { eq: ['title', 'b'] }] } }, nul)).toBe(false);
    expect(matches({ not: { and: [unknown, { eq: ['title', 'b'] }] } }, nul)).toBe(true);
    expect(matches({ not: { and: [unknown, { eq: ['title', 'a'] }] } }, nul)).toBe(false);
  });

  it('isNull is two-valued', () => {
    expect(matches({ isNull: 'qty' }, nul)).toBe(true);
    expect(matches({ not: { isNull: 'qty' } }, nul)).toBe(false);
    expect(matches({ isNull: 'title' }, nul)).toBe(false);
  });

  it('follows NOT IN semantics with NULLs in the list', () => {
    const list = { p: ['a', null] };
    expect(matches({ in: ['title', { param: 'p' }] }, { title: 'a' }, list)).toBe(true);
    expect(matches({ in: ['title', { param: 'p' }] }, { title: 'b' }, list)).toBe(false);
    expect(matches({ not: { in: ['title', { param: 'p' }] } }, { title: 'b' }, list)).toBe(false);
    expect(matches({ not: { in: ['title', ['a']] } }, { title: 'b' })).toBe(true);
    expect(matches({ not: { in: ['title', ['a']] } }, { title: null })).toBe(false);
    // ANY over an empty array is false even for NULL, so NOT of it is true.
    expect(matches({ not: { in: ['title', []] } }, { title: null })).toBe(true);
  });

  it('treats JSON null like SQL NULL for json isNull', () => {
    expect(matches({ isNull: 'meta' }, { meta: null })).toBe(true);
    expect(matches({ isNull: 'meta' }, { meta: { a: 1 } })).toBe(false);
    expect(matches({ isNull: 'meta' }, { meta: 0 })).toBe(false);
  });
});

describe('exact numeric comparison', () => {
  it('compares int8 as BigInt', () => {
    const row = { id: '9007199254740993' };
    expect(matches({ eq: ['id', '9007199254740993'] }, row)).toBe(true);
    expect(matches({ eq: ['id', '9007199254740992'] }, row)).toBe(false);
    expect(matches({ gt: ['id', '9007199254740992'] }, row)).toBe(true);
    expect(matches({ lt: ['id', 9007199254740991] }, row)).toBe(false);
    expect(matches({ eq: ['id', '-9223372036854775808'] }, { id: '-9223372036854775808' })).toBe(true);
  });

  it('compares numeric as exact decimals', () => {
    expect(matches({ eq: ['price', 12.5] }, { price: '12.50' })).toBe(true);
    expect(matches({ eq: ['price', '12.5000000000000000001'] }, { price: '12.50' })).toBe(false);
    expect(matches({ gt: ['price', '12.5000000000000000001'] }, { price: '12.50' })).toBe(false);
    expect(matches({ lt: ['price', '-0.001'] }, { price: '-0.01' })).toBe(true);
    expect(matches({ eq: ['price', 0] }, { price: '-0.00' })).toBe(true);
    expect(matches({ gt: ['price', '1e20'] }, { price: '100000000000000000000.1' })).toBe(true);
    // Postgres: NaN = NaN and NaN sorts above everything, Infinity included.
    expect(matches({ eq: ['price', 'NaN'] }, { price: 'NaN' })).toBe(true);
    expect(matches({ gt: ['price', 'Infinity'] }, { price: 'NaN' })).toBe(true);
    expect(matches({ lt: ['price', '-1e100'] }, { price: '-Infinity' })).toBe(true);
  });

  it('compares floats as numbers with Postgres NaN ordering', () => {
    expect(matches({ eq: ['ratio', 0.1] }, { ratio: 0.1 })).toBe(true);
    expect(matches({ eq: ['ratio', -0] }, { ratio: 0 })).toBe(true);
    expect(matches({ gt: ['ratio', 1e308] }, { ratio: 'Infinity' })).toBe(true);
    expect(matches({ gt: ['ratio', 'Infinity'] }, { ratio: 'NaN' })).toBe(true);
    expect(matches({ eq: ['ratio', 'NaN'] }, { ratio: 'NaN' })).toBe(true);
  });

  it('rounds both sides of a float4 comparison to single precision', () => {
    // Row 0.1 is float4 text output; Postgres compares 0.1::real = '0.1'::real (true), not 0.1::float8.
    expect(matches({ eq: ['r4', 0.1] }, { r4: 0.1 })).toBe(true);
    expect(matches({ eq: ['r4', '0.1'] }, { r4: 0.1 })).toBe(true);
    expect(matches({ gt: ['r4', 0.1] }, { r4: 0.1 })).toBe(false);
    expect(matches({ eq: ['r4', 16777217] }, { r4: 16777216 })).toBe(true);
  });
});

describe('text-like types', () => {
  it('compares uuid case-insensitively', () => {
    const row = { org: 'abcdef00-0000-0000-0000-00000000000a' };
    expect(matches({ eq: ['org', 'ABCDEF00-0000-0000-0000-00000000000A'] }, row)).toBe(true);
    expect(matches({ in: ['org', { param: 'p' }] }, row, { p: ['ABCDEF00-0000-0000-0000-00000000000A'] })).toBe(true);
  });

  it('ignores trailing spaces for bpchar, like Postgres', () => {
    expect(matches({ eq: ['code', 'ab'] }, { code: 'ab   ' })).toBe(true);
    expect(matches({ eq: ['code', 'ab  '] }, { code: 'ab   ' })).toBe(true);
    expect(matches({ eq: ['code', ' ab'] }, { code: 'ab   ' })).toBe(false);
    expect(sql({ eq: ['code', 'ab  '] }).values).toEqual(['ab']);
  });

  it('truncates name values to 63 bytes, like Postgres input', () => {
    const long = 'é'.repeat(40); // 80 bytes; Postgres keeps 31 whole characters (62 bytes)
    expect(sql({ eq: ['nm', long] }).values).toEqual(['é'.repeat(31)]);
    expect(matches({ eq: ['nm', long] }, { nm: 'é'.repeat(31) })).toBe(true);
  });

  it('compares enums (unknown oids) by text, case-sensitively', () => {
    expect(matches({ eq: ['status', 'open'] }, { status: 'open' })).toBe(true);
    expect(matches({ eq: ['status', 'Open'] }, { status: 'open' })).toBe(false);
  });
});

describe('date/time', () => {
  it('compares timestamptz chronologically across offsets and precisions', () => {
    const row = { at: '2026-01-02 03:04:05.123456+00' };
    expect(matches({ eq: ['at', '2026-01-02T03:04:05.123456Z'] }, row)).toBe(true);
    expect(matches({ eq: ['at', '2026-01-02T08:34:05.123456+05:30'] }, row)).toBe(true);
    expect(matches({ eq: ['at', '2026-01-01T22:04:05.123456-0500'] }, row)).toBe(true);
    expect(matches({ lt: ['at', '2026-01-02T03:04:05.1235Z'] }, row)).toBe(true);
    expect(matches({ gt: ['at', '2026-01-02T03:04:05.12345Z'] }, row)).toBe(true);
    expect(matches({ gte: ['at', '2026-01-02 03:04:05.123456'] }, row)).toBe(true); // no offset: UTC
    expect(matches({ eq: ['at', '2026-01-02T03:04:05.5Z'] }, { at: '2026-01-02 08:34:05.5+05:30' })).toBe(true);
    expect(matches({ gt: ['at', '2026-01-02T03:04:05Z'] }, { at: '2026-01-02 03:04:05.000001+00' })).toBe(true);
    expect(matches({ lt: ['at', '0001-01-01T00:00:00Z'] }, { at: '0044-03-15 12:00:00+00 BC' })).toBe(true);
    expect(matches({ gt: ['at', '9999-12-31T00:00:00Z'] }, { at: 'infinity' })).toBe(true);
    expect(matches({ eq: ['at', 'infinity'] }, { at: 'infinity' })).toBe(true);
    // Historical zones print offsets with seconds (Amsterdam LMT).
    expect(matches({ eq: ['at', '1900-01-01'] }, { at: '1900-01-01 00:19:32+00:19:32' })).toBe(true);
    expect(matches({ lt: ['at', '1900-01-01'] }, { at: '1900-01-01 00:19:31+00:19:32' })).toBe(true);
  });

  it('rounds bound values beyond microseconds', () => {
    expect(sql({ eq: ['at', '2026-01-02T03:04:05.9999995Z'] }).values).toEqual(['2026-01-02 03:04:06.000000+00']);
  });

  it('compares timestamp and date', () => {
    expect(matches({ eq: ['local', '2026-01-02T03:04:05.5'] }, { local: '2026-01-02 03:04:05.5' })).toBe(true);
    expect(matches({ lt: ['local', '2026-01-02'] }, { local: '2026-01-01 23:59:59.999999' })).toBe(true);
    expect(matches({ gt: ['day', '2024-02-28'] }, { day: '2024-02-29' })).toBe(true);
    expect(matches({ lt: ['day', '0001-01-01'] }, { day: '0001-12-31 BC' })).toBe(true);
    expect(matches({ lt: ['day', '2024-01-01'] }, { day: '-infinity' })).toBe(true);
  });
});

describe('bind errors', () => {
  const expectBindError = (fn: () => unknown, message: RegExp) => {
    let err: unknown;
    try {
      fn();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FilterBindError);
    expect((err as FilterBindError).code).toBe('BAD_REQUEST');
    expect((err as Error).message).toMatch(message);
  };

  it('reports missing params and claims', () => {
    expectBindError(() => bind({ eq: ['qty', { param: 'p' }] }), /missing param "p"/);
    expectBindError(() => bind({ eq: ['qty', { param: 'toString' }] }), /missing param "toString"/);
    expectBindError(() => bind({ eq: ['qty', { claim: 'sub' }] }, {}), /missing claim "sub"/);
    try {
      bind({ eq: ['qty', { claim: 'sub' }] });
    } catch (e) {
      expect((e as FilterBindError).ref).toEqual({ claim: 'sub' });
    }
  });

  it('rejects wrong shapes', () => {
    expectBindError(() => bind({ eq: ['qty', { param: 'p' }] }, { p: [1] }), /single .* got an array/);
    expectBindError(() => bind({ eq: ['qty', { param: 'p' }] }, { p: { a: 1 } }), /got object/);
    expectBindError(() => bind({ eq: ['qty', { param: 'p' }] }, { p: NaN }), /got NaN/);
    expectBindError(() => bind({ in: ['qty', { param: 'p' }] }, { p: 1 }), /must be an array/);
    expectBindError(() => bind({ in: ['qty', { param: 'p' }] }, { p: [1, [2]] }), /"p"\[1\]/);
    expectBindError(() => bind({ in: ['qty', { param: 'p' }] }, { p: new Array(1001).fill(1) }), /more than 1000/);
  });

  it('rejects values the column type cannot hold', () => {
    const one = (column: string, value: unknown) => () => bind({ eq: [column, { param: 'p' }] }, { p: value });
    expectBindError(one('qty', 'abc'), /param "p" for column "qty": expected an integer/);
    expectBindError(one('qty', 1.5), /integer/);
    expectBindError(one('qty', 2 ** 31), /integer/);
    expectBindError(one('small', 40000), /-32768 and 32767/);
    expectBindError(one('id', '9223372036854775808'), /int8/);
    expectBindError(one('id', 2 ** 60), /safe integers/);
    expectBindError(one('price', 'twelve'), /numeric/);
    expectBindError(one('ratio', '1e999'), /out of range/);
    expectBindError(one('r4', 1e39), /out of range/);
    expectBindError(one('done', 'yes'), /true, false/);
    expectBindError(one('done', 1), /true, false/);
    expectBindError(one('org', 'not-a-uuid'), /uuid/);
    expectBindError(one('title', true), /expected a string/);
    expectBindError(one('title', 'a\u0000b'), /NUL/);
    expectBindError(one('title', 'a\ud800'), /surrogate/);
    expectBindError(one('at', 'yesterday'), /ISO 8601/);
    expectBindError(one('at', '2026-02-30'), /ISO 8601/);
    expectBindError(one('at', '2026-01-01T24:00:00Z'), /ISO 8601/);
    expectBindError(one('at', 1700000000), /ISO 8601/);
    expectBindError(one('local', '2026-01-01T00:00:00Z'), /cannot carry a UTC offset/);
    expectBindError(one('day', '2026-01-01T00:00:00'), /cannot have a time/);
    expectBindError(one('day', '0044-03-15 BC'), /years/);
    expectBindError(one('at', '0001-01-01T00:00:00+01:00'), /supported range/);
  });

  it('accepts numbers for text columns and strings for numeric columns', () => {
    expect(matches({ eq: ['title', { param: 'p' }] }, { title: '42' }, { p: 42 })).toBe(true);
    expect(matches({ eq: ['qty', { param: 'p' }] }, { qty: 42 }, { p: '42' })).toBe(true);
    expect(matches({ eq: ['done', { param: 'p' }] }, { done: true }, { p: 'true' })).toBe(true);
  });
});

describe('compile errors', () => {
  const compile = (filter: unknown) => () => compileFilter(filter as Filter, COLUMNS);
  it('rejects unknown columns and bad shapes', () => {
    expect(compile({ eq: ['nope', 1] })).toThrow(/filter.eq: unknown column "nope"/);
    expect(compile({ and: [{ eq: ['qty'] }] })).toThrow(FilterCompileError);
    expect(compile({ eq: ['qty', 1], neq: ['qty', 2] })).toThrow(/exactly one operator/);
  });

  it('rejects ordering on unordered types, naming the collation problem for text', () => {
    expect(compile({ lt: ['title', 'a'] })).toThrow(/collation/);
    expect(compile({ gt: ['code', 'a'] })).toThrow(/collation/);
    expect(compile({ gte: ['nm', 'a'] })).toThrow(/collation/);
    expect(compile({ lt: ['done', true] })).toThrow(/bool/);
    expect(compile({ lt: ['org', '00000000-0000-0000-0000-000000000000'] })).toThrow(/uuid/);
    expect(compile({ lt: ['status', 'a'] })).toThrow(/enum/);
    expect(compile({ lt: ['meta', 1] })).toThrow(/jsonb/);
  });

  it('rejects equality on json', () => {
    expect(compile({ eq: ['meta', 'a'] })).toThrow(/only isNull/);
    expect(compile({ in: ['doc', []] })).toThrow(/only isNull/);
  });

  it('coerces constants at compile time', () => {
    expect(compile({ eq: ['qty', 'abc'] })).toThrow(/filter.eq\[1\]: constant for column "qty"/);
    expect(compile({ in: ['org', ['x']] })).toThrow(/filter.in\[1\]\[0\]/);
  });

  it('rejects a param used both as a value and as a list', () => {
    expect(compile({ and: [{ eq: ['qty', { param: 'p' }] }, { in: ['qty', { param: 'p' }] }] })).toThrow(
      /both as a single value and as a list/,
    );
  });
});

describe('equalities and valueKey', () => {
  it('returns mandatory top-level equalities', () => {
    expect(bind({ eq: ['qty', 5] }).equalities()).toEqual([{ column: 'qty', key: '5' }]);
    const f: Filter = {
      and: [
        { eq: ['org', { param: 'org' }] },
        { and: [{ eq: ['price', '12.50'] }] },
        { in: ['title', ['only']] },
        { or: [{ eq: ['qty', 1] }, { eq: ['qty', 2] }] },
        { not: { eq: ['small', 1] } },
        { gt: ['id', 1] },
      ],
    };
    expect(bind(f, { org: 'ABCDEF00-0000-0000-0000-00000000000A' }).equalities()).toEqual([
      { column: 'org', key: 'abcdef00-0000-0000-0000-00000000000a' },
      { column: 'price', key: '12.5' },
      { column: 'title', key: 'only' },
    ]);
    expect(bind({ or: [{ eq: ['qty', 1] }, { eq: ['title', 'a'] }] }).equalities()).toEqual([]);
    expect(bind({ eq: ['qty', { param: 'p' }] }, { p: null }).equalities()).toEqual([]);
  });

  it('agrees with the predicate: valueKey(row) === key exactly when eq matches', () => {
    const cases: Array<[column: string, bound: unknown, row: unknown]> = [
      ['id', '9007199254740993', '9007199254740993'],
      ['id', 9007199254740991, '9007199254740991'],
      ['id', '9007199254740992', '9007199254740993'],
      ['qty', '7', 7],
      ['price', 12.5, '12.50'],
      ['price', '-0', '0.000'],
      ['price', '1', '1.0000000000000000000001'],
      ['ratio', -0, 0],
      ['ratio', 'NaN', 'NaN'],
      ['r4', 0.1, 0.1],
      ['done', 'true', true],
      ['org', 'ABCDEF00-0000-0000-0000-00000000000A', 'abcdef00-0000-0000-0000-00000000000a'],
      ['code', 'x', 'x    '],
      ['title', 'x', 'x '],
      ['at', '2026-01-02T08:34:05.5+05:30', '2026-01-02 03:04:05.5+00'],
      ['at', '2026-01-02T03:04:05Z', '2026-01-02 03:04:05.000001+00'],
      ['local', '2026-01-02', '2026-01-02 00:00:00'],
      ['day', '2026-01-02', '2026-01-02'],
      ['status', 'open', 'open'],
    ];
    const types = new Map(COLUMNS.map((c) => [c.name, c.typeOid]));
    for (const [column, value, rowValue] of cases) {
      const b = bind({ eq: [column, { param: 'p' }] }, { p: value });
      const [eq] = b.equalities();
      const key = valueKey(types.get(column) ?? 0, rowValue);
      expect({ column, value, rowValue, agree: (key === eq?.key) === b.matches({ [column]: rowValue }) }).toEqual({
        column,
        value,
        rowValue,
        agree: true,
      });
    }
  });

  it('returns null keys for NULL and for json', () => {
    expect(valueKey(T.int4, null)).toBeNull();
    expect(valueKey(T.int4, undefined)).toBeNull();
    expect(valueKey(T.jsonb, { a: 1 })).toBeNull();
  });
});

describe('malformed rows', () => {
  it('throws FilterRowError instead of guessing', () => {
    expect(() => matches({ eq: ['qty', 1] }, {})).toThrow(FilterRowError);
    expect(() => matches({ eq: ['qty', 1] }, { qty: 'x' })).toThrow(/row column "qty"/);
    expect(() => valueKey(T.int8, 'x')).toThrow(FilterRowError);
  });
});
