/**
 * A raw WebSocket reader for server tests, recording frames in the same shape
 * as SseReader (`{ event, id?, data }`, event = lower-case type), so one suite
 * can run over both transports. Subscriptions go out as SUBSCRIBE after HELLO.
 */
import WebSocket from 'ws';
import { RecordedEvents } from './recorded-events.ts';
import { testToken } from './test-token.ts';

export class WsReader extends RecordedEvents {
  closeCode: number | null = null;
  readonly ws: WebSocket;

  constructor(url: string, subs: object[] = [], options: WebSocket.ClientOptions = {}) {
    super();
    this.ws = new WebSocket(url, options);
    this.ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { type: string } & Record<string, unknown>;
      const { type, ...rest } = msg;
      const event = type.toLowerCase();
      this.record({
        event,
        data: rest,
        ...(typeof rest['cursor'] === 'string' && (event === 'changes' || event === 'ack')
          ? { id: rest['cursor'] }
          : {}),
      });
      if (type === 'HELLO') for (const s of subs) this.send({ type: 'SUBSCRIBE', subscription: s });
    });
    this.ws.on('close', (code) => {
      this.closeCode = code;
      this.finish();
    });
    this.ws.on('error', () => {});
  }

  send(frame: object | string | Buffer): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame));
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
}

export function wsUrl(base: string, clientId: string, token = testToken('test-user')): string {
  const u = new URL('/v1/sync/ws', base.replace(/^http/, 'ws'));
  u.searchParams.set('clientId', clientId);
  u.searchParams.set('token', token);
  return u.toString();
}
