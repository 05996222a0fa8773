/**
 * Per table, which instances (or access watches) can a row possibly match?
 *
 *   table ─► column ─► value key ─► instances   (filters with a top-level equality)
 *        └─► scan list                          (everything else)
 *
 * A change costs one map lookup per indexed column plus the scan list, not a
 * predicate per instance. The predicate still decides; the index only narrows.
 */
import type { Row } from '@syncline/protocol';
import type { BoundFilter } from '../collections/filter/compile-filter.ts';
import { valueKey } from '../collections/filter/compile-filter.ts';
import type { TableInfo } from '../collections/table-info.ts';

/** Anything with a table and a bound filter: collection instances, access watches. */
export interface Routable {
  readonly table: TableInfo;
  readonly bound: BoundFilter;
}

interface TableIndex<T> {
  byColumn: Map<string, { typeOid: number; values: Map<string, Set<T>> }>;
  scan: Set<T>;
}

export class RoutingIndex<T extends Routable> {
  private readonly tables = new Map<string, TableIndex<T>>();
  private readonly slots = new Map<T, Array<{ column: string; key: string }> | null>();

  add(instance: T): void {
    const t = this.tableIndex(instance.table.qualified);
    const slots = slotsOf(instance.bound);
    this.slots.set(instance, slots);
    if (!slots) {
      t.scan.add(instance);
      return;
    }
    for (const eq of slots) {
      const typeOid = instance.table.columns.find((c) => c.name === eq.column)?.typeOid ?? 25;
      let col = t.byColumn.get(eq.column);
      if (!col) t.byColumn.set(eq.column, (col = { typeOid, values: new Map() }));
      let set = col.values.get(eq.key);
      if (!set) col.values.set(eq.key, (set = new Set()));
      set.add(instance);
    }
  }

  remove(instance: T): void {
    const t = this.tables.get(instance.table.qualified);
    const slots = this.slots.get(instance);
    this.slots.delete(instance);
    if (!t) return;
    if (!slots) {
      t.scan.delete(instance);
      return;
    }
    for (const eq of slots) {
      const col = t.byColumn.get(eq.column);
      const set = col?.values.get(eq.key);
      set?.delete(instance);
      if (set && set.size === 0) col?.values.delete(eq.key);
      if (col && col.values.size === 0) t.byColumn.delete(eq.column);
    }
  }

  /** Every instance on `table`, for TRUNCATE and resync decisions. */
  allFor(table: string): T[] {
    const t = this.tables.get(table);
    if (!t) return [];
    const out = new Set(t.scan);
    for (const col of t.byColumn.values()) for (const set of col.values.values()) for (const i of set) out.add(i);
    return [...out];
  }

  candidates(table: string, row: Row | null, old: Row | null): Iterable<T> {
    const t = this.tables.get(table);
    if (!t) return [];
    if (t.byColumn.size === 0) return t.scan;
    const out = new Set(t.scan);
    for (const [column, col] of t.byColumn) {
      for (const r of [row, old]) {
        if (!r) continue;
        const k = valueKey(col.typeOid, r[column]);
        if (k === null) continue;
        const set = col.values.get(k);
        if (set) for (const i of set) out.add(i);
      }
    }
    return out;
  }

  private tableIndex(name: string): TableIndex<T> {
    let t = this.tables.get(name);
    if (!t) this.tables.set(name, (t = { byColumn: new Map(), scan: new Set() }));
    return t;
  }
}

/**
 * Where an instance is indexed: its first equality; else every alternative (a matching row has one
 * of them); else nowhere, and it is scanned. An instance that can match no row is scanned too, so
 * TRUNCATE and resets still find it.
 */
function slotsOf(bound: BoundFilter): Array<{ column: string; key: string }> | null {
  const eq = bound.equalities()[0];
  if (eq) return [eq];
  const alts = bound.alternatives?.() ?? null;
  if (!alts || alts.length === 0) return null;
  const unique = new Map(alts.map((a) => [JSON.stringify([a.column, a.key]), a]));
  return [...unique.values()];
}
