/**
 * The policy compiler on expressions exactly as pg_get_expr prints them (taken
 * from PostgreSQL 18 with the demo's policies), and what it refuses.
 */
import { describe, expect, it } from 'vitest';
import { alternatives, holds } from './policy-expr.ts';
import { parseFunctionBody, parsePolicy, type ParseContext } from './policy-parser.ts';
import { bindPolicy, compileTablePolicy } from './table-policy.ts';

const ALICE = '00000000-0000-4000-8000-000000000001';
const BOB = '00000000-0000-4000-8000-000000000002';
const appUserId = parseFunctionBody(`SELECT current_setting('request.jwt.claims', true)::json ->> 'sub'`);
const appUserRole = parseFunctionBody(` select current_setting('request.jwt.claims', true)::json->>'app_role'; `);
const ctx: ParseContext = {
  table: 'order',
  columns: new Map([
    ['customer_id', 2950],
    ['driver_id', 2950],
    ['status', 25],
    ['total', 1700],
    ['n', 23],
  ]),
  functions: new Map([
    ['app_user_id', appUserId],
    ['app_user_role', appUserRole],
  ]),
};

const DEMO = [
  `((customer_id)::text = app_user_id())`,
  `((driver_id)::text = app_user_id())`,
  `((status = 'pending'::text) AND (app_user_role() = 'driver'::text))`,
  `(app_user_role() = 'dispatcher'::text)`,
];

function orderPolicy() {
  const p = compileTablePolicy(
    'public.order',
    {
      enabled: true,
      forced: false,
      owner: false,
      bypass: false,
      policies: DEMO.map((using, i) => ({ name: `p${i}`, permissive: true, using })),
    },
    ctx,
  );
  if (p.mode !== 'compiled') throw new Error(JSON.stringify(p));
  return p;
}

describe('policy compiler', () => {
  it("compiles the demo's order policies and folds each user's claims in", () => {
    const p = orderPolicy();
    const row = (customer: string, driver: string | null, status: string) => ({
      customer_id: customer,
      driver_id: driver,
      status,
    });
    const alice = bindPolicy(p.expr, { sub: ALICE, app_role: 'customer' });
    expect(alice.visible(row(ALICE, null, 'accepted'))).toBe(true);
    expect(alice.visible(row(BOB, null, 'pending'))).toBe(false);
    expect(alice.alternatives?.map((a) => a.column).sort()).toEqual(['customer_id', 'driver_id']);
    const driver = bindPolicy(p.expr, { sub: BOB, app_role: 'driver' });
    expect(driver.visible(row(ALICE, null, 'pending'))).toBe(true);
    expect(driver.visible(row(ALICE, null, 'accepted'))).toBe(false);
    // Two dispatchers see the same rows: one residual, so one shared instance.
    const d1 = bindPolicy(p.expr, { sub: ALICE, app_role: 'dispatcher' });
    const d2 = bindPolicy(p.expr, { sub: BOB, app_role: 'dispatcher' });
    expect(d1.key).toBe(d2.key);
    expect(d1.alternatives).toBe(null);
  });

  it('reads ANY over a cast ARRAY, NOT IN, IS NULL and typed literals', () => {
    const e = parsePolicy(
      `(((status)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[])) AND (driver_id IS NOT NULL) AND (n <> ALL (ARRAY[1, 2])) AND (n = '5'::integer))`,
      ctx,
    );
    expect(holds(e, { status: 'a', driver_id: BOB, n: 5 })).toBe(true);
    expect(holds(e, { status: 'c', driver_id: BOB, n: 5 })).toBe(false);
    expect(holds(e, { status: 'a', driver_id: null, n: 5 })).toBe(false);
    // AND: the narrowest necessary condition routes it.
    expect(alternatives(e)).toEqual([{ column: 'n', key: '5' }]);
  });

  it('treats a missing claim as NULL: nothing matches it, and NOT of it is not true either', () => {
    const p = orderPolicy();
    const nobody = bindPolicy(p.expr, {});
    expect(nobody.visible({ customer_id: ALICE, driver_id: ALICE, status: 'pending' })).toBe(false);
    const negated = parsePolicy(`(NOT (app_user_id() = (customer_id)::text))`, ctx);
    expect(holds(negated, { customer_id: ALICE }, {})).toBe(false);
    expect(holds(negated, { customer_id: ALICE }, { sub: BOB })).toBe(true);
  });

  it('hides every row when a claim cannot be cast as the policy asks (PostgreSQL would fail the query)', () => {
    const e = parsePolicy(
      `(customer_id = ((current_setting('request.jwt.claims'::text, true))::json ->> 'sub'::text)::uuid)`,
      ctx,
    );
    expect(bindPolicy(e, { sub: 'not-a-uuid' }).visible({ customer_id: ALICE })).toBe(false);
    expect(bindPolicy(e, { sub: ALICE.toUpperCase() }).visible({ customer_id: ALICE })).toBe(true);
  });

  it('refuses what only the database can evaluate, naming it', () => {
    const refused = (text: string) => {
      try {
        parsePolicy(text, ctx);
        return null;
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(refused(`(EXISTS ( SELECT 1 FROM chat c WHERE (c.id = customer_id)))`)).toBe('EXISTS');
    expect(refused(`(total > (3)::numeric)`)).toMatch(/total/);
    expect(refused(`(status < 'b'::text)`)).toMatch(/collation/);
    expect(refused(`(lower(status) = 'a'::text)`)).toMatch(/lower/);
    expect(refused(`(current_user = 'x'::name)`)).toMatch(/CURRENT_USER/);
    expect(typeof parseFunctionBody(`SELECT auth.jwt() ->> 'sub'`)).toBe('string');
    // Found in review: keywords pg_get_expr prints bare, and settings Syncline does not set.
    expect(refused(`(status = USER)`)).toBe('USER');
    expect(refused(`(status = CURRENT_ROLE)`)).toBe('CURRENT_ROLE');
    expect(refused(`(status = current_setting('request.jwt.claim.tenant'::text, true))`)).toMatch(
      /request\.jwt\.claim\.tenant/,
    );
  });

  it('casts as PostgreSQL does: only ASCII blanks around an integer, and an out-of-range claim matches nothing', () => {
    const e = parsePolicy(
      `(n = ((current_setting('request.jwt.claims'::text, true))::json ->> 'n'::text)::integer)`,
      ctx,
    );
    expect(bindPolicy(e, { n: ' 5 ' }).visible({ n: 5 })).toBe(true);
    expect(bindPolicy(e, { n: '\u00a05' }).visible({ n: 5 })).toBe(false);
    const big = parsePolicy(
      `(n = ((current_setting('request.jwt.claims'::text, true))::json ->> 'n'::text)::bigint)`,
      ctx,
    );
    const bound = bindPolicy(big, { n: '99999999999' });
    expect(bound.alternatives).toEqual([]);
    expect(bound.visible({ n: 5 })).toBe(false);
  });
});
