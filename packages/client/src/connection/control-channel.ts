import type { Subscription } from '@syncline/protocol';
import { HttpError } from './http-error.ts';
import { endpoint } from './requests.ts';
import type { FetchLike } from './timers.ts';

export type ControlResult = { ok: true } | { ok: false; error: unknown };

export interface ControlChannelOptions {
  fetch: FetchLike;
  baseUrl: string;
  /** Resolved per request so a token function can refresh. */
  headers: () => Promise<Record<string, string>>;
}

/**
 * `POST /v1/sync/subscribe` and `/unsubscribe` for an open SSE connection.
 *
 * Requests go out one at a time, in call order: a subscribe overtaken by its
 * own unsubscribe would leave an orphan subscription on the server. All of
 * them belong to one connection; reset() aborts them when it goes away (the
 * next connection's GET carries the current subscription set anyway).
 */
export class ControlChannel {
  private queue: Promise<unknown> = Promise.resolve();
  private abort = new AbortController();

  constructor(private readonly options: ControlChannelOptions) {}

  subscribe(connectionId: string, subscription: Subscription): Promise<ControlResult> {
    return this.enqueue('/v1/sync/subscribe', { connectionId, subscription });
  }

  unsubscribe(connectionId: string, id: string): Promise<ControlResult> {
    return this.enqueue('/v1/sync/unsubscribe', { connectionId, id });
  }

  /** Presence on the SSE stream: `/v1/presence`, `/v1/presence/leave`, `/v1/presence/broadcast`. */
  presence(connectionId: string, path: string, body: Record<string, unknown>): Promise<ControlResult> {
    return this.enqueue(path, { connectionId, ...body });
  }

  reset(): void {
    this.abort.abort(new DOMException('connection closed', 'AbortError'));
    this.abort = new AbortController();
  }

  private enqueue(path: string, body: unknown): Promise<ControlResult> {
    const signal = this.abort.signal;
    const result = this.queue.then(() => this.post(path, body, signal));
    this.queue = result;
    return result;
  }

  /** Never rejects: callers branch on the result instead. */
  private async post(path: string, body: unknown, signal: AbortSignal): Promise<ControlResult> {
    try {
      signal.throwIfAborted();
      const headers = await this.options.headers();
      const response = await this.options.fetch(endpoint(this.options.baseUrl, path), {
        method: 'POST',
        headers: { ...headers, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
        signal,
      });
      if (!response.ok) return { ok: false, error: await HttpError.fromResponse(response) };
      // Drain the tiny `{ ok: true }` body so the HTTP connection can be reused.
      await response.body?.cancel().catch(() => undefined);
      return { ok: true };
    } catch (error) {
      return { ok: false, error };
    }
  }
}
