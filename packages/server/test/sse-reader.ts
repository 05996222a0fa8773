/**
 * A raw SSE reader for server tests: records every event exactly as sent, so
 * tests can assert on the wire (one `changes` per transaction, ids, errors).
 */
import { RecordedEvents, type RawEvent } from './recorded-events.ts';
import { testToken } from './test-token.ts';

export type { RawEvent } from './recorded-events.ts';

export class SseReader extends RecordedEvents {
  status = 0;
  private readonly abort = new AbortController();
  done: Promise<void>;

  constructor(url: string, headers: Record<string, string> = {}) {
    super();
    this.done = this.run(url, headers);
  }

  private async run(url: string, headers: Record<string, string>): Promise<void> {
    try {
      const res = await fetch(url, { headers, signal: this.abort.signal });
      this.status = res.status;
      if (!res.ok || !res.body) {
        this.record({ event: 'error', data: await res.json().catch(() => null) });
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
            if (k === 'event') ev.event = v;
            else if (k === 'id') ev.id = v;
            else if (k === 'data') ev.data = JSON.parse(v);
          }
          this.record(ev as RawEvent);
        }
      }
    } catch {
      // aborted or connection dropped
    } finally {
      this.finish();
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
