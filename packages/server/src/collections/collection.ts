/**
 * A declared collection, compiled against its table: the filter twice (SQL and
 * predicate, see filter/), the projected column list, and how a row becomes a
 * wire row `{ key, row, version }`.
 */
import type { Row, SnapshotRow } from '@syncline/protocol';
import type { AccessContext, AccessRule, CollectionDefinition } from './collection-config.ts';
import type { CompiledFilter } from './filter/compile-filter.ts';
import { compileFilter } from './filter/compile-filter.ts';
import type { TableInfo } from './table-info.ts';
import { SetupError } from '../util/errors.ts';
import { splitTable } from '../util/quote-ident.ts';

export class Collection {
  readonly name: string;
  readonly table: TableInfo;
  readonly filter: CompiledFilter;
  readonly params: ReadonlySet<string>;
  /** Projected columns, or null for all. */
  readonly columns: readonly string[] | null;
  readonly access: CompiledAccess | null;
  readonly shared: boolean;

  constructor(def: CollectionDefinition, table: TableInfo, tables: ReadonlyMap<string, TableInfo>) {
    this.name = def.name;
    this.table = table;
    const known = new Set(table.columns.map((c) => c.name));
    if (!known.has('version'))
      throw new SetupError(`collection ${def.name}: table ${table.qualified} has no version column`);
    this.filter = compileFilter(def.filter ?? { and: [] }, table.columns);
    this.params = new Set(def.params ?? []);
    for (const p of this.filter.params) {
      if (!this.params.has(p))
        throw new SetupError(`collection ${def.name}: filter uses param "${p}", which is not declared in params`);
    }
    this.shared = def.shared ?? false;
    this.access = compileAccess(def, tables, this.params);
    if (def.columns) {
      for (const c of def.columns)
        if (!known.has(c)) throw new SetupError(`collection ${def.name}: unknown column ${c}`);
      this.columns = [...new Set([...table.primaryKey, 'version', ...def.columns])];
    } else {
      this.columns = null;
    }
  }

  keyOf(row: Row): string {
    const pk = this.table.primaryKey;
    if (pk.length === 1) return String(row[pk[0] as string]);
    return JSON.stringify(pk.map((c) => row[c] ?? null));
  }

  toWire(row: Row): SnapshotRow {
    return { key: this.keyOf(row), row: this.project(row), version: Number(row['version'] ?? 0) };
  }

  project(row: Row): Row {
    if (!this.columns) return row;
    const out: Row = {};
    for (const c of this.columns) if (c in row) out[c] = row[c] ?? null;
    return out;
  }
}

/** An access rule ready to check: an `exists` filter compiled against its table, or the user's function. */
export type CompiledAccess =
  | { kind: 'exists'; table: TableInfo; filter: CompiledFilter }
  | { kind: 'function'; check: (ctx: AccessContext) => boolean | Promise<boolean> };

function compileAccess(
  def: CollectionDefinition,
  tables: ReadonlyMap<string, TableInfo>,
  params: ReadonlySet<string>,
): CompiledAccess | null {
  return def.access ? compileAccessRule(`collection ${def.name}`, def.access, tables, params) : null;
}

/** Compiles a rule of a collection or a room (`what` names it in setup errors). */
export function compileAccessRule(
  what: string,
  rule: AccessRule,
  tables: ReadonlyMap<string, TableInfo>,
  params: ReadonlySet<string>,
): CompiledAccess {
  if (typeof rule === 'function') return { kind: 'function', check: rule };
  const table = tables.get(splitTable(rule.exists.table).qualified);
  if (!table) throw new SetupError(`${what}: access table ${rule.exists.table} was not loaded`);
  const filter = compileFilter(rule.exists.filter, table.columns);
  for (const p of filter.params) {
    if (!params.has(p)) throw new SetupError(`${what}: access rule uses param "${p}", which is not declared in params`);
  }
  return { kind: 'exists', table, filter };
}
