/** A synced table's columns and primary key, read from the catalog at start. */
import type pg from 'pg';
import { SetupError } from '../util/errors.ts';
import { splitTable } from '../util/quote-ident.ts';

export interface TableColumn {
  name: string;
  typeOid: number;
}

export interface TableInfo {
  /** "schema.table" */
  qualified: string;
  schema: string;
  name: string;
  columns: TableColumn[];
  primaryKey: string[];
}

export async function loadTableInfo(pool: pg.Pool, table: string): Promise<TableInfo> {
  const { schema, name, qualified } = splitTable(table);
  const cols = await pool.query<{ name: string; type_oid: number; pk_pos: number | null }>(
    `SELECT a.attname AS name, a.atttypid::int AS type_oid,
            array_position(i.indkey::int2[], a.attnum) AS pk_pos
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
      WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [schema, name],
  );
  if (cols.rows.length === 0) throw new SetupError(`table ${qualified} does not exist`);
  const primaryKey = cols.rows
    .filter((c) => c.pk_pos !== null)
    .sort((a, b) => (a.pk_pos ?? 0) - (b.pk_pos ?? 0))
    .map((c) => c.name);
  if (primaryKey.length === 0) throw new SetupError(`table ${qualified} has no primary key`);
  return {
    qualified,
    schema,
    name,
    columns: cols.rows.map((c) => ({ name: c.name, typeOid: c.type_oid })),
    primaryKey,
  };
}
