/**
 * A declared collection, compiled against its table: the filter twice (SQL and
 * predicate, see filter/), the projected column list, and how a row becomes a
 * wire row `{ key, row, version }`.
 */
import type { Row, SnapshotRow } from '@syncline/protocol';
import type { CollectionDefinition } from './collection-config.ts';
import type { CompiledFilter } from './filter/compile-filter.ts';
import { compileFilter } from './filter/compile-filter.ts';
import type { TableInfo } from './table-info.ts';
import { SetupError } from '../util/errors.ts';

export class Collection {
  readonly name: string;
  readonly table: TableInfo;
  readonly filter: CompiledFilter;
  readonly params: ReadonlySet<string>;
  /** Projected columns, or null for all. */
  readonly columns: readonly string[] | null;

  constructor(def: CollectionDefinition, table: TableInfo) {
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
