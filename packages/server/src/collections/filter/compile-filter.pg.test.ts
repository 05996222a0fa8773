/**
 * Property test: for random filters over every supported column type, the SQL (run by real
 * Postgres) and the JS predicate (run on the same rows as the wire mapping decodes them) select
 * exactly the same rows, and every matching row satisfies equalities().
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/test-database.ts';
import { SESSION_OPTIONS, wireTypes } from '../../capture/pg-values.ts';
import { compileFilter, valueKey, type ColumnInfo } from './compile-filter.ts';
import type { Filter, ValueRef } from './filter-types.ts';

const SCHEMA = `
  CREATE TYPE mood AS ENUM ('happy', 'sad', 'Happy');
  CREATE TABLE t (pk int PRIMARY KEY, i2 int2, i4 int4, i8 int8, n numeric, f4 float4, f8 float8, b bool,
    tx text, vc varchar(40), bc char(4), nm name, u uuid, tz timestamptz, ts timestamp, d date,
    j jsonb, js json, m mood, iv interval);`;

const U1 = 'abcdef00-0000-0000-0000-00000000000a';
const U2 = '00000000-0000-0000-0000-000000000000';
const TEXTS = ['', 'a', 'A', 'a ', 'é', 'e\u0301', `x'; DROP TABLE t; --`, '😀', '42', 'ab  '];
/** Values stored in rows, as SQL input text. */
const ROWS: Record<string, Array<string | null>> = {
  i2: ['0', '1', '-1', '32767', '-32768', '5'],
  i4: ['0', '1', '-1', '2147483647', '-2147483648', '5'],
  i8: ['0', '5', '9007199254740992', '9007199254740993', '-9223372036854775808', '9223372036854775807'],
  n: ['0', '12.50', '12.5000000000000000001', '-0.001', '-0.0100', 'NaN', 'Infinity', '-Infinity', '1e20'],
  f4: ['0', '-0', '0.1', '16777216', '16777217', 'NaN', 'Infinity', '-Infinity', '3.4e38', '1e-45', '0.3'],
  f8: ['0', '-0', '0.1', '0.30000000000000004', '0.3', 'NaN', 'Infinity', '-Infinity', '1e308', '5e-324'],
  b: ['true', 'false'],
  tx: TEXTS,
  vc: TEXTS,
  bc: ['ab', 'ab  ', ' ab', '', 'abcd', 'A'],
  nm: ['a', 'A', 'é'.repeat(31), 'x'.repeat(63)],
  u: [U1, U2, U1.toUpperCase()],
  tz: [
    '2026-01-02 03:04:05.123456+00',
    '2026-01-02 08:34:05.123456+05:30',
    '2026-01-02 03:04:05.5+00',
    '2026-01-02 03:04:05+00',
    'infinity',
    '-infinity',
    '0044-03-15 12:00:00+00 BC',
    '1900-01-01 00:00:00+00',
  ],
  ts: ['2026-01-02 03:04:05.5', '2026-01-02 00:00:00', '2026-01-01 23:59:59.999999', 'infinity', '0044-03-15 BC'],
  d: ['2026-01-02', '2024-02-29', '0001-01-01', '0044-03-15 BC', 'infinity', '-infinity'],
  j: ['null', '{"a":1}', '0', '"x"', '[]'],
  js: ['null', '{"a": 1}', '0'],
  m: ['happy', 'sad', 'Happy'],
  iv: ['1 day', '24 hours', '1 mon'],
};
/** Values used in filters (constants, params, claims), in the forms clients send. */
const BINDS: Record<string, unknown[]> = {
  i2: [0, 1, '-1', 32767, -32768, 5, '5'],
  i4: [0, 1, -1, '2147483647', -2147483648, 5],
  i8: ['0', 5, '9007199254740992', '9007199254740993', '-9223372036854775808', '+9223372036854775807'],
  n: [0, 12.5, '12.50', '1.25e1', '12.5000000000000000001', '-0.001', '-1e-2', 'NaN', 'Infinity', '-Infinity', '1e20'],
  f4: [0, -0, 0.1, '0.1', 16777216, 16777217, 'NaN', 'Infinity', '-Infinity', 3.4e38, 1e-45, 0.3],
  f8: [0, 0.1, 0.30000000000000004, 0.3, '0.3', 'NaN', 'Infinity', '-Infinity', 1e308, 5e-324],
  b: [true, false, 'true', 'false'],
  tx: [...TEXTS, 42],
  vc: [...TEXTS, 42],
  bc: ['ab', 'ab ', ' ab', '', 'abcd', 'a'],
  nm: ['a', 'A', 'é'.repeat(31), 'é'.repeat(40), 'x'.repeat(63), 'x'.repeat(70)],
  u: [U1, U2, U1.toUpperCase()],
  tz: [
    '2026-01-02T03:04:05.123456Z',
    '2026-01-02T08:34:05.123456+05:30',
    '2026-01-02 03:04:05.5',
    '2026-01-02T03:04:05Z',
    '2026-01-02',
    '2026-01-01T22:04:05.1234565-0500',
    'infinity',
    '-infinity',
    '1900-01-01T00:00:00Z',
  ],
  ts: ['2026-01-02T03:04:05.5', '2026-01-02', '2026-01-01 23:59:59.999999', 'infinity', '0001-01-01'],
  d: ['2026-01-02', '2024-02-29', '0001-01-01', 'infinity', '-infinity'],
  j: [],
  js: [],
  m: ['happy', 'sad', 'Happy', 'angry'],
  iv: ['1 day', '24 hours', '1 mon', '@ 1 day'],
};
const ORDERED = new Set(['i2', 'i4', 'i8', 'n', 'f4', 'f8', 'tz', 'ts', 'd']);
const JSON_COLS = new Set(['j', 'js']);
const NAMES = Object.keys(ROWS);

function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Generated {
  filter: Filter;
  params: Record<string, unknown>;
  claims: Record<string, unknown>;
}

function generate(random: () => number): Generated {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const params: Record<string, unknown> = {};
  const claims: Record<string, unknown> = {};
  const value = (col: string): unknown => (random() < 0.08 ? null : pick(BINDS[col] ?? []));
  const ref = (col: string): ValueRef => {
    const v = value(col) as string | number | boolean | null;
    const r = random();
    if (r < 0.4) return v;
    if (r < 0.5) return { value: v };
    if (r < 0.85)
      return { param: `p${Object.keys(params).length}`, ...((params[`p${Object.keys(params).length}`] = v), {}) };
    const name = `c${Object.keys(claims).length}`;
    claims[name] = v;
    return { claim: name };
  };
  const leaf = (): Filter => {
    const col = pick(NAMES);
    if (JSON_COLS.has(col) || random() < 0.1) return { isNull: col };
    const ops = ORDERED.has(col)
      ? (['eq', 'neq', 'lt', 'lte', 'gt', 'gte', 'in'] as const)
      : (['eq', 'neq', 'in'] as const);
    const op = pick(ops);
    if (op !== 'in') return { [op]: [col, ref(col)] } as Filter;
    const n = Math.floor(random() * 4);
    if (random() < 0.4) {
      const name = `p${Object.keys(params).length}`;
      params[name] = Array.from({ length: n }, () => value(col));
      return { in: [col, { param: name }] };
    }
    return { in: [col, Array.from({ length: n }, () => ref(col))] };
  };
  const node = (depth: number): Filter => {
    const r = random();
    if (depth >= 4 || r < 0.45) return leaf();
    if (r < 0.6) return { not: node(depth + 1) };
    const children = Array.from({ length: Math.floor(random() * 4) }, () => node(depth + 1));
    return r < 0.8 ? { and: children } : { or: children };
  };
  return { filter: node(0), params, claims };
}

let db: TestDatabase;
let columns: ColumnInfo[];

beforeAll(async () => {
  db = await createTestDatabase(SCHEMA);
  const random = rng(7);
  const insert = `INSERT INTO t (pk, ${NAMES.join(', ')}) VALUES (${['pk', ...NAMES].map((_, i) => `$${i + 1}`).join(', ')})`;
  for (let pk = 0; pk < 120; pk++) {
    // The first rows walk through every pool value so each one is present at least once.
    const values = NAMES.map((c) => {
      const pool = ROWS[c] ?? [];
      return pk < pool.length ? pool[pk] : random() < 0.15 ? null : pool[Math.floor(random() * pool.length)];
    });
    await db.query(insert, [pk, ...values]);
  }
  const cols = await db.query<{ name: string; oid: number }>(
    `SELECT attname AS name, atttypid::int AS oid FROM pg_attribute WHERE attrelid = 't'::regclass AND attnum > 0 AND NOT attisdropped`,
  );
  columns = cols.rows.map((r) => ({ name: r.name, typeOid: r.oid }));
});
afterAll(async () => {
  await db?.drop();
});

/** Extreme bind values: each must be accepted by Postgres exactly as JS reads it. */
const EXTREMES: Array<[column: string, value: unknown]> = [
  ['n', '1e-1000'],
  ['n', '-1e999'],
  ['n', '123456789012345678901234567890.123456789'],
  ['f8', '1.7976931348623157e308'],
  ['f8', '-5e-324'],
  ['f8', '2.2250738585072014e-308'],
  ['f4', '3.4028235e38'],
  ['f4', '1.4e-45'],
  ['f4', 1e-46],
  ['f4', '0.1000000001'],
  ['tz', '0001-01-01T00:00:00Z'],
  ['tz', '9999-12-31T23:59:59.999999Z'],
  ['tz', '1969-12-31T23:59:59.9999994-00:00'],
  ['ts', '0001-01-01T00:00:00'],
  ['ts', '9999-12-31T23:59:59.999999'],
  ['d', '9999-12-31'],
  ['i8', '-9223372036854775808'],
  ['nm', 'ab😀'.repeat(20)],
];

describe.each(['UTC', 'America/St_Johns'])('SQL and JS agree (session TimeZone %s)', (timeZone) => {
  let pool: pg.Pool;
  let rows: Array<Record<string, unknown> & { pk: number }>;
  let typeOf: Map<string, number>;
  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: db.url, max: 2, options: SESSION_OPTIONS.replace('UTC', timeZone) });
    rows = (await pool.query({ text: 'SELECT * FROM t ORDER BY pk', types: wireTypes })).rows as typeof rows;
    typeOf = new Map(columns.map((c) => [c.name, c.typeOid]));
  });
  afterAll(async () => {
    await pool?.end();
  });

  /** Returns a failure description, or null when SQL and JS select the same rows. */
  async function compare({ filter, params, claims }: Generated): Promise<{ failure: unknown; sqlPks: number[] }> {
    const bound = compileFilter(filter, columns).bind(params, claims);
    const { text, values } = bound.toSql(1);
    let sqlPks: number[];
    try {
      sqlPks = (await pool.query<{ pk: number }>(`SELECT pk FROM t WHERE ${text} ORDER BY pk`, values)).rows.map(
        (r) => r.pk,
      );
    } catch (e) {
      return { failure: { filter, params, claims, text, values, error: (e as Error).message }, sqlPks: [] };
    }
    const jsPks = rows.filter((r) => bound.matches(r)).map((r) => r.pk);
    if (JSON.stringify(sqlPks) !== JSON.stringify(jsPks)) {
      return { failure: { filter, params, claims, text, values, sqlPks, jsPks }, sqlPks };
    }
    for (const e of bound.equalities()) {
      for (const r of rows.filter((row) => sqlPks.includes(row.pk))) {
        if (valueKey(typeOf.get(e.column) ?? 0, r[e.column]) !== e.key) {
          return { failure: { filter, equality: e, pk: r.pk }, sqlPks };
        }
      }
    }
    return { failure: null, sqlPks };
  }

  it('on random filters', async () => {
    const random = rng(timeZone.length);
    const failures: unknown[] = [];
    let nonTrivial = 0;
    for (let i = 0; i < 1500 && failures.length < 5; i++) {
      const { failure, sqlPks } = await compare(generate(random));
      if (failure) failures.push(failure);
      if (sqlPks.length > 0 && sqlPks.length < rows.length) nonTrivial++;
    }
    expect(failures).toEqual([]);
    expect(nonTrivial).toBeGreaterThan(300);
  }, 120_000);

  it('on extreme bound values', async () => {
    const failures: unknown[] = [];
    for (const [column, value] of EXTREMES) {
      for (const op of ORDERED.has(column) ? ['eq', 'lt', 'gt'] : ['eq', 'neq']) {
        const { failure } = await compare({
          filter: { [op]: [column, { param: 'p' }] } as Filter,
          params: { p: value },
          claims: {},
        });
        if (failure) failures.push(failure);
      }
    }
    expect(failures).toEqual([]);
  });
});
