import { HttpError } from './http-error.ts';
import type { SseParser } from './sse-parser.ts';
import type { FetchLike } from './timers.ts';

export interface SseRequest {
  url: string;
  headers: Record<string, string>;
  /** `ws`: open a WebSocket to `url` instead (headers unused: browsers cannot set them). */
  transport?: 'sse' | 'ws';
}

/**
 * Opens one SSE stream with `fetch` and pumps it into `parser` until the
 * server ends it. We use fetch rather than EventSource because EventSource can
 * neither send `Authorization` nor let us choose `Last-Event-ID`, and Node 20
 * has no EventSource at all.
 *
 * Resolves when the server closes the stream cleanly; rejects on network
 * failure, a non-2xx status (HttpError) or abort. `onActivity` fires for every
 * chunk, comments included, which is what liveness needs.
 */
export async function readSseStream(
  fetchFn: FetchLike,
  request: SseRequest,
  signal: AbortSignal,
  parser: SseParser,
  onActivity: () => void,
): Promise<void> {
  const response = await fetchFn(request.url, {
    method: 'GET',
    headers: { Accept: 'text/event-stream', ...request.headers },
    signal,
  });
  if (!response.ok) throw await HttpError.fromResponse(response);
  const contentType = response.headers.get('content-type');
  if (contentType !== null && !contentType.includes('text/event-stream')) {
    // E.g. a captive portal answering 200 with HTML: retrying later is the only sane move.
    await response.body?.cancel().catch(() => undefined);
    throw new Error(`expected text/event-stream, got ${contentType}`);
  }
  if (!response.body) throw new Error('SSE response has no body');

  const reader = response.body.getReader();
  // Not every fetch implementation propagates abort into an already-returned
  // body; cancelling the reader ourselves guarantees the pending read settles.
  const cancel = () => void reader.cancel(signal.reason).catch(() => undefined);
  signal.addEventListener('abort', cancel, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || signal.aborted) return;
      onActivity();
      parser.feed(value);
    }
  } finally {
    signal.removeEventListener('abort', cancel);
  }
}
