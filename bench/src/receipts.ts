/**
 * Send and receipt times by sequence number, all from `performance.now()` in
 * this process: t0 just before the UPDATE is sent, receipt when the bytes of
 * the commit (floor) or of the `changes` event (SSE) arrive.
 */
export interface PhaseLatencies {
  floor: number[];
  /** Every SSE receipt of every commit. */
  sse: number[];
  /** Per commit, the slowest subscriber (only commits every subscriber received). */
  last: number[];
  /** Commits the floor never saw, and SSE receipts that never came. */
  missingFloor: number;
  missingSse: number;
}

export class Receipts {
  private readonly sent = new Map<number, number>();
  private readonly floor = new Map<number, number>();
  private readonly sse = new Map<number, number[]>();
  /** SSE receipts expected per commit (the open subscribers). */
  subscribers = 0;
  /** SSE receipts at or below a sequence number the same subscriber already had (should stay 0). */
  outOfOrder = 0;
  /** Time of the latest receipt of any kind. */
  lastReceiptAt = 0;
  private readonly lastSeq: number[] = [];
  private waiter: { seq: number; resolve: (done: boolean) => void } | null = null;

  /** A new set of subscribers (numbered from 0) starts. */
  resetSubscribers(count: number): void {
    this.subscribers = count;
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

  onSse(subscriber: number, seq: number, at: number): void {
    if (seq <= (this.lastSeq[subscriber] ?? -Infinity)) {
      this.outOfOrder++;
      return;
    }
    this.lastSeq[subscriber] = seq;
    this.lastReceiptAt = at;
    let list = this.sse.get(seq);
    if (!list) this.sse.set(seq, (list = []));
    list.push(at);
    this.wake(seq);
  }

  complete(seq: number): boolean {
    return this.floor.has(seq) && (this.sse.get(seq)?.length ?? 0) >= this.subscribers;
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
    const out: PhaseLatencies = { floor: [], sse: [], last: [], missingFloor: 0, missingSse: 0 };
    for (const seq of seqs) {
      const t0 = this.sent.get(seq);
      if (t0 === undefined) continue;
      const f = this.floor.get(seq);
      if (f === undefined) out.missingFloor++;
      else out.floor.push(f - t0);
      const list = this.sse.get(seq) ?? [];
      let last = -Infinity;
      for (const at of list) {
        out.sse.push(at - t0);
        if (at > last) last = at;
      }
      out.missingSse += Math.max(0, this.subscribers - list.length);
      if (list.length >= this.subscribers && list.length > 0) out.last.push(last - t0);
    }
    return out;
  }
}
