import type { FetchLike } from '../connection/timers.ts';

export interface RecordedRequest {
  method: string;
  url: URL;
  headers: Headers;
  body: unknown;
}

/** One GET's response body; tests push SSE text into it. */
export class FakeStream {
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private readonly encoder = new TextEncoder();
  closed = false;
  readonly body: ReadableStream<Uint8Array>;

  constructor(
    readonly request: RecordedRequest,
    signal: AbortSignal,
  ) {
    this.body = new ReadableStream({ start: (c) => void (this.controller = c) });
    signal.addEventListener('abort', () => this.fail(signal.reason), { once: true });
  }

  get aborted(): boolean {
    return this.closed;
  }

  push(text: string | Uint8Array): void {
    if (!this.closed) this.controller.enqueue(typeof text === 'string' ? this.encoder.encode(text) : text);
  }

  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.controller.close();
  }

  fail(reason: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.controller.error(reason);
  }
}

type Responder = (request: RecordedRequest) => Response | Promise<Response>;

/** An in-memory stand-in for the server's HTTP surface, injected as `fetch`. */
export class FakeServer {
  readonly requests: RecordedRequest[] = [];
  readonly streams: FakeStream[] = [];
  /** Overrides for the next GETs (e.g. a 401 or a network error), consumed in order. */
  readonly nextGets: Responder[] = [];
  post: Responder = () => Response.json({ ok: true });
  /** What `GET /v1/health` answers (the client probes it after a WebSocket that never opened). */
  health: Responder = () => Response.json({ status: 'ok' });

  readonly fetch: FetchLike = async (url, init) => {
    init.signal?.throwIfAborted();
    const request: RecordedRequest = {
      method: init.method ?? 'GET',
      url: new URL(url),
      headers: new Headers(init.headers),
      body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
    };
    this.requests.push(request);
    if (request.method !== 'GET') return this.post(request);
    if (request.url.pathname.endsWith('/v1/health')) return this.health(request);
    const override = this.nextGets.shift();
    if (override) return override(request);
    const stream = new FakeStream(request, init.signal ?? new AbortController().signal);
    this.streams.push(stream);
    return new Response(stream.body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
  };

  get gets(): RecordedRequest[] {
    return this.requests.filter((r) => r.method === 'GET');
  }

  posts(path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.method === 'POST' && r.url.pathname === path);
  }

  get stream(): FakeStream {
    const last = this.streams.at(-1);
    if (!last) throw new Error('no stream opened yet');
    return last;
  }
}

/** One SSE event block. */
export function sse(event: string, data: unknown, id?: string): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Lets fetch, stream reads and promise chains run (real macrotask; the client's own timers are fake). */
export async function flush(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

/** Fixed-width cursors, as the server guarantees, so string order is commit order. */
export const cur = (n: number): string => `0/${n.toString(16).padStart(8, '0')}`;
