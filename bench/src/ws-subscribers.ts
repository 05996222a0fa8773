/**
 * Many WebSocket subscribers in one process: plain `ws` clients, one JSON text
 * frame per message, parsed just enough to find the sequence number. The same
 * work per message as the SSE subscribers, so the two transports compare.
 *
 *   open ─► SUBSCRIBE { id: "b", collection } ─► HELLO, SUBSCRIBED, SNAPSHOT … done ─► CHANGES …
 */
import WebSocket from 'ws';
import { type Subscribers, type SubscriberOptions, type Readiness, newCounters, readiness } from './subscribers.ts';

interface WsMessage {
  type: string;
  done?: boolean;
  changes?: Array<{ row: Record<string, unknown> | null }>;
}

export class WsSubscribers implements Subscribers {
  readonly counters = newCounters();
  lastChangesFrame: string | null = null;
  private readonly sockets: WebSocket[] = [];
  private closing = false;

  constructor(private readonly options: SubscriberOptions) {}

  open(count: number, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const { baseUrl, clientPrefix, tokens } = this.options;
    const wsBase = baseUrl.replace(/^http/, 'ws');
    const r = readiness(count, timeoutMs, signal, this.counters);
    for (let i = 0; i < count; i++) {
      const url = `${wsBase}/v1/sync/ws?token=${encodeURIComponent(tokens[i] ?? '')}&clientId=${clientPrefix}-${i}`;
      this.sockets.push(this.socket(i, url, r));
    }
    return r.promise;
  }

  close(): void {
    this.closing = true;
    for (const ws of this.sockets) ws.terminate();
    this.sockets.length = 0;
  }

  private socket(index: number, url: string, r: Readiness): WebSocket {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const subscribe = JSON.stringify({
      type: 'SUBSCRIBE',
      subscription: { id: 'b', collection: this.options.collection },
    });
    ws.on('open', () => ws.send(subscribe));
    ws.on('message', (data: Buffer, isBinary) => {
      const at = performance.now();
      if (!isBinary) this.handle(index, data.toString('utf8'), at, r);
    });
    ws.on('close', () => {
      if (!this.closing) this.counters.disconnects++;
    });
    ws.on('error', (err) => {
      if (!this.closing) r.fail(new Error(`subscriber ${index}: ${err.message}`));
    });
    return ws;
  }

  private handle(index: number, text: string, at: number, r: Readiness): void {
    const msg = JSON.parse(text) as WsMessage;
    this.counters.events[msg.type] = (this.counters.events[msg.type] ?? 0) + 1;
    switch (msg.type) {
      case 'CHANGES': {
        const value = msg.changes?.[0]?.row?.[this.options.column];
        if (index === 0) this.lastChangesFrame = text;
        if (value !== undefined && value !== null) this.options.onChange(index, Number(value), at);
        break;
      }
      case 'SNAPSHOT':
        if (msg.done) r.onReady(index);
        break;
      case 'ERROR':
        this.counters.errors++;
        this.counters.firstError ??= text;
        break;
      case 'RESYNC':
        this.counters.resyncs++;
        break;
      default:
        break; // HELLO, SUBSCRIBED, PONG
    }
  }
}
