/**
 * Compiled policies agree with PostgreSQL's own verdict. Random policies from
 * the compiled subset (permissive and restrictive together, claims directly and
 * through a SQL function, casts, IN, IS NULL, NOT) × random rows × random claims
 * (missing, forged, SQL-looking): the in-memory predicate shows a row exactly
 * when a SELECT under the role returns it, and every shown row hits one of the
 * routing alternatives. Also: policies for another role, BYPASSRLS, RLS off,
 * owners, and policies only the database can check.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/test-database.ts';
import { wireTypes } from '../capture/pg-values.ts';
import { loadTableInfo, type TableInfo } from '../collections/table-info.ts';
import { valueKey } from '../collections/filter/compile-filter.ts';
import { withUserTransaction } from '../auth/user-transaction.ts';
import type { Identity } from '../auth/token-verifier.ts';
import { loadTablePolicies } from './load-policies.ts';
import { bindPolicy } from './table-policy.ts';

const ROLE = 'rls_prop_user';
const U1 = 'abcdef00-0000-4000-8000-00000000000a';
const U2 = '00000000-0000-4000-8000-000000000002';
const SCHEMA = `
  CREATE TABLE t (id int PRIMARY KEY, owner text, tenant uuid, n int, big int8, flag bool, label varchar(20),
                  version integer NOT NULL DEFAULT 1);
  DO $$ BEGIN CREATE ROLE ${ROLE} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
  DO $$ BEGIN CREATE ROLE rls_other NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
  DO $$ BEGIN CREATE ROLE rls_bypass NOLOGIN BYPASSRLS; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
  GRANT SELECT ON t TO ${ROLE}, rls_other, rls_bypass;
  CREATE OR REPLACE FUNCTION app_sub() RETURNS text LANGUAGE sql STABLE AS
    $$ SELECT current_setting('request.jwt.claims', true)::json ->> 'sub' $$;
  CREATE OR REPLACE FUNCTION app_level() RETURNS int LANGUAGE sql STABLE AS
    $$ select (current_setting('request.jwt.claims', true)::jsonb -> 'meta' ->> 'level')::int; $$;
  ALTER TABLE t ENABLE ROW LEVEL SECURITY;
  INSERT INTO t (id, owner, tenant, n, big, flag, label) VALUES
    (1, 'alice', '${U1}', 1, 1, true, 'a'), (2, 'bob', '${U2}', 2, 2, false, 'b'), (3, NULL, NULL, NULL, NULL, NULL, NULL),
    (4, 'alice', '${U2}', 5, 9007199254740993, false, 'c'), (5, 'carol', '${U1}', -1, -5, true, 'A'),
    (6, '', '${U1}', 0, 0, NULL, 'a'), (7, 'x'' OR 1=1 --', '${U2}', 3, 3, true, NULL), (8, 'bob', NULL, 2, 7, true, 'b');`;

let db: TestDatabase;
let table: TableInfo;
let rows: Array<Record<string, unknown>>;
beforeAll(async () => {
  db = await createTestDatabase(SCHEMA);
  table = await loadTableInfo(db.pool, 't');
  rows = (await db.pool.query({ text: 'SELECT * FROM t ORDER BY id', types: wireTypes })).rows;
});
afterAll(async () => {
  await db?.drop();
});

const claim = (k: string) => `(current_setting('request.jwt.claims', true)::json ->> '${k}')`;
const atom = fc.constantFrom(
  `owner = ${claim('sub')}`,
  `owner = app_sub()`,
  `app_sub() IN (owner, label)`,
  `tenant::text = ${claim('tenant')}`,
  `tenant = ${claim('tenant')}::uuid`,
  `n > 1`,
  `n <= 2`,
  `big = 9007199254740993`,
  `n = app_level()`,
  `n = ${claim('n')}::int`,
  `flag`,
  `flag IS NULL`,
  `owner IS NOT NULL`,
  `label IN ('a', 'b')`,
  `label NOT IN ('a')`,
  `n = ANY (ARRAY[1, 2])`,
  `n::text = ${claim('n')}`,
  `flag::text = ${claim('flag')}`,
  `${claim('role')} = 'admin'`,
  `true`,
  `false`,
);
const expr: fc.Arbitrary<string> = fc.letrec((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    atom,
    tie('e').map((e) => `NOT (${e as string})`),
    fc.tuple(tie('e'), tie('e')).map(([a, b]) => `(${a as string}) AND (${b as string})`),
    fc.tuple(tie('e'), tie('e')).map(([a, b]) => `(${a as string}) OR (${b as string})`),
  ),
})).e;
const policy = fc.record({ using: expr, permissive: fc.boolean() });
const claimSet = fc.record(
  {
    sub: fc.constantFrom('alice', 'bob', '', "x' OR 1=1 --", 'carol'),
    tenant: fc.constantFrom(U1, U2, U1.toUpperCase()),
    n: fc.constantFrom(1, 2, 5, '2'),
    flag: fc.constantFrom(true, false, 'true'),
    role: fc.constantFrom('admin', 'user'),
    meta: fc.record({ level: fc.constantFrom(1, 2, 5) }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);

async function setPolicies(list: Array<{ using: string; permissive: boolean; to?: string }>): Promise<void> {
  const existing = await db.query<{ polname: string }>(`SELECT polname FROM pg_policy WHERE polrelid = 't'::regclass`);
  for (const p of existing.rows) await db.query(`DROP POLICY "${p.polname}" ON t`);
  for (const [i, p] of list.entries())
    await db.query(
      `CREATE POLICY p${i} ON t AS ${p.permissive ? 'PERMISSIVE' : 'RESTRICTIVE'} FOR SELECT TO ${p.to ?? 'PUBLIC'} USING (${p.using})`,
    );
}

function identity(claims: Record<string, unknown>): Identity {
  return { userId: String(claims['sub'] ?? 'nobody'), claims, expiresAt: null } as unknown as Identity;
}

async function postgresSees(claims: Record<string, unknown>, role = ROLE): Promise<number[]> {
  return withUserTransaction(db.pool, identity(claims), { role }, 'READ ONLY', async (c) =>
    (await c.query<{ id: number }>('SELECT id FROM t ORDER BY id')).rows.map((r) => r.id),
  );
}

describe('compiled policies agree with PostgreSQL', () => {
  it('on random policies, rows and claims', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(policy, { minLength: 1, maxLength: 3 }),
        fc.array(claimSet, { minLength: 1, maxLength: 4 }),
        async (policies, claimsList) => {
          await setPolicies(policies);
          const compiled = (await loadTablePolicies(db.pool, ROLE, [table])).get('public.t');
          expect(compiled?.mode).toBe('compiled');
          if (compiled?.mode !== 'compiled') return;
          for (const claims of claimsList) {
            const bound = bindPolicy(compiled.expr, claims);
            const ours = rows.filter((r) => bound.visible(r)).map((r) => r['id']);
            expect(ours, `${JSON.stringify(policies)} ${JSON.stringify(claims)}`).toEqual(await postgresSees(claims));
            if (bound.alternatives === null) continue;
            for (const r of rows.filter((x) => bound.visible(x))) {
              const hit = bound.alternatives.some((a) => {
                const col = table.columns.find((c) => c.name === a.column);
                return col !== undefined && valueKey(col.typeOid, r[a.column]) === a.key;
              });
              expect(hit, `row ${String(r['id'])} misses ${JSON.stringify(bound.alternatives)}`).toBe(true);
            }
          }
        },
      ),
      { numRuns: Number(process.env['RLS_RUNS'] ?? 60) },
    );
  }, 120_000);

  it('a missing or forged claim never widens what is visible', async () => {
    await setPolicies([{ using: `owner = ${claim('sub')}`, permissive: true }]);
    const compiled = (await loadTablePolicies(db.pool, ROLE, [table])).get('public.t');
    if (compiled?.mode !== 'compiled') throw new Error('not compiled');
    expect(rows.filter((r) => bindPolicy(compiled.expr, {}).visible(r))).toEqual([]);
    const forged = { sub: "x' OR 1=1 --" };
    expect(rows.filter((r) => bindPolicy(compiled.expr, forged).visible(r)).map((r) => r['id'])).toEqual([7]);
    expect(await postgresSees(forged)).toEqual([7]);
    expect(await postgresSees({})).toEqual([]);
  });
});

describe('which policies apply', () => {
  it('a policy for another role does not apply; with no permissive policy left, nothing is visible', async () => {
    await setPolicies([{ using: 'true', permissive: true, to: 'rls_other' }]);
    const p = (await loadTablePolicies(db.pool, ROLE, [table])).get('public.t');
    expect(p?.mode).toBe('compiled');
    if (p?.mode !== 'compiled') return;
    expect(rows.filter((r) => bindPolicy(p.expr, { sub: 'alice' }).visible(r))).toEqual([]);
    expect(await postgresSees({ sub: 'alice' })).toEqual([]);
    const other = (await loadTablePolicies(db.pool, 'rls_other', [table])).get('public.t');
    if (other?.mode !== 'compiled') throw new Error('not compiled');
    expect(rows.filter((r) => bindPolicy(other.expr, {}).visible(r)).length).toBe(rows.length);
  });

  it('permissive policies are OR-ed, restrictive ones AND-ed', async () => {
    await setPolicies([
      { using: `owner = ${claim('sub')}`, permissive: true },
      { using: `label = 'b'`, permissive: true },
      { using: 'n > 1', permissive: false },
    ]);
    const p = (await loadTablePolicies(db.pool, ROLE, [table])).get('public.t');
    if (p?.mode !== 'compiled') throw new Error('not compiled');
    const ours = rows.filter((r) => bindPolicy(p.expr, { sub: 'alice' }).visible(r)).map((r) => r['id']);
    expect(ours).toEqual([2, 4, 8]);
    expect(await postgresSees({ sub: 'alice' })).toEqual(ours);
  });

  it('BYPASSRLS, RLS switched off, and the owner see everything: nothing to check', async () => {
    await setPolicies([{ using: 'false', permissive: true }]);
    expect((await loadTablePolicies(db.pool, 'rls_bypass', [table])).get('public.t')?.mode).toBe('open');
    expect(await postgresSees({}, 'rls_bypass')).toHaveLength(rows.length);
    expect((await loadTablePolicies(db.pool, 'postgres', [table])).get('public.t')?.mode).toBe('open');
    await db.query('ALTER TABLE t DISABLE ROW LEVEL SECURITY');
    expect((await loadTablePolicies(db.pool, ROLE, [table])).get('public.t')?.mode).toBe('open');
    await db.query('ALTER TABLE t ENABLE ROW LEVEL SECURITY');
  });

  it('a policy outside the subset is left to the database, and says why', async () => {
    await setPolicies([
      { using: `owner = ${claim('sub')}`, permissive: true },
      { using: `EXISTS (SELECT 1 FROM t t2 WHERE t2.id = t.n)`, permissive: true },
    ]);
    const p = (await loadTablePolicies(db.pool, ROLE, [table])).get('public.t');
    expect(p?.mode).toBe('database');
    if (p?.mode !== 'database') return;
    expect(p.policies.map((x) => [x.name, x.checkedBy, x.reason])).toEqual([
      ['p0', 'database', undefined],
      ['p1', 'database', 'EXISTS'],
    ]);
  });
});
