/**
 * Many SSE subscribers in one process, without the client library: raw
 * `node:http` streams on one keep-alive agent and a minimal SSE parser, so the
 * cost on this side stays small next to what is measured.
 *
 * Each stream subscribes to one collection; for every `changes` event it reports
 * `changes[0].row[column]` (the sequence number) and the time the bytes arrived.
 */
import http from 'node:http';

export interface SubscriberOptions {
  /** e.g. http://127.0.0.1:4000 */
  baseUrl: string;
  collection: string;
  /** Row column carrying the sequence number. */
  column: string;
  /** Prefix of the clientId of each stream (`<prefix>-<i>`). */
  clientPrefix: string;
  /** Called for every change carrying a sequence number, with `performance.now()` at the chunk's arrival. */
  onChange(subscriber: number, seq: number, at: number): void;
}

export interface SubscriberCounters {
  /** `error` events received (message of the first kept in `firstError`). */
  errors: number;
  resyncs: number;
  /** Streams that ended while we still wanted them. */
  disconnects: number;
  firstError: string | null;
  /** Events received, by name (diagnostics when something stalls). */
  events: Record<string, number>;
}

interface SseEvent {
  event: string;
  data: string;
}

export class SseSubscribers {
  readonly counters: SubscriberCounters = { errors: 0, resyncs: 0, disconnects: 0, firstError: null, events: {} };
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  private readonly requests: http.ClientRequest[] = [];
  private closing = false;

  constructor(private readonly options: SubscriberOptions) {}

  get size(): number {
    return this.requests.length;
  }

  /** Opens `count` streams; resolves once every one has its complete snapshot (`done: true`). */
  open(count: number, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const { baseUrl, collection, clientPrefix } = this.options;
    const subscribe = encodeURIComponent(JSON.stringify({ id: 'b', collection }));
    return new Promise<void>((resolve, reject) => {
      let ready = 0;
      const timer = setTimeout(
        () =>
          fail(
            new Error(
              `only ${ready} of ${count} subscribers had their snapshot after ${timeoutMs} ms; ` +
                `events so far ${JSON.stringify(this.counters.events)}${this.counters.firstError ? `, first error ${this.counters.firstError}` : ''}`,
            ),
          ),
        timeoutMs,
      );
      const onAbort = () => fail(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      const fail = (err: Error) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        reject(err);
      };
      const onReady = () => {
        if (++ready === count) {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          resolve();
        }
      };
      signal.addEventListener('abort', onAbort);
      for (let i = 0; i < count; i++) {
        const url = `${baseUrl}/v1/sync/events?clientId=${clientPrefix}-${i}&subscribe=${subscribe}`;
        this.requests.push(this.stream(i, url, onReady, fail));
      }
    });
  }

  close(): void {
    this.closing = true;
    for (const req of this.requests) req.destroy();
    this.requests.length = 0;
    this.agent.destroy();
  }

  private stream(index: number, url: string, onReady: () => void, fail: (err: Error) => void): http.ClientRequest {
    const req = http.get(url, { agent: this.agent }, (res) => {
      if (res.statusCode !== 200) {
        fail(new Error(`subscriber ${index}: HTTP ${res.statusCode}`));
        res.resume();
        return;
      }
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk: string) => {
        const at = performance.now();
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const event = parseEvent(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          this.handle(index, event, at, onReady);
        }
      });
      res.on('close', () => {
        if (!this.closing) this.counters.disconnects++;
      });
    });
    req.on('error', (err) => {
      if (!this.closing) fail(new Error(`subscriber ${index}: ${err.message}`));
    });
    return req;
  }

  private handle(index: number, e: SseEvent, at: number, onReady: () => void): void {
    this.counters.events[e.event] = (this.counters.events[e.event] ?? 0) + 1;
    switch (e.event) {
      case 'changes': {
        const msg = JSON.parse(e.data) as { changes: Array<{ row: Record<string, unknown> | null }> };
        const value = msg.changes[0]?.row?.[this.options.column];
        if (value !== undefined && value !== null) this.options.onChange(index, Number(value), at);
        break;
      }
      case 'snapshot':
        if ((JSON.parse(e.data) as { done: boolean }).done) onReady();
        break;
      case 'error':
        this.counters.errors++;
        this.counters.firstError ??= e.data;
        break;
      case 'resync':
        this.counters.resyncs++;
        break;
      default:
        break; // hello, ping
    }
  }
}

/** One SSE event block: `event:` and `data:` lines (one data line is all the server sends). */
export function parseEvent(block: string): SseEvent {
  let event = 'message';
  let data = '';
  for (const line of block.split('\n')) {
    if (line.startsWith('event: ')) event = line.slice(7);
    else if (line.startsWith('data: ')) data = data ? `${data}\n${line.slice(6)}` : line.slice(6);
  }
  return { event, data };
}
