/**
 * The client's server-truth rows by table (`BaseRows`): table name as the
 * server spells it in `WrittenRow.table` (`public.order`) → row key (as the
 * server computes it: the primary key's text form, or a JSON array for
 * composite keys) → `{ row, version }`.
 *
 * BaseRows are immutable values: every helper returns a new outer map and
 * changes only the tables it touches (persistent maps: untouched rows shared), so views can be memoised by identity and
 * an observer holding an old value never sees it change under it.
 */
import type { Row, WrittenRow } from '@syncline/protocol';
import { PersistentMap, Transient } from './persistent-map.ts';

export interface VersionedRow {
  readonly row: Row;
  readonly version: number;
}

export type TableRows = ReadonlyMap<string, VersionedRow>;
export type BaseRows = ReadonlyMap<string, TableRows>;

export const DEFAULT_SCHEMA = 'public';

const EMPTY: BaseRows = new Map();

export function emptyBaseRows(): BaseRows {
  return EMPTY;
}

/** `order` → `public.order`; names that already carry a schema are kept as they are. */
export function normaliseTable(table: string, defaultSchema: string = DEFAULT_SCHEMA): string {
  return table.includes('.') ? table : `${defaultSchema}.${table}`;
}

/** The key of a row id as the server writes it in `WrittenRow.key` (composite ids are already JSON text). */
export function keyOfId(id: string | number): string {
  return String(id);
}

export function getRow(rows: BaseRows, table: string, key: string): VersionedRow | undefined {
  return rows.get(normaliseTable(table))?.get(key);
}

export function tableRows(rows: BaseRows, table: string): TableRows {
  return rows.get(normaliseTable(table)) ?? new Map<string, VersionedRow>();
}

/** Number of rows over all tables. */
export function countRows(rows: BaseRows): number {
  let n = 0;
  for (const t of rows.values()) n += t.size;
  return n;
}

/** Builds BaseRows from plain entries (tests, rehydration from IndexedDB). */
export function baseRowsFrom(entries: Iterable<WrittenRow>): BaseRows {
  const edit = new RowsEditor(EMPTY);
  for (const w of entries) {
    if (w.row === null) edit.delete(w.table, w.key);
    else edit.set(w.table, w.key, { row: w.row, version: w.version });
  }
  return edit.done();
}

/** Flattens BaseRows into WrittenRows (table, key order as stored). */
export function toWrittenRows(rows: BaseRows): WrittenRow[] {
  const out: WrittenRow[] = [];
  for (const [table, t] of rows) for (const [key, v] of t) out.push({ table, key, row: v.row, version: v.version });
  return out;
}

/** Structural equality of two BaseRows (tables without rows count as absent). */
export function baseRowsEqual(a: BaseRows, b: BaseRows): boolean {
  if (a === b) return true;
  const tables = new Set([...a.keys(), ...b.keys()]);
  for (const table of tables) {
    const ta = a.get(table);
    const tb = b.get(table);
    if ((ta?.size ?? 0) !== (tb?.size ?? 0)) return false;
    if (!ta || !tb) continue;
    for (const [key, ra] of ta) {
      const rb = tb.get(key);
      if (!rb || ra.version !== rb.version || !jsonEqual(ra.row, rb.row)) return false;
    }
  }
  return true;
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/**
 * Copy-on-write editing of BaseRows: each table written is a persistent map
 * (see persistent-map.ts) edited through a transient, so a write costs
 * O(log rows) whatever the table's size and shares the rest with the
 * original; `done()` returns the original value when nothing changed.
 */
export class RowsEditor {
  private readonly tables = new Map<string, Transient<VersionedRow>>();

  constructor(private readonly source: BaseRows) {}

  get(table: string, key: string): VersionedRow | undefined {
    const name = normaliseTable(table);
    const t = this.tables.get(name);
    return t ? t.get(key) : this.source.get(name)?.get(key);
  }

  set(table: string, key: string, value: VersionedRow): void {
    this.writable(normaliseTable(table)).set(key, value);
  }

  delete(table: string, key: string): void {
    const name = normaliseTable(table);
    const t = this.tables.get(name);
    if (t ? !t.has(key) : !this.source.get(name)?.has(key)) return;
    this.writable(name).delete(key);
  }

  get changed(): boolean {
    return this.tables.size > 0;
  }

  done(): BaseRows {
    if (this.tables.size === 0) return this.source;
    const outer = new Map(this.source);
    for (const [name, t] of this.tables) {
      const rows = t.done();
      if (rows.size === 0) outer.delete(name);
      else outer.set(name, rows);
    }
    return outer;
  }

  private writable(table: string): Transient<VersionedRow> {
    let t = this.tables.get(table);
    if (!t) this.tables.set(table, (t = new Transient(persistent(this.source.get(table)))));
    return t;
  }
}

/** A table as a persistent map (tables built elsewhere as plain Maps are converted once). */
export function persistent(rows: TableRows | undefined): PersistentMap<VersionedRow> {
  if (rows === undefined) return PersistentMap.empty();
  return rows instanceof PersistentMap ? (rows as PersistentMap<VersionedRow>) : PersistentMap.from(rows);
}

/**
 * Whether a server row (from a write's answer, a `current`, or the stream) may
 * replace what base holds. Versions rise by one per write of a row, so a lower
 * version is an older state that arrived late (an HTTP answer racing the
 * stream) and must not overwrite a newer one.
 *
 * - a row: applies when base has no row (and no tombstone at least as new), or an older version;
 * - a delete (`row: null`, version = the deleted row's last version): applies when
 *   base's version is not newer than the deleted one.
 */
export function isNewer(
  current: VersionedRow | undefined,
  incoming: Pick<WrittenRow, 'row' | 'version'>,
  tombstone?: number,
): boolean {
  if (incoming.row === null) return current !== undefined && current.version <= incoming.version;
  if (current === undefined) return tombstone === undefined || incoming.version > tombstone;
  return incoming.version > current.version;
}
