/** What both test readers share: the events received, and waiting for a condition over them. */

export interface RawEvent {
  /** SSE event name, or the lower-cased WebSocket `type`. */
  event: string;
  id?: string;
  data: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export abstract class RecordedEvents {
  readonly events: RawEvent[] = [];
  ended = false;
  private waiters: Array<() => void> = [];

  protected record(e: RawEvent): void {
    this.events.push(e);
    this.notify();
  }

  protected finish(): void {
    this.ended = true;
    this.notify();
  }

  of(event: string): RawEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  /** Waits until `pred` holds over the events so far; fails after `ms`, or if the stream ends first. */
  async until(pred: (r: this) => boolean, ms = 10_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred(this)) {
      if (this.ended)
        throw new Error(`stream ended before ${what}; events: ${JSON.stringify(this.events).slice(-2000)}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(this.events).slice(-2000)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
