/**
 * Which transport the next connection attempt uses. WebSocket is preferred (a
 * token refreshes in place, subscriptions are frames, not POSTs); SSE only on
 * evidence that WebSocket is blocked on the way to a server that is up — and
 * even then WebSocket is tried again later.
 *
 *        a WS attempt the server never spoke on (refused, hung, or opened by a proxy
 *        that passes nothing) AND, right after, an HTTP probe of the same server
 *        that our server answered: a strike (2 in a row ─▶ sse)
 *   ws ───────────────────────────────────────────────────────────────────────▶ sse
 *    ▲   a frame from the server clears the strikes; a probe that fails too       │
 *    │   (the server is down or unreachable) counts nothing                       │
 *    └───── first attempt after `retryAt`: one WebSocket try (one strike sends ───┘
 *           it back, with the wait doubled; a frame from the server: stays, wait reset)
 *
 * A server that is down refuses the WebSocket and the probe alike, so a restart
 * never moves a client off WebSocket. The probe runs the moment the WebSocket
 * attempt ends (not at the next attempt, after the backoff), so the two see the
 * same server; two strikes in a row make a server that came up in between moot.
 */

export type Transport = 'ws' | 'sse';

export interface TransportChoiceOptions {
  /** Clock for the retry time (tests); default `Date.now`. */
  now?: () => number;
  /** Strikes in a row before falling back to SSE. Default 2. */
  strikes?: number;
  /** Wait before the first WebSocket try after falling back. Default 2 minutes. */
  retryMs?: number;
  /** The wait doubles each time the try fails, up to this. Default 30 minutes. */
  maxRetryMs?: number;
}

export const DEFAULT_TRANSPORT_CHOICE = { strikes: 2, retryMs: 2 * 60_000, maxRetryMs: 30 * 60_000 } as const;

export class TransportChoice {
  private mode: Transport = 'ws';
  private strikes = 0;
  private retryAt = 0;
  private readonly now: () => number;
  private readonly maxStrikes: number;
  private readonly baseRetryMs: number;
  private readonly maxRetryMs: number;
  private retryMs: number;

  constructor(options: TransportChoiceOptions = {}) {
    this.now = options.now ?? (() => Date.now());
    this.maxStrikes = options.strikes ?? DEFAULT_TRANSPORT_CHOICE.strikes;
    this.baseRetryMs = options.retryMs ?? DEFAULT_TRANSPORT_CHOICE.retryMs;
    this.maxRetryMs = options.maxRetryMs ?? DEFAULT_TRANSPORT_CHOICE.maxRetryMs;
    this.retryMs = this.baseRetryMs;
  }

  /** The transport in use (or of the last attempt). */
  get current(): Transport {
    return this.mode;
  }

  /** When the next WebSocket try is due, while on SSE. */
  get wsRetryAt(): number | undefined {
    return this.mode === 'sse' ? this.retryAt : undefined;
  }

  /** Called per attempt: the transport it should use. */
  next(): Transport {
    if (this.mode === 'sse' && this.now() >= this.retryAt) {
      this.mode = 'ws';
      this.strikes = this.maxStrikes - 1; // a try: one more piece of evidence goes back to SSE
    }
    return this.mode;
  }

  /** The server's first frame arrived on a WebSocket (HELLO, or an ERROR such as AUTH_FAILED): it gets through. */
  wsHeard(): void {
    this.strikes = 0;
    this.retryMs = this.baseRetryMs;
  }

  /**
   * A WebSocket attempt ended without a frame from the server. `serverAnswered`:
   * an HTTP request to the same server, made right after, got our server's answer.
   */
  wsFailed(serverAnswered: boolean): void {
    if (this.mode !== 'ws' || !serverAnswered) return;
    if (++this.strikes < this.maxStrikes) return;
    this.mode = 'sse';
    this.strikes = 0;
    this.retryAt = this.now() + this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, this.maxRetryMs);
  }
}
