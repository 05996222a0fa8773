/**
 * WebSocket framing: the same messages as SSE, as `{ "type": "CHANGES", … }`
 * text frames. A frame is built from the SSE payload's JSON by splicing the
 * type in, so the shared per-transaction serialisation is reused.
 *
 * Liveness: every heartbeat we send a protocol-level ping; a socket that has
 * neither answered nor sent anything since the previous one is closed.
 */
import type { SseEventName } from '@syncline/protocol';
import type { WebSocket } from 'ws';
import type { Identity } from '../auth/token-verifier.ts';
import { SyncConnection } from './sync-connection.ts';

const TYPES: Record<SseEventName, string> = {
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

  constructor(
    private readonly ws: WebSocket,
    clientId: string,
    maxBufferedBytes: number,
    identity: Identity,
  ) {
    super(clientId, 'ws', maxBufferedBytes, identity);
    ws.on('close', () => this.close());
    ws.on('pong', () => (this.alive = true));
    ws.on('message', () => (this.alive = true));
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
    if (!this.alive) {
      this.ws.terminate(); // idle: no pong, no message for a whole heartbeat
      return;
    }
    this.alive = false;
    this.ws.ping();
  }

  protected get bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  protected frame(event: SseEventName, data: string): Buffer {
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
