/**
 * Policies outside the compiled subset, evaluated by PostgreSQL on the rows as
 * their transaction committed them (not on a later state of the table): the
 * rows go in as one JSON array, become the table's row type, and the policies'
 * USING expressions filter them under the role with the subscriber's claims.
 * One query per (transaction, table, distinct claims), never per change.
 */
import type pg from 'pg';
import type { Identity } from '../auth/token-verifier.ts';
import { withUserTransaction } from '../auth/user-transaction.ts';
import type { TableInfo } from '../collections/table-info.ts';
import { quoteIdent, quoteTable } from '../util/quote-ident.ts';

type Row = Record<string, unknown>;

function checkSql(table: TableInfo, policySql: string): string {
  // Aliased as the table itself, so the policies' references (`chat_message.chat_id`) resolve to these rows.
  const alias = quoteIdent(table.name);
  return (
    `SELECT ${alias}.ordinality::int AS i FROM jsonb_populate_recordset(NULL::${quoteTable(table.qualified)}, $1::jsonb)` +
    ` WITH ORDINALITY AS ${alias} WHERE ${policySql}`
  );
}

function pick(rows: Row[], result: Array<{ i: number }>): Set<Row> {
  const out = new Set<Row>();
  for (const r of result) {
    const row = rows[r.i - 1];
    if (row) out.add(row);
  }
  return out;
}

/**
 * The same check inside a transaction already open on `client` with the caller's claims set (a
 * mutation's): it sees that transaction's own writes, and needs no second connection.
 */
export async function visibleRowsIn(
  client: pg.PoolClient,
  role: string,
  table: TableInfo,
  policySql: string,
  rows: Row[],
): Promise<Set<Row>> {
  if (rows.length === 0) return new Set();
  await client.query('SAVEPOINT syncline_rls_check');
  try {
    await client.query(`SET LOCAL ROLE ${quoteIdent(role)}`);
    const result = await client.query<{ i: number }>(checkSql(table, policySql), [JSON.stringify(rows)]);
    return pick(rows, result.rows);
  } finally {
    // Undoes the role as well: the mutation carries on as it was.
    await client.query('ROLLBACK TO SAVEPOINT syncline_rls_check');
  }
}

export async function visibleRows(
  pool: pg.Pool,
  role: string,
  identity: Identity,
  table: TableInfo,
  policySql: string,
  rows: Row[],
): Promise<Set<Row>> {
  if (rows.length === 0) return new Set();
  const result = await withUserTransaction(pool, identity, { role }, 'READ ONLY', (c) =>
    c.query<{ i: number }>(checkSql(table, policySql), [JSON.stringify(rows)]),
  );
  return pick(rows, result.rows);
}
