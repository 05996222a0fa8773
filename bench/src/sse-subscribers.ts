/**
 * Many SSE subscribers in one process, without the client library: raw
 * `node:http` streams on one keep-alive agent and a minimal SSE parser, so the
 * cost on this side stays small next to what is measured.
 *
 * Each stream subscribes to one collection; for every `changes` event it reports
 * `changes[0].row[column]` (the sequence number) and the time the bytes arrived.
 */
import http from 'node:http';
import { type Subscribers, type SubscriberOptions, type Readiness, newCounters, readiness } from './subscribers.ts';

interface SseEvent {
  event: string;
  data: string;
}

export class SseSubscribers implements Subscribers {
  readonly counters = newCounters();
  lastChangesFrame: string | null = null;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  private readonly requests: http.ClientRequest[] = [];
  private closing = false;

  constructor(private readonly options: SubscriberOptions) {}

  open(count: number, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const { baseUrl, collection, clientPrefix, tokens } = this.options;
    const subscribe = encodeURIComponent(JSON.stringify({ id: 'b', collection }));
    const r = readiness(count, timeoutMs, signal, this.counters);
    for (let i = 0; i < count; i++) {
      const url = `${baseUrl}/v1/sync/events?clientId=${clientPrefix}-${i}&subscribe=${subscribe}`;
      this.requests.push(this.stream(i, url, tokens[i] ?? '', r));
    }
    return r.promise;
  }

  close(): void {
    this.closing = true;
    for (const req of this.requests) req.destroy();
    this.requests.length = 0;
    this.agent.destroy();
  }

  private stream(index: number, url: string, token: string, r: Readiness): http.ClientRequest {
    const headers = { authorization: `Bearer ${token}` };
    const req = http.get(url, { agent: this.agent, headers }, (res) => {
      if (res.statusCode !== 200) {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => r.fail(new Error(`subscriber ${index}: HTTP ${res.statusCode} ${body.slice(0, 300)}`)));
        return;
      }
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk: string) => {
        const at = performance.now();
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          this.handle(index, block, at, r);
        }
      });
      res.on('close', () => {
        if (!this.closing) this.counters.disconnects++;
      });
    });
    req.on('error', (err) => {
      if (!this.closing) r.fail(new Error(`subscriber ${index}: ${err.message}`));
    });
    return req;
  }

  private handle(index: number, block: string, at: number, r: Readiness): void {
    const e = parseEvent(block);
    this.counters.events[e.event] = (this.counters.events[e.event] ?? 0) + 1;
    switch (e.event) {
      case 'changes': {
        const msg = JSON.parse(e.data) as { changes: Array<{ row: Record<string, unknown> | null }> };
        const value = msg.changes[0]?.row?.[this.options.column];
        if (index === 0) this.lastChangesFrame = `${block}\n\n`;
        if (value !== undefined && value !== null) this.options.onChange(index, Number(value), at);
        break;
      }
      case 'snapshot':
        if ((JSON.parse(e.data) as { done: boolean }).done) r.onReady(index);
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
