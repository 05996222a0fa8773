/**
 * One snapshot in flight for an instance, and the changes routed to it while
 * the query runs.
 *
 *   register (buffer on) ─► query rows + pg_current_snapshot() ─► merge:
 *       rows  ⊕  buffered transactions whose xid the snapshot did NOT see
 *   ─► state at the stream head ─► every waiter gets it, then live changes.
 *
 * Because the merge happens at the head, a subscriber that joins while the
 * query runs can share it: coalescing falls out for free.
 */
import type { SnapshotRow } from '@syncline/protocol';
import type { Subscriber } from './collection-instance.ts';
import type { InstanceChange } from '../router/route-transaction.ts';
import type { XidSnapshot } from './xid-snapshot.ts';
import { isVisible } from './xid-snapshot.ts';

interface Buffered {
  xid: number;
  changes: InstanceChange[];
}

export class SnapshotJob {
  readonly waiters: Subscriber[] = [];
  private buffer: Buffered[] = [];
  private buffered = 0;
  /** Set when the buffer passed its bound or the table changed shape: the query result must be discarded. */
  invalid = false;

  constructor(private readonly maxBuffered: number) {}

  record(xid: number, changes: InstanceChange[]): void {
    if (this.invalid) return;
    this.buffer.push({ xid, changes });
    this.buffered += changes.length;
    if (this.buffered > this.maxBuffered) this.invalidate();
  }

  invalidate(): void {
    this.invalid = true;
    this.buffer = [];
    this.buffered = 0;
  }

  /** Snapshot rows brought forward to the stream head. */
  merge(rows: SnapshotRow[], xids: XidSnapshot): SnapshotRow[] {
    const state = new Map<string, SnapshotRow>();
    for (const r of rows) state.set(r.key, r);
    for (const b of this.buffer) {
      if (isVisible(xids, b.xid)) continue; // already in the rows
      for (const c of b.changes) {
        if (c.op === 'delete') state.delete(c.key);
        else if (c.row) state.set(c.key, { key: c.key, row: c.row, version: c.version });
      }
    }
    this.buffer = [];
    return [...state.values()];
  }
}
