/** Test helpers: a hand-driven ViewSource and copy-on-write edits of BaseRows. */
import type { Row } from '@syncline/protocol';
import type { BaseRows, TableRows, VersionedRow } from '../mutations/table-rows.ts';
import type { ViewSource } from './live-query.ts';

export class FakeSource implements ViewSource {
  readonly listeners = new Set<() => void>();

  constructor(public rows: BaseRows = new Map()) {}

  view(): BaseRows {
    return this.rows;
  }

  onChange(listener: () => void): () => void {
    const wrapped = (): void => listener();
    this.listeners.add(wrapped);
    return () => this.listeners.delete(wrapped);
  }

  /** Replaces the view and fires onChange. */
  set(rows: BaseRows): void {
    this.rows = rows;
    for (const l of [...this.listeners]) l();
  }
}

export function tableOf(rows: Record<string, Row>, version = 1): TableRows {
  return new Map(Object.entries(rows).map(([k, row]): [string, VersionedRow] => [k, { row, version }]));
}

/** A new BaseRows where only `table`'s map is new: `key → row` sets (new VersionedRow), `key → null` deletes. */
export function edit(base: BaseRows, table: string, changes: Record<string, Row | null>): BaseRows {
  const t = new Map(base.get(table));
  for (const [key, row] of Object.entries(changes)) {
    if (row === null) t.delete(key);
    else t.set(key, { row, version: (t.get(key)?.version ?? 0) + 1 });
  }
  const out = new Map(base);
  out.set(table, t);
  return out;
}
