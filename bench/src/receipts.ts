/**
 * Send and receipt times by sequence number, all from `performance.now()` in
 * this process: t0 just before the UPDATE (or the broadcast floor's trigger) is
 * sent; receipt when the bytes of the commit (pgoutput floor) or of the
 * `changes` message (each subscriber) arrive.
 */
export interface PhaseLatencies {
  /** The pgoutput floor, one per commit (empty in a broadcast phase). */
  floor: number[];
  /** Every subscriber's receipt of every commit. */
  all: number[];
  /** Per commit, the slowest subscriber (only commits every subscriber received). */
  last: number[];
  /** `all` and `last` measured from the floor's receipt of the same commit instead of t0. */
  allAfterFloor: number[];
  lastAfterFloor: number[];
  /** Commits the floor never saw, and subscriber receipts that never came. */
  missingFloor: number;
  missing: number;
}

export class Receipts {
  private readonly sent = new Map<number, number>();
  private readonly floor = new Map<number, number>();
  private readonly received = new Map<number, number[]>();
  /** Receipts expected per commit (the open subscribers). */
  subscribers = 0;
  /** Whether the pgoutput floor sees these sequence numbers (not in a broadcast phase). */
  withFloor = true;
  /** Receipts at or below a sequence number the same subscriber already had (should stay 0). */
  outOfOrder = 0;
  /** Time of the latest receipt of any kind. */
  lastReceiptAt = 0;
  private readonly lastSeq: number[] = [];
  private waiter: { seq: number; resolve: (done: boolean) => void } | null = null;

  /** A new set of subscribers (numbered from 0) starts. */
  reset(subscribers: number, withFloor: boolean): void {
    this.subscribers = subscribers;
    this.withFloor = withFloor;
    this.lastSeq.length = 0;
  }

  markSent(seq: number, t0: number): void {
    this.sent.set(seq, t0);
  }

  onFloor(seq: number, at: number): void {
    if (!this.floor.has(seq)) this.floor.set(seq, at);
    this.lastReceiptAt = at;
    this.wake(seq);
  }

  onReceipt(subscriber: number, seq: number, at: number): void {
    if (seq <= (this.lastSeq[subscriber] ?? -Infinity)) {
      this.outOfOrder++;
      return;
    }
    this.lastSeq[subscriber] = seq;
    this.lastReceiptAt = at;
    let list = this.received.get(seq);
    if (!list) this.received.set(seq, (list = []));
    list.push(at);
    this.wake(seq);
  }

  complete(seq: number): boolean {
    return (!this.withFloor || this.floor.has(seq)) && (this.received.get(seq)?.length ?? 0) >= this.subscribers;
  }

  /** Resolves true once every receiver has `seq`, false after `timeoutMs`. */
  waitComplete(seq: number, timeoutMs: number): Promise<boolean> {
    if (this.complete(seq)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        resolve(false);
      }, timeoutMs);
      this.waiter = {
        seq,
        resolve: (done) => {
          clearTimeout(timer);
          resolve(done);
        },
      };
    });
  }

  private wake(seq: number): void {
    const w = this.waiter;
    if (w && w.seq === seq && this.complete(seq)) {
      this.waiter = null;
      w.resolve(true);
    }
  }

  latencies(seqs: readonly number[]): PhaseLatencies {
    const out: PhaseLatencies = {
      floor: [],
      all: [],
      last: [],
      allAfterFloor: [],
      lastAfterFloor: [],
      missingFloor: 0,
      missing: 0,
    };
    for (const seq of seqs) {
      const t0 = this.sent.get(seq);
      if (t0 === undefined) continue;
      const f = this.withFloor ? this.floor.get(seq) : undefined;
      if (this.withFloor && f === undefined) out.missingFloor++;
      if (f !== undefined) out.floor.push(f - t0);
      const list = this.received.get(seq) ?? [];
      let last = -Infinity;
      for (const at of list) {
        out.all.push(at - t0);
        if (f !== undefined) out.allAfterFloor.push(at - f);
        if (at > last) last = at;
      }
      out.missing += Math.max(0, this.subscribers - list.length);
      if (list.length >= this.subscribers && list.length > 0) {
        out.last.push(last - t0);
        if (f !== undefined) out.lastAfterFloor.push(last - f);
      }
    }
    return out;
  }
}
