/**
 * Incremental evaluation of one query over one table's rows.
 *
 * The evaluator remembers the table map it last saw. Tables are persistent
 * maps and changed rows are new `VersionedRow` objects, so moving to a new map
 * is a diff by identity that walks only the branches the two maps do not
 * share (O(changes), not O(rows)): only rows whose `VersionedRow` differs are re-filtered
 * (predicates never run for untouched rows) and re-placed in the sorted list by
 * binary search. The result is a frozen array that keeps its identity while
 * the rows it shows (same objects, same order) do not change.
 */
import type { Row } from '@syncline/protocol';
import { changedKeys, PersistentMap } from '../mutations/persistent-map.ts';
import type { TableRows, VersionedRow } from '../mutations/table-rows.ts';
import { entryComparator, type Comparator, type Entry, type OrderTerm } from './compare.ts';

export interface QuerySpec {
  /** Schema-qualified table name (`public.order`). */
  readonly table: string;
  readonly where: readonly ((row: Row) => boolean)[];
  readonly orderBy: readonly OrderTerm[];
  readonly limit: number;
}

const EMPTY_RESULT: readonly Row[] = Object.freeze([]);

/** Keys whose row differs between two versions of a table: by shared structure when both are persistent. */
function changedBetween(prev: TableRows | undefined, next: TableRows | undefined): string[] {
  const changed: string[] = [];
  const a = prev ?? PersistentMap.empty<VersionedRow>();
  const b = next ?? PersistentMap.empty<VersionedRow>();
  if (a instanceof PersistentMap && b instanceof PersistentMap) {
    changedKeys(a as PersistentMap<VersionedRow>, b as PersistentMap<VersionedRow>, (key) => changed.push(key));
    return changed;
  }
  let added = 0;
  for (const [key, v] of b) {
    const before = a.get(key);
    if (before === v) continue;
    changed.push(key);
    if (before === undefined) added++;
  }
  // Deleted keys exist only when prev holds more keys than next's unchanged + changed ones account for.
  if (a.size > b.size - added) for (const key of a.keys()) if (!b.has(key)) changed.push(key);
  return changed;
}

export class QueryEvaluator {
  private seen: TableRows | undefined;
  private ready = false;
  private readonly matched = new Map<string, Entry>();
  private sorted: Entry[] = [];
  private current: readonly Row[] = EMPTY_RESULT;
  private readonly cmp: Comparator<Entry>;

  constructor(private readonly spec: QuerySpec) {
    this.cmp = entryComparator(spec.orderBy);
  }

  get result(): readonly Row[] {
    return this.current;
  }

  /** Whether the result is already up to `table` (the same map as last time). */
  isAt(table: TableRows | undefined): boolean {
    return this.ready && table === this.seen;
  }

  /** Brings the result up to `table` (the table's map in the new view). Returns whether the result changed. */
  update(table: TableRows | undefined): boolean {
    if (this.ready && table === this.seen) return false;
    try {
      const touched = this.ready ? this.applyDiff(this.seen, table) : this.rebuild(table);
      this.seen = table;
      this.ready = true;
      return touched && this.publish();
    } catch (error) {
      // A throwing predicate or comparator leaves no half-applied state: start over next time.
      this.ready = false;
      this.matched.clear();
      this.sorted = [];
      throw error;
    }
  }

  private passes(row: Row): boolean {
    for (const pred of this.spec.where) if (!pred(row)) return false;
    return true;
  }

  private rebuild(table: TableRows | undefined): boolean {
    this.matched.clear();
    for (const [key, v] of table ?? []) if (this.passes(v.row)) this.matched.set(key, { key, row: v.row });
    this.sorted = [...this.matched.values()].sort(this.cmp);
    return true;
  }

  /** Re-filters rows whose VersionedRow changed between `prev` and `next`; returns whether `matched` changed. */
  private applyDiff(prev: TableRows | undefined, next: TableRows | undefined): boolean {
    const changed = changedBetween(prev, next);
    const removed: Entry[] = [];
    const inserted: Entry[] = [];
    for (const key of changed) {
      const old = this.matched.get(key);
      const v = next?.get(key);
      if (old !== undefined && v !== undefined && old.row === v.row) continue; // version-only change
      if (old !== undefined) {
        this.matched.delete(key);
        removed.push(old);
      }
      if (v !== undefined && this.passes(v.row)) {
        const entry = { key, row: v.row };
        this.matched.set(key, entry);
        inserted.push(entry);
      }
    }
    if (removed.length === 0 && inserted.length === 0) return false;
    if (removed.length + inserted.length > 16 + this.sorted.length / 8) {
      this.sorted = [...this.matched.values()].sort(this.cmp);
    } else {
      for (const e of removed) this.remove(e);
      for (const e of inserted) this.sorted.splice(this.lowerBound(e), 0, e);
    }
    return true;
  }

  private remove(entry: Entry): void {
    const i = this.lowerBound(entry);
    // A comparator that is not a consistent order can defeat the binary search: fall back to a scan.
    const at = this.sorted[i] === entry ? i : this.sorted.indexOf(entry);
    if (at >= 0) this.sorted.splice(at, 1);
  }

  /** First index whose entry does not sort before `entry`. */
  private lowerBound(entry: Entry): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const e = this.sorted[mid];
      if (e !== undefined && this.cmp(e, entry) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Recomputes the visible window; keeps the previous array (and returns false) when it shows the same rows. */
  private publish(): boolean {
    const n = Math.min(this.spec.limit, this.sorted.length);
    const prev = this.current;
    let same = prev.length === n;
    for (let i = 0; same && i < n; i++) same = prev[i] === this.sorted[i]?.row;
    if (same) return false;
    const next: Row[] = new Array<Row>(n);
    for (let i = 0; i < n; i++) next[i] = (this.sorted[i] as Entry).row;
    this.current = Object.freeze(next);
    return true;
  }
}
