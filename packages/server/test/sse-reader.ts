/**
 * A raw SSE reader for server tests: records every event exactly as sent, so
 * tests can assert on the wire (one `changes` per transaction, ids, errors).
 */
import type { SseEventName } from '@syncline/protocol';
import { testToken } from './test-token.ts';

export interface RawEvent {
  event: SseEventName;
  id?: string;
  data: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export class SseReader {
  readonly events: RawEvent[] = [];
  status = 0;
  private readonly abort = new AbortController();
  private waiters: Array<() => void> = [];
  ended = false;
  done: Promise<void>;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.done = this.run(url, headers);
  }

  private async run(url: string, headers: Record<string, string>): Promise<void> {
    try {
      const res = await fetch(url, { headers, signal: this.abort.signal });
      this.status = res.status;
      if (!res.ok || !res.body) {
        this.events.push({ event: 'error', data: await res.json().catch(() => null) });
        return;
      }
      const decoder = new TextDecoder();
      let buf = '';
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev: Partial<RawEvent> = {};
          for (const line of block.split('\n')) {
            const c = line.indexOf(':');
            const k = line.slice(0, c);
            const v = line.slice(c + 2);
            if (k === 'event') ev.event = v as SseEventName;
            else if (k === 'id') ev.id = v;
            else if (k === 'data') ev.data = JSON.parse(v);
          }
          this.events.push(ev as RawEvent);
          this.notify();
        }
      }
    } catch {
      // aborted or connection dropped
    } finally {
      this.ended = true;
      this.notify();
    }
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  of(event: string): RawEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  /** Waits until `pred` holds over the events so far; fails after `ms`. */
  async until(pred: (r: SseReader) => boolean, ms = 10_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred(this)) {
      if (this.ended)
        throw new Error(`stream ended before ${what}; events: ${JSON.stringify(this.events).slice(0, 2000)}`);
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

  close(): void {
    this.abort.abort();
  }
}

/** SSE URL with a token for `extra.token`, or else for user `test-user`. */
export function eventsUrl(base: string, clientId: string, subs: object[], extra: Record<string, string> = {}): string {
  const u = new URL('/v1/sync/events', base);
  u.searchParams.set('clientId', clientId);
  u.searchParams.set('token', testToken('test-user'));
  for (const s of subs) u.searchParams.append('subscribe', JSON.stringify(s));
  for (const [k, v] of Object.entries(extra)) u.searchParams.set(k, v);
  return u.toString();
}
