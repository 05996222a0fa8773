/**
 * Holds the slot's confirmations back by a delay, for a bus whose log lives
 * only in this process (one node). A transaction is confirmed once it is
 * `delayMs` old, so a process that dies (SIGKILL) leaves the last moments
 * unconfirmed: Postgres sends them again to the next process, whose log then
 * holds them, and a client that had not yet read them — bytes in flight, a
 * socket reset — resumes from its cursor instead of finding it too old.
 *
 *   confirm(lsn) ─► [ (lsn, due) … ] ─ every 100 ms, what is due ─► stream.confirm(max)
 *   now(lsn) ─► at once (Postgres is waiting for us: a shutdown)
 *
 * Entries closer than 50 ms together share one slot, so the queue stays at a
 * few dozen entries whatever the commit rate.
 */
import type { Lsn } from './lsn.ts';

interface Confirmable {
  confirm(lsn: Lsn): void;
}

export class DelayedConfirm {
  private readonly queue: Array<{ lsn: Lsn; due: number }> = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly stream: Confirmable,
    private readonly delayMs: number,
  ) {}

  confirm(lsn: Lsn): void {
    if (this.delayMs <= 0) return this.stream.confirm(lsn);
    const due = Date.now() + this.delayMs;
    const last = this.queue[this.queue.length - 1];
    if (last && due - last.due < 50) {
      if (lsn > last.lsn) last.lsn = lsn;
    } else this.queue.push({ lsn, due });
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), 100);
      this.timer.unref();
    }
  }

  now(lsn: Lsn): void {
    while (this.queue.length > 0 && (this.queue[0] as { lsn: Lsn }).lsn <= lsn) this.queue.shift();
    this.stream.confirm(lsn);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.queue.length = 0;
  }

  private tick(): void {
    const now = Date.now();
    let max: Lsn | null = null;
    while (this.queue.length > 0 && (this.queue[0] as { due: number }).due <= now) {
      const e = this.queue.shift() as { lsn: Lsn };
      if (max === null || e.lsn > max) max = e.lsn;
    }
    if (max !== null) this.stream.confirm(max);
    if (this.queue.length === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}
