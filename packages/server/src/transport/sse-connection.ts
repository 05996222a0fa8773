/** Server-Sent Events framing over a node `http` response. */
import type { ServerResponse } from 'node:http';
import type { ServerMessageKind } from '@syncline/protocol';
import { SyncConnection } from './sync-connection.ts';
import type { Identity } from '../auth/token-verifier.ts';

/** How long a closed stream may take to drain before its socket is destroyed. */
const CLOSE_GRACE_MS = 10_000;

export class SseConnection extends SyncConnection {
  constructor(
    private readonly res: ServerResponse,
    clientId: string,
    maxBufferedBytes: number,
    identity: Identity,
  ) {
    super(clientId, 'sse', maxBufferedBytes, identity);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      // nginx and similar proxies would otherwise buffer the stream.
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    res.on('close', () => this.close());
    res.on('drain', () => this.drained());
  }

  protected get bufferedBytes(): number {
    return this.res.writableLength;
  }

  protected frame(event: ServerMessageKind, data: string, id?: string): Buffer {
    // JSON.stringify never emits raw newlines, so one data line is always enough.
    return Buffer.from(`event: ${event}\n${id ? `id: ${id}\n` : ''}data: ${data}\n\n`);
  }

  protected writeFrame(frame: Buffer): void {
    if (!this.res.writableEnded) this.res.write(frame);
  }

  protected endTransport(): void {
    if (!this.res.writableEnded) this.res.end();
    // What is still buffered is freed when the client reads it; one that never does
    // is cut off, so an abandoned socket cannot pin its buffer. Nothing to wait for
    // (the usual case: the client left) means no timer holding this connection.
    const socket = this.res.socket;
    if (!socket || socket.destroyed || this.res.writableLength === 0) return;
    const timer = setTimeout(() => this.res.destroy(), CLOSE_GRACE_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  }
}
