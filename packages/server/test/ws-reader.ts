/**
 * A raw WebSocket reader for server tests, recording frames in the same shape
 * as SseReader (`{ event, id?, data }`, event = lower-case type), so one suite
 * can run over both transports. Subscriptions go out as SUBSCRIBE after HELLO.
 */
import WebSocket from 'ws';
import type { RawEvent } from './sse-reader.ts';
import { testToken } from './test-token.ts';

export class WsReader {
  readonly events: RawEvent[] = [];
  ended = false;
  closeCode: number | null = null;
  readonly ws: WebSocket;
  private waiters: Array<() => void> = [];

  constructor(url: string, subs: object[] = [], options: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, options);
    this.ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { type: string } & Record<string, unknown>;
      const { type, ...rest } = msg;
      const event = type.toLowerCase();
      this.events.push({
        event: event as RawEvent['event'],
        data: rest,
        ...(typeof rest['cursor'] === 'string' && (event === 'changes' || event === 'ack')
          ? { id: rest['cursor'] }
          : {}),
      });
      if (type === 'HELLO') for (const s of subs) this.send({ type: 'SUBSCRIBE', subscription: s });
      this.notify();
    });
    this.ws.on('close', (code) => {
      this.closeCode = code;
      this.ended = true;
      this.notify();
    });
    this.ws.on('error', () => {});
  }

  send(frame: object | string | Buffer): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame));
  }

  of(event: string): RawEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  async until(pred: (r: WsReader) => boolean, ms = 10_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred(this)) {
      if (this.ended)
        throw new Error(
          `socket closed (${this.closeCode}) before ${what}; events: ${JSON.stringify(this.events).slice(-2000)}`,
        );
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(this.events).slice(-2000)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Resolves when the socket has closed. */
  closed(ms = 10_000): Promise<void> {
    return this.ended
      ? Promise.resolve()
      : new Promise((resolve, reject) => {
          const t = setTimeout(() => reject(new Error('socket did not close')), ms);
          this.ws.once('close', () => {
            clearTimeout(t);
            resolve();
          });
        });
  }

  close(): void {
    this.ws.close();
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

export function wsUrl(base: string, clientId: string, token = testToken('test-user')): string {
  const u = new URL('/v1/sync/ws', base.replace(/^http/, 'ws'));
  u.searchParams.set('clientId', clientId);
  u.searchParams.set('token', token);
  return u.toString();
}
