/**
 * One WebSocket connection, read as a stream of the same events the SSE
 * parser produces, so everything above the wire is shared.
 *
 *   new WebSocket(url?token&clientId) ─► frames {"type":"CHANGES",…} ─► onEvent({ type: 'changes', data, id })
 *                                    ◄─ send(frame): SUBSCRIBE / UNSUBSCRIBE / PING / TOKEN_REFRESH
 *
 * Browsers answer the server's protocol pings without telling JavaScript, so
 * liveness on our side comes from app-level PING/PONG: every `pingMs` we send
 * PING and the PONG (like any frame) counts as activity.
 */
import type { SseEvent } from './sse-parser.ts';
import type { Timers } from './timers.ts';

/** The part of the WebSocket API we use (the browser's, or `ws` in Node). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

const OPEN = 1;

export interface WsStreamOptions {
  WebSocket: WebSocketConstructor;
  url: string;
  signal: AbortSignal;
  timers: Timers;
  onEvent: (event: SseEvent) => void;
  onActivity: () => void;
  /**
   * Gives the caller a way to send frames once the server has sent its first
   * frame (HELLO, or an ERROR), undefined once closed. Not at `open`: a proxy
   * can accept the upgrade and pass nothing, and the caller counts only a
   * socket the server spoke on as WebSocket getting through (transport-choice.ts).
   */
  onSender: (send: ((frame: object) => void) | undefined) => void;
}

/** Resolves when the socket closes cleanly after opening; rejects if it never opened. */
export function readWsStream(o: WsStreamOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new o.WebSocket(o.url);
    let opened = false;
    let heard = false;
    let pinger: unknown;
    const send = (frame: object) => {
      if (ws.readyState === OPEN) ws.send(JSON.stringify(frame));
    };
    const stopPinging = () => {
      if (pinger !== undefined) o.timers.clearTimeout(pinger);
      pinger = undefined;
    };
    const finish = (err?: unknown) => {
      stopPinging();
      o.onSender(undefined);
      o.signal.removeEventListener('abort', onAbort);
      if (err !== undefined) reject(err);
      else resolve();
    };
    const onAbort = () => {
      ws.close(1000);
      finish(o.signal.reason);
    };
    o.signal.addEventListener('abort', onAbort, { once: true });
    ws.onopen = () => {
      opened = true;
    };
    ws.onmessage = (ev) => {
      if (!heard) {
        heard = true;
        o.onSender(send); // before the frame is handled: HELLO's handler sends SUBSCRIBE frames
      }
      o.onActivity();
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(String(ev.data)) as Record<string, unknown>;
      } catch {
        return;
      }
      const { type, ...rest } = msg;
      if (typeof type !== 'string') return;
      const event = type.toLowerCase();
      if (event === 'hello' && typeof rest['heartbeatMs'] === 'number') schedulePing(rest['heartbeatMs']);
      const id =
        (event === 'changes' || event === 'ack') && typeof rest['cursor'] === 'string' ? rest['cursor'] : undefined;
      // Parsed once: the message travels on as the object (`data` is for SSE's text).
      o.onEvent({ type: event, data: '', message: rest, id });
    };
    ws.onerror = () => {
      // The close event follows with the details; nothing to do here.
    };
    ws.onclose = (ev) => {
      if (o.signal.aborted) return;
      finish(opened ? undefined : new Error(`WebSocket closed before opening (${ev.code})`));
    };

    function schedulePing(heartbeatMs: number): void {
      stopPinging();
      const tick = () => {
        send({ type: 'PING' });
        pinger = o.timers.setTimeout(tick, heartbeatMs);
      };
      pinger = o.timers.setTimeout(tick, heartbeatMs);
    }
  });
}

/** `GET /v1/sync/ws` as a ws:// or wss:// URL (browsers cannot set headers on a WebSocket: token in the query). */
export function wsUrl(baseUrl: string, clientId: string, token: string | undefined): string {
  const u = new URL('/v1/sync/ws', baseUrl.replace(/^http/, 'ws'));
  u.searchParams.set('clientId', clientId);
  if (token !== undefined) u.searchParams.set('token', token);
  return u.toString();
}
