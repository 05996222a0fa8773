/**
 * Many WebSocket subscribers that behave like real clients when their node
 * goes away: each keeps its cursor, reconnects after a jittered backoff to the
 * next node of its list (a refused connection moves on to the next), and
 * subscribes again with its cursor. For the reconnect storms of
 * `npm run bench -- cluster`.
 *
 *   open ─► SUBSCRIBE { id, collection } ─► SNAPSHOT … done           (first time)
 *   close ─► wait 100 ms·2^attempt (≤ 1 s, full jitter) ─► next node ─► SUBSCRIBE { …, cursor } ─► SUBSCRIBED ─► CHANGES …
 *
 * A subscriber is live once its subscription is back (SUBSCRIBED after a
 * resume, or a complete snapshot). A RESYNC is counted, and answered the
 * plain way (subscribe again without a cursor).
 */
import WebSocket from 'ws';

export interface ResumingOptions {
  /** Nodes to connect to, e.g. http://127.0.0.1:4000; subscriber i starts on urls[i % n]. */
  urls: readonly string[];
  collection: string;
  /** Row column carrying the sequence number. */
  column: string;
  clientPrefix: string;
  tokens: readonly string[];
}

interface Sub {
  ws: WebSocket | null;
  node: number;
  cursor: string | null;
  value: number;
  live: boolean;
  attempt: number;
}

export class ResumingSubscribers {
  resyncs = 0;
  /** Resyncs by reason. */
  resyncReasons: Record<string, number> = {};
  snapshots = 0;
  resumes = 0;
  refused = 0;
  liveCount = 0;
  errors: Record<string, number> = {};
  /** performance.now() when a subscriber last became live. */
  lastLiveAt = 0;
  private readonly subs: Sub[] = [];
  private closing = false;

  constructor(private readonly options: ResumingOptions) {}

  /** Opens `count` subscribers and waits for every snapshot. */
  async open(count: number, timeoutMs: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const s: Sub = { ws: null, node: i % this.options.urls.length, cursor: null, value: -1, live: false, attempt: 0 };
      this.subs.push(s);
      this.connect(i, s);
    }
    const deadline = performance.now() + timeoutMs;
    while (this.liveCount < count) {
      if (performance.now() > deadline)
        throw new Error(`only ${this.liveCount} of ${count} subscribers live; errors ${JSON.stringify(this.errors)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** How many subscribers are connected to each node. */
  perNode(): number[] {
    const n = this.options.urls.map(() => 0);
    for (const s of this.subs) if (s.live) n[s.node] = (n[s.node] ?? 0) + 1;
    return n;
  }

  /** Subscribers whose latest value is `value`. */
  at(value: number): number {
    return this.subs.filter((s) => s.value === value).length;
  }

  close(): void {
    this.closing = true;
    for (const s of this.subs) s.ws?.terminate();
  }

  private connect(index: number, s: Sub): void {
    const { urls, tokens, clientPrefix, collection } = this.options;
    const base = (urls[s.node] as string).replace(/^http/, 'ws');
    const ws = new WebSocket(
      `${base}/v1/sync/ws?token=${encodeURIComponent(tokens[index] ?? '')}&clientId=${clientPrefix}-${index}`,
      { perMessageDeflate: false },
    );
    s.ws = ws;
    let opened = false;
    ws.on('open', () => {
      opened = true;
      const subscription = s.cursor ? { id: 'b', collection, cursor: s.cursor } : { id: 'b', collection };
      ws.send(JSON.stringify({ type: 'SUBSCRIBE', subscription }));
    });
    ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) this.handle(s, data.toString('utf8'));
    });
    ws.on('error', () => {
      if (!opened) this.refused++;
    });
    ws.on('close', () => {
      if (this.closing || s.ws !== ws) return;
      s.ws = null;
      if (s.live) this.liveCount--;
      s.live = false;
      s.attempt++;
      s.node = (s.node + 1) % urls.length;
      const delay = Math.random() * Math.min(1_000, 100 * 2 ** Math.min(s.attempt - 1, 4));
      setTimeout(() => this.connect(index, s), delay);
    });
  }

  private handle(s: Sub, text: string): void {
    const msg = JSON.parse(text) as {
      type: string;
      done?: boolean;
      cursor?: string;
      code?: string;
      reason?: string;
      changes?: Array<{ row: Record<string, unknown> | null }>;
      rows?: Array<{ row: Record<string, unknown> }>;
    };
    switch (msg.type) {
      case 'SUBSCRIBED':
        if (s.cursor) this.becameLive(s, true);
        break;
      case 'SNAPSHOT': {
        const v = msg.rows?.[0]?.row[this.options.column];
        if (v !== undefined) s.value = Number(v);
        if (msg.done) {
          s.cursor = msg.cursor ?? null;
          this.snapshots++;
          this.becameLive(s, false);
        }
        break;
      }
      case 'CHANGES': {
        s.cursor = msg.cursor ?? s.cursor;
        const v = msg.changes?.[0]?.row?.[this.options.column];
        if (v !== undefined && v !== null) s.value = Number(v);
        break;
      }
      case 'RESYNC':
        this.resyncs++;
        this.resyncReasons[msg.reason ?? '?'] = (this.resyncReasons[msg.reason ?? '?'] ?? 0) + 1;
        s.cursor = null;
        if (s.live) this.liveCount--;
        s.live = false;
        s.ws?.send(
          JSON.stringify({ type: 'SUBSCRIBE', subscription: { id: 'b', collection: this.options.collection } }),
        );
        break;
      case 'ERROR':
        this.errors[msg.code ?? '?'] = (this.errors[msg.code ?? '?'] ?? 0) + 1;
        break;
      default:
        break;
    }
  }

  private becameLive(s: Sub, resumed: boolean): void {
    if (s.live) return;
    s.live = true;
    this.liveCount++;
    s.attempt = 0;
    if (resumed) this.resumes++;
    this.lastLiveAt = performance.now();
  }
}
