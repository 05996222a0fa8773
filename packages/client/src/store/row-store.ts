import type { Change, Row, SnapshotRow } from '@syncline/protocol';

export interface StoredRow<R extends Row = Row> {
  readonly row: R;
  readonly version: number;
}

/**
 * The rows of one subscription, keyed by primary key. Snapshot parts are
 * staged aside and swapped in as a whole on commit, so readers never see a
 * half-loaded snapshot mixed with the previous rows.
 *
 * The map is mutated in place (a transaction touches a few rows of possibly
 * many thousands); rows() caches its array until the next change so
 * reference-equality based UIs (React's useSyncExternalStore) see a stable
 * value between changes.
 */
export class RowStore<R extends Row = Row> {
  private rows = new Map<string, StoredRow<R>>();
  private staged: SnapshotRow[] | undefined;
  private list: readonly R[] | undefined;

  get snapshotInProgress(): boolean {
    return this.staged !== undefined;
  }

  get size(): number {
    return this.rows.size;
  }

  get byKey(): ReadonlyMap<string, StoredRow<R>> {
    return this.rows;
  }

  get(key: string): StoredRow<R> | undefined {
    return this.rows.get(key);
  }

  toArray(): readonly R[] {
    return (this.list ??= Array.from(this.rows.values(), (stored) => stored.row));
  }

  stageSnapshotPart(rows: readonly SnapshotRow[]): void {
    const staged = (this.staged ??= []);
    // A loop, not push(...rows): spreading a large part would overflow the call stack.
    for (const row of rows) staged.push(row);
  }

  commitSnapshot(): void {
    const next = new Map<string, StoredRow<R>>();
    for (const { key, row, version } of this.staged ?? []) next.set(key, { row: row as R, version });
    this.rows = next;
    this.staged = undefined;
    this.list = undefined;
  }

  discardSnapshot(): void {
    this.staged = undefined;
  }

  /** insert/update set the key, delete removes it; no version comparison (the stream is ordered). */
  apply(changes: readonly Change[]): void {
    for (const change of changes) {
      if (change.op === 'delete') this.rows.delete(change.key);
      else if (change.row !== null) this.rows.set(change.key, { row: change.row as R, version: change.version });
    }
    this.list = undefined;
  }

  clear(): void {
    this.rows = new Map();
    this.staged = undefined;
    this.list = undefined;
  }
}
