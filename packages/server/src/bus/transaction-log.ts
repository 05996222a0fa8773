/**
 * The recent past of the stream, for resuming connections: decoded
 * transactions (shared, never per-subscriber copies) in commit order.
 *
 * Bounded by count and by an estimate of bytes. At the bound the oldest entries
 * go and `floor` rises; a cursor below the floor can no longer be resumed and
 * gets MUST_RESYNC.
 */
import type { CapturedTransaction } from '../capture/captured-transaction.ts';
import type { Lsn } from '../capture/lsn.ts';

export interface LogLimits {
  maxTransactions: number;
  maxBytes: number;
}

export class TransactionLog {
  /** Dropped entries are set to undefined at once (released), and the array compacted now and then. */
  private entries: Array<CapturedTransaction | undefined> = [];
  private sizes: number[] = [];
  private start = 0;
  private bytes = 0;
  /** All transactions with lsn > floor (up to head) are in the log. */
  floor: Lsn = 0n;
  /** LSN of the newest transaction seen (or the floor). */
  head: Lsn = 0n;

  constructor(private readonly limits: LogLimits) {}

  reset(floor: Lsn): void {
    this.entries = [];
    this.sizes = [];
    this.start = 0;
    this.bytes = 0;
    this.floor = floor;
    this.head = floor;
  }

  get size(): number {
    return this.entries.length - this.start;
  }

  get byteSize(): number {
    return this.bytes;
  }

  append(tx: CapturedTransaction): void {
    const size = estimateBytes(tx);
    this.entries.push(tx);
    this.sizes.push(size);
    this.bytes += size;
    this.head = tx.lsn;
    while (this.size > this.limits.maxTransactions || (this.bytes > this.limits.maxBytes && this.size > 1))
      this.dropOldest();
    if (this.start > 64 && this.start * 2 > this.entries.length) this.compact();
  }

  /** Transactions with lsn > after, oldest first. Caller must check `covers(after)` first. */
  *since(after: Lsn): Generator<CapturedTransaction> {
    let lo = this.start;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.entries[mid] as CapturedTransaction).lsn <= after) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.entries.length; i++) yield this.entries[i] as CapturedTransaction;
  }

  covers(after: Lsn): boolean {
    return after >= this.floor && after <= this.head;
  }

  private dropOldest(): void {
    const tx = this.entries[this.start] as CapturedTransaction;
    this.entries[this.start] = undefined;
    this.bytes -= this.sizes[this.start] ?? 0;
    this.start++;
    this.floor = tx.lsn;
  }

  private compact(): void {
    this.entries = this.entries.slice(this.start);
    this.sizes = this.sizes.slice(this.start);
    this.start = 0;
  }
}

function estimateBytes(tx: CapturedTransaction): number {
  let n = 128;
  for (const c of tx.changes) n += 64 + rowBytes(c.row) + rowBytes(c.old);
  return n;
}

function rowBytes(row: Record<string, unknown> | null): number {
  if (!row) return 0;
  let n = 0;
  for (const k in row) {
    const v = row[k];
    n += k.length + (typeof v === 'string' ? v.length : 8);
  }
  return n;
}
