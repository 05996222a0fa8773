/**
 * Reads the synced tables' RLS state for the configured role from the catalog:
 * ENABLE/FORCE, ownership, BYPASSRLS, the SELECT policies that apply to the
 * role (directly, through membership, or PUBLIC), and the bodies of the
 * zero-argument SQL functions they call (`app_user_id()`).
 */
import type pg from 'pg';
import type { TableInfo } from '../collections/table-info.ts';
import type { PExpr } from './policy-expr.ts';
import { typeOf } from './policy-expr.ts';
import { parseFunctionBody } from './policy-parser.ts';
import { compileTablePolicy, type PolicyRow, type TablePolicy } from './table-policy.ts';

const RETURN_TYPES: Record<string, string> = {
  text: 'text',
  'character varying': 'text',
  uuid: 'uuid',
  integer: 'int',
  bigint: 'int',
  smallint: 'int',
  boolean: 'bool',
};

export async function loadTablePolicies(
  pool: pg.Pool | pg.PoolClient,
  role: string,
  tables: readonly TableInfo[],
): Promise<Map<string, TablePolicy>> {
  const out = new Map<string, TablePolicy>();
  const functions = new Map<string, PExpr | string>();
  for (const t of tables) {
    const { rows } = await pool.query<{
      oid: number;
      enabled: boolean;
      forced: boolean;
      owner: boolean;
      bypass: boolean;
    }>(
      `SELECT c.oid::int AS oid, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced,
              pg_has_role($3, c.relowner, 'USAGE') AS owner,
              (SELECT r.rolbypassrls OR r.rolsuper FROM pg_roles r WHERE r.rolname = $3) AS bypass
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2`,
      [t.schema, t.name, role],
    );
    const rel = rows[0];
    if (!rel) continue;
    const policies = await pool.query<PolicyRow>(
      `SELECT p.polname AS name, p.polpermissive AS permissive, pg_get_expr(p.polqual, p.polrelid) AS using
         FROM pg_policy p
        WHERE p.polrelid = $1 AND p.polcmd IN ('r', '*')
          AND (0 = ANY (p.polroles)
               OR EXISTS (SELECT 1 FROM unnest(p.polroles) AS r(oid) WHERE r.oid <> 0 AND pg_has_role($2, r.oid, 'USAGE')))
        ORDER BY p.polname`,
      [rel.oid, role],
    );
    for (const p of policies.rows) await resolveFunctions(pool, p.using ?? '', functions);
    const deps = await pool.query<{ schema: string; name: string }>(
      `SELECT DISTINCT n.nspname AS schema, c.relname AS name
         FROM pg_policy p
         JOIN pg_depend d ON d.classid = 'pg_policy'::regclass AND d.objid = p.oid AND d.refclassid = 'pg_class'::regclass
         JOIN pg_class c ON c.oid = d.refobjid
         JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE p.polrelid = $1 AND d.refobjid <> p.polrelid`,
      [rel.oid],
    );
    // Columns memory cannot judge as PostgreSQL does: generated ones (absent from the WAL) and those
    // with a nondeterministic collation (equality is not by code points). A policy reading them is
    // left to the database.
    const odd = await pool.query<{ name: string }>(
      `SELECT a.attname AS name FROM pg_attribute a LEFT JOIN pg_collation co ON co.oid = a.attcollation
        WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
          AND (a.attgenerated <> '' OR (co.oid IS NOT NULL AND NOT co.collisdeterministic))`,
      [rel.oid],
    );
    const excluded = new Set(odd.rows.map((r) => r.name));
    const columns = new Map(t.columns.filter((c) => !excluded.has(c.name)).map((c) => [c.name, c.typeOid]));
    out.set(
      t.qualified,
      compileTablePolicy(
        t.qualified,
        {
          enabled: rel.enabled,
          forced: rel.forced,
          owner: rel.owner,
          bypass: rel.bypass,
          policies: policies.rows,
          dependsOn: deps.rows.map((d) => `${d.schema}.${d.name}`),
        },
        { table: t.name, columns, functions },
      ),
    );
  }
  return out;
}

/** Zero-argument calls `name()` / `schema.name()` in an expression, looked up once each. */
async function resolveFunctions(
  pool: pg.Pool | pg.PoolClient,
  text: string,
  into: Map<string, PExpr | string>,
): Promise<void> {
  for (const m of text.matchAll(/((?:"[^"]+"|[A-Za-z_][\w$]*)(?:\.(?:"[^"]+"|[A-Za-z_][\w$]*))?)\(\)/g)) {
    const printed = m[1] as string;
    const name = printed.replace(/"/g, '');
    if (into.has(name)) continue;
    const { rows } = await pool.query<{ src: string; lang: string; ret: string; standard: boolean }>(
      `SELECT p.prosrc AS src, l.lanname AS lang, format_type(p.prorettype, NULL) AS ret,
              p.prosqlbody IS NOT NULL AS standard
         FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
        WHERE p.oid = to_regprocedure($1)`,
      [`${printed}()`],
    );
    const f = rows[0];
    if (!f) into.set(name, 'not found');
    else if (f.lang !== 'sql' || f.standard) into.set(name, `a ${f.standard ? 'SQL-standard' : f.lang} function body`);
    else {
      const body = parseFunctionBody(f.src);
      const ret = RETURN_TYPES[f.ret];
      if (typeof body === 'string') into.set(name, body);
      else if (!ret || typeOf(body) !== ret) into.set(name, `returns ${f.ret}, its body gives ${typeOf(body)}`);
      // The declared type bounds the result (a bigint body of an integer function raises past 2^31).
      else if (f.ret === 'integer' || f.ret === 'smallint')
        into.set(name, { k: 'cast', to: 'int', bits: f.ret === 'integer' ? 32 : 16, e: body });
      else into.set(name, body);
    }
  }
}
