import { Backoff, type BackoffOptions } from './backoff.ts';
import { ConnectionMachine, type ConnectionEvent, type ConnectionState } from './connection-state.ts';
import { HttpError } from './http-error.ts';
import { readSseStream, type SseRequest } from './sse-connection.ts';
import { readWsStream, type WebSocketConstructor } from './ws-stream.ts';
import { SseParser, type SseEvent } from './sse-parser.ts';
import type { FetchLike, Timers } from './timers.ts';

/**
 * Keeps one stream (SSE, or WebSocket when the request says so) alive: connect,
 * read, and on any failure back off and try again, until close() or a fatal error.
 *
 *   start ─▶ ┌─ connecting: request() → fetch → read ──(opened() on hello)──▶ open ─┐
 *            │      │ end / error / no hello within connectTimeoutMs              │ end / error / silence > liveness
 *            │      ▼                                                              ▼
 *            └── backoff: sleep(jittered delay) ◀──────────────────────────────────┘
 *
 * The protocol layer above decodes events; it tells us about `hello` through
 * opened(heartbeatMs) and about fatal errors through fail().
 */
export interface EventStreamOptions {
  fetch: FetchLike;
  timers: Timers;
  random: () => number;
  backoff: BackoffOptions;
  /** Deadline for `hello` after the request starts. */
  connectTimeoutMs: number;
  /** Builds each attempt's request; called per attempt so tokens and subscriptions are current. */
  request: (lastEventId: string | undefined) => Promise<SseRequest>;
  onEvent: (event: SseEvent) => void;
  onStateChange: (state: ConnectionState, previous: ConnectionState, reason: unknown) => void;
  onTimeout: () => void;
  /** For `ws` requests. */
  webSocket?: WebSocketConstructor;
  /** Receives the send function of an open WebSocket (undefined when it closes). */
  onSender?: (send: ((frame: object) => void) | undefined) => void;
}

/** Liveness allows 2.5 heartbeats of silence: one late ping is jitter, two missed ones is a dead link. */
export const LIVENESS_FACTOR = 2.5;

export class EventStream {
  private readonly machine = new ConnectionMachine();
  private readonly backoff: Backoff;
  private abort: AbortController | undefined;
  private watchdog: unknown;
  private livenessMs = 0;
  private wake: (() => void) | undefined;
  private running: Promise<void> | undefined;
  /** The last `id:` fully processed, sent as `Last-Event-ID` on the next attempt. */
  lastEventId: string | undefined;
  /** Set when the stream stopped for good because of an error (e.g. AUTH_FAILED). */
  fatalError: unknown;

  constructor(private readonly options: EventStreamOptions) {
    this.backoff = new Backoff(options.backoff, options.random);
  }

  get state(): ConnectionState {
    return this.machine.state;
  }

  start(): void {
    if (this.transition('start')) this.running = this.run();
  }

  /** The server said `hello`: the connection is usable, so forget past failures. */
  opened(heartbeatMs: number): void {
    if (!this.transition('hello')) return;
    this.backoff.reset();
    this.livenessMs = heartbeatMs > 0 ? heartbeatMs * LIVENESS_FACTOR : 0;
    this.armWatchdog(this.livenessMs);
  }

  /** The network is back: end the current backoff now instead of waiting it out. */
  nudge(): void {
    if (this.machine.state !== 'backoff') return;
    this.backoff.reset();
    this.wake?.();
  }

  /** Stops for good, keeping `error` as the reason. */
  fail(error: unknown): void {
    if (!this.machine.can('close')) return;
    this.fatalError = error;
    void this.close(error);
  }

  close(reason: unknown = undefined): Promise<void> {
    if (this.transition('close', reason)) {
      this.clearWatchdog();
      this.abort?.abort(new DOMException('closed', 'AbortError'));
      this.wake?.();
    }
    return this.running ?? Promise.resolve();
  }

  private async run(): Promise<void> {
    while (!this.isClosed()) {
      const reason = await this.attempt();
      if (!this.transition('drop', reason)) break;
      await this.sleep(this.backoff.next());
      if (!this.transition('retry')) break;
    }
  }

  /** One connection attempt; resolves with why it ended (it never rejects). */
  private async attempt(): Promise<unknown> {
    const abort = new AbortController();
    this.abort = abort;
    this.livenessMs = 0;
    this.armWatchdog(this.options.connectTimeoutMs);
    const parser = new SseParser(
      (event) => {
        // After fail()/close() inside a handler, the rest of the chunk is moot.
        if (abort.signal.aborted) return;
        this.options.onEvent(event);
        this.lastEventId = event.id;
      },
      { lastEventId: this.lastEventId },
    );
    try {
      const request = await this.options.request(this.lastEventId);
      if (abort.signal.aborted) return abort.signal.reason;
      if (request.transport === 'ws' && this.options.webSocket) {
        await readWsStream({
          WebSocket: this.options.webSocket,
          url: request.url,
          signal: abort.signal,
          timers: this.options.timers,
          onEvent: (event) => {
            if (abort.signal.aborted) return;
            this.options.onEvent(event);
            if (event.id !== undefined) this.lastEventId = event.id;
          },
          onActivity: () => this.activity(),
          onSender: (send) => this.options.onSender?.(send),
        });
      } else {
        await readSseStream(this.options.fetch, request, abort.signal, parser, () => this.activity());
      }
      return abort.signal.aborted ? abort.signal.reason : new Error('stream ended');
    } catch (error) {
      if (error instanceof HttpError && error.isAuthFailure) this.fail(error);
      return abort.signal.aborted ? abort.signal.reason : error;
    } finally {
      this.clearWatchdog();
      abort.abort(); // releases anything still attached to this attempt
    }
  }

  private activity(): void {
    // Before `hello` the connect deadline stands; afterwards any byte proves liveness.
    if (this.machine.state === 'open' && this.livenessMs > 0) this.armWatchdog(this.livenessMs);
  }

  private armWatchdog(ms: number): void {
    this.clearWatchdog();
    if (ms <= 0) return;
    const abort = this.abort;
    this.watchdog = this.options.timers.setTimeout(() => {
      this.watchdog = undefined;
      this.options.onTimeout();
      abort?.abort(new DOMException(`no data for ${ms} ms`, 'TimeoutError'));
    }, ms);
  }

  private clearWatchdog(): void {
    if (this.watchdog === undefined) return;
    this.options.timers.clearTimeout(this.watchdog);
    this.watchdog = undefined;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const handle = this.options.timers.setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        this.options.timers.clearTimeout(handle);
        this.wake = undefined;
        resolve();
      };
    });
  }

  // A method, not `this.state === 'closed'`: TS would keep the narrowing across awaits.
  private isClosed(): boolean {
    return this.machine.state === 'closed';
  }

  private transition(event: ConnectionEvent, reason: unknown = undefined): boolean {
    const previous = this.machine.state;
    if (!this.machine.send(event)) return false;
    this.options.onStateChange(this.machine.state, previous, reason);
    return true;
  }
}
