/**
 * Live revocation for collections with an `exists` access rule.
 *
 *   subscriber ─► watch(access table, access filter bound to its params/claims)
 *   tx change on the access table: row matched the watch before, not after
 *     ─► every dependent subscriber is revoked (before the same transaction's
 *        other changes are routed, so nothing in it leaks)
 *
 * Watches sit in their own routing index, so a change to `chat` evaluates only
 * the watches its values can match.
 */
import type { CapturedTransaction } from '../capture/captured-transaction.ts';
import type { Subscriber } from '../collections/collection-instance.ts';
import type { BoundFilter } from '../collections/filter/compile-filter.ts';
import type { TableInfo } from '../collections/table-info.ts';
import { RoutingIndex } from './routing-index.ts';

export class AccessWatch {
  readonly dependents = new Set<Subscriber>();
  constructor(
    readonly key: string,
    readonly table: TableInfo,
    readonly bound: BoundFilter,
  ) {}
}

export class AccessWatches {
  private readonly byKey = new Map<string, AccessWatch>();
  private readonly index = new RoutingIndex<AccessWatch>();

  watch(key: string, table: TableInfo, bound: BoundFilter, subscriber: Subscriber): AccessWatch {
    let w = this.byKey.get(key);
    if (!w) {
      w = new AccessWatch(key, table, bound);
      this.byKey.set(key, w);
      this.index.add(w);
    }
    w.dependents.add(subscriber);
    return w;
  }

  unwatch(w: AccessWatch, subscriber: Subscriber): void {
    w.dependents.delete(subscriber);
    if (w.dependents.size === 0 && this.byKey.get(w.key) === w) {
      this.byKey.delete(w.key);
      this.index.remove(w);
    }
  }

  get size(): number {
    return this.byKey.size;
  }

  /** Subscribers whose access this transaction takes away. */
  revokedBy(tx: CapturedTransaction): Subscriber[] {
    if (this.byKey.size === 0) return [];
    const lost = new Set<AccessWatch>();
    for (const table of tx.truncated) for (const w of this.index.allFor(table)) lost.add(w);
    for (const change of tx.changes) {
      if (!change.old) continue;
      for (const w of this.index.candidates(change.table, change.row, change.old)) {
        if (loses(w.bound, change.old, change.row)) lost.add(w);
      }
    }
    return [...lost].flatMap((w) => [...w.dependents]);
  }
}

/** Did a row that granted access stop granting it? (A row that never matched changes nothing.) */
export function loses(bound: BoundFilter, old: Record<string, unknown>, row: Record<string, unknown> | null): boolean {
  try {
    return bound.matches(old) && !(row !== null && bound.matches(row));
  } catch {
    return true; // cannot tell: revoke rather than risk a leak
  }
}
