/**
 * What the latency phases need of a set of subscribers, whatever the transport
 * (sse-subscribers.ts, ws-subscribers.ts): open N streams on one collection and
 * wait for every snapshot, then report the sequence number of every change with
 * the time its bytes arrived.
 */
export type Transport = 'sse' | 'ws';

export interface SubscriberOptions {
  /** e.g. http://127.0.0.1:4000 (the WebSocket URL is derived from it). */
  baseUrl: string;
  collection: string;
  /** Row column carrying the sequence number. */
  column: string;
  /** Prefix of the clientId of each stream (`<prefix>-<i>`). */
  clientPrefix: string;
  /** Bearer token of subscriber i (one user each). */
  tokens: readonly string[];
  /** Called for every change carrying a sequence number, with `performance.now()` at the bytes' arrival. */
  onChange(subscriber: number, seq: number, at: number): void;
}

export interface SubscriberCounters {
  /** `error` messages received (the first kept in `firstError`). */
  errors: number;
  resyncs: number;
  /** Streams that ended while we still wanted them. */
  disconnects: number;
  firstError: string | null;
  /** Messages received, by name (diagnostics when something stalls). */
  events: Record<string, number>;
}

export interface Subscribers {
  readonly counters: SubscriberCounters;
  /**
   * Subscriber 0's latest `changes` message exactly as it arrived: the SSE event
   * block (with its blank line) or the WebSocket frame. The broadcast floor sends
   * frames of this size.
   */
  readonly lastChangesFrame: string | null;
  /** Opens `count` streams; resolves once every one has its complete snapshot (`done: true`). */
  open(count: number, timeoutMs: number, signal: AbortSignal): Promise<void>;
  close(): void;
}

export function newCounters(): SubscriberCounters {
  return { errors: 0, resyncs: 0, disconnects: 0, firstError: null, events: {} };
}

export interface Readiness {
  promise: Promise<void>;
  /** Subscriber `index` has its complete snapshot. */
  onReady(index: number): void;
  fail(err: Error): void;
}

/** Resolves once `count` distinct subscribers are ready; rejects on the first failure, timeout or abort. */
export function readiness(
  count: number,
  timeoutMs: number,
  signal: AbortSignal,
  counters: SubscriberCounters,
): Readiness {
  const seen = new Uint8Array(count);
  let ready = 0;
  let settled = false;
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const finish = () => {
    settled = true;
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  };
  const fail = (err: Error) => {
    if (settled) return;
    finish();
    reject(err);
  };
  const onAbort = () => fail(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
  const timer = setTimeout(
    () =>
      fail(
        new Error(
          `only ${ready} of ${count} subscribers had their snapshot after ${timeoutMs} ms; ` +
            `messages so far ${JSON.stringify(counters.events)}${counters.firstError ? `, first error ${counters.firstError}` : ''}`,
        ),
      ),
    timeoutMs,
  );
  signal.addEventListener('abort', onAbort);
  const onReady = (index: number) => {
    if (settled || seen[index]) return;
    seen[index] = 1;
    if (++ready === count) {
      finish();
      resolve();
    }
  };
  if (count === 0) {
    finish();
    resolve();
  }
  return { promise, onReady, fail };
}
