/**
 * WebSocket framing: the same messages as SSE, as `{ "type": "CHANGES", … }`
 * text frames. A frame is built from the SSE payload's JSON by splicing the
 * type in, so the shared per-transaction serialisation is reused.
 *
 * Liveness: every heartbeat we send a protocol-level ping; a socket that has
 * neither answered nor sent anything for two heartbeats in a row is closed.
 */
import type { ServerMessageKind } from '@syncline/protocol';
import type { WebSocket } from 'ws';
import type { Identity } from '../auth/token-verifier.ts';
import { SyncConnection } from './sync-connection.ts';

const TYPES: Record<ServerMessageKind, string> = {
  hello: 'HELLO',
  snapshot: 'SNAPSHOT',
  changes: 'CHANGES',
  ack: 'ACK',
  resync: 'RESYNC',
  error: 'ERROR',
  ping: 'PING',
  subscribed: 'SUBSCRIBED',
  presence_state: 'PRESENCE_STATE',
  presence_diff: 'PRESENCE_DIFF',
  broadcast: 'BROADCAST',
};

export class WsConnection extends SyncConnection {
  private alive = true;
  /** Pings in a row that found nothing answered since the one before. */
  private missed = 0;

  constructor(
    private readonly ws: WebSocket,
    clientId: string,
    maxBufferedBytes: number,
    identity: Identity,
  ) {
    super(clientId, 'ws', maxBufferedBytes, identity);
    ws.on('close', () => this.close());
    ws.on('pong', () => this.heard());
    ws.on('message', () => this.heard());
    const socket = (ws as unknown as { _socket?: NodeJS.EventEmitter })._socket;
    socket?.on('drain', () => this.drained());
  }

  /** Frames of the WebSocket-only messages (SUBSCRIBED, PONG, TOKEN_EXPIRING_SOON). */
  sendType(type: string, payload: object = {}): void {
    if (this.closed) return;
    this.writeFrame(Buffer.from(withType(type, JSON.stringify(payload))));
  }

  override ping(): void {
    if (this.closed) return;
    // Two silent heartbeats in a row, not one: a busy process runs this timer before it reads the
    // pongs already waiting in its sockets, and must not cut healthy clients for its own delay.
    if (!this.alive && ++this.missed >= 2) {
      this.ws.terminate(); // idle: no pong, no message for two whole heartbeats
      return;
    }
    this.alive = false;
    this.ws.ping();
  }

  private heard(): void {
    this.alive = true;
    this.missed = 0;
  }

  protected get bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  protected frame(event: ServerMessageKind, data: string): Buffer {
    return Buffer.from(withType(TYPES[event], data));
  }

  protected writeFrame(frame: Buffer): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(frame, { binary: false });
  }

  protected endTransport(): void {
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(1000);
  }
}

function withType(type: string, json: string): string {
  return json === '{}' ? `{"type":"${type}"}` : `{"type":"${type}",${json.slice(1)}`;
}
