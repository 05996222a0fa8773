/**
 * `GET /v1/sync/ws`: the WebSocket transport.
 *
 *   upgrade ─► path + Origin check (HTTP 404/403) ─► handshake
 *          ─► token (ERROR AUTH_FAILED + close 1008 if bad) ─► HELLO
 *          ─► frames: size (1009, before buffering) → UTF-8 (1007) → rate → JSON → schema → handler
 *
 * A bad frame gets ERROR with a protocol code and changes nothing else: the
 * connection and its subscriptions carry on.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { clientMessageSchema, type ClientMessage } from '@syncline/protocol';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Logger } from 'pino';
import { TokenBucket } from '../transport/rate-limiter.ts';
import type { TokenLifetime } from '../transport/token-lifetime.ts';
import { WsConnection } from '../transport/ws-connection.ts';
import { SynclineError } from '../util/errors.ts';
import { clientIdOf } from './client-identity.ts';
import { authenticate, checkOrigin, type Gate } from './gate.ts';
import { openStream, streamRefusal, type StreamAdmission } from './stream-admission.ts';
import { parseTarget } from './request-target.ts';
import type { Faults } from './faults.ts';

export interface WsOptions extends StreamAdmission {
  gate: Gate;
  logger: Logger;
  faults: Faults;
  maxFrameBytes: number;
  maxBufferedBytes: number;
  messagesPerSecond: number;
}

/** Frames a client may send before authentication finishes; more closes the socket. */
const MAX_EARLY_FRAMES = 16;

/**
 * Syncline's upgrade handler: takes `/v1/sync/ws` (answering it, whatever happens) and returns
 * true; returns false and leaves the socket alone for any other target, so an app's own
 * WebSocket routes on the same server keep working.
 */
export interface UpgradeHandler {
  (req: http.IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Stops taking upgrades (open sockets are ended by the hub). */
  close(): void;
}

export function createUpgradeHandler(o: WsOptions, stopped: () => boolean = () => false): UpgradeHandler {
  const wss = new WebSocketServer({ noServer: true, maxPayload: o.maxFrameBytes, perMessageDeflate: false });
  const handle = (req: http.IncomingMessage, socket: Duplex, head: Buffer): boolean => {
    if (parseTarget(req.url)?.pathname !== '/v1/sync/ws') return false;
    // Until ws owns the socket, nobody else listens for its errors (a reset mid-handshake).
    const onSocketError = () => socket.destroy();
    socket.on('error', onSocketError);
    try {
      const url = parseTarget(req.url) as URL;
      if (stopped()) {
        refuse(socket, 503, 'Service Unavailable');
        return true;
      }
      try {
        checkOrigin(req, o.gate);
      } catch {
        refuse(socket, 403, 'Forbidden');
        return true;
      }
      // ws answers a bad handshake (version, key, method) with 400 itself.
      wss.handleUpgrade(req, socket, head, (ws) => {
        socket.off('error', onSocketError);
        try {
          accept(ws, req, url.searchParams, o);
        } catch (err) {
          contain(o, 'upgrade', err);
          ws.terminate();
        }
      });
    } catch (err) {
      contain(o, 'upgrade', err);
      socket.destroy();
    }
    return true;
  };
  return Object.assign(handle, { close: () => wss.close() });
}

/** The standalone server: every upgrade is Syncline's; other targets get 400/404. */
export function attachWebSocket(server: http.Server, o: WsOptions): UpgradeHandler {
  const handle = createUpgradeHandler(o);
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    if (handle(req, socket, head)) return;
    socket.on('error', () => socket.destroy());
    if (!parseTarget(req.url)) refuse(socket, 400, 'Bad Request');
    else refuse(socket, 404, 'Not Found');
  });
  return handle;
}

function contain(o: WsOptions, site: 'upgrade' | 'frame', err: unknown): void {
  o.faults.count(site);
  o.logger.error({ err }, site === 'upgrade' ? 'websocket upgrade failed' : 'websocket frame failed');
}

export function refuse(socket: Duplex, status: number, text: string): void {
  if (!socket.writable) return void socket.destroy();
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

function accept(ws: WebSocket, req: http.IncomingMessage, query: URLSearchParams, o: WsOptions): void {
  ws.on('error', () => {}); // 1009/1007 and resets: ws closes the socket itself
  const early: Array<[RawData, boolean]> = [];
  const queue = (data: RawData, isBinary: boolean) => {
    if (early.push([data, isBinary]) > MAX_EARLY_FRAMES) ws.close(1008, 'wait for HELLO');
  };
  ws.on('message', queue);
  const fail = (code: string, message: string) => {
    ws.send(JSON.stringify({ type: 'ERROR', code, message }));
    ws.close(1008, code);
  };
  void (async () => {
    try {
      const identity = await authenticate(req, query, o.gate);
      const clientId = clientIdOf(req, query);
      const refusal = streamRefusal(o, identity.userId);
      if (refusal) return fail('RATE_LIMITED', refusal.message);
      if (ws.readyState !== ws.OPEN) return;
      const conn = new WsConnection(ws, clientId, o.maxBufferedBytes, identity);
      const lifetime = openStream(conn, identity.expiresAt, o, (expiresIn) =>
        conn.sendType('TOKEN_EXPIRING_SOON', { expiresIn }),
      );
      const session = new WsSession(conn, lifetime, o);
      ws.off('message', queue);
      const onFrame = (data: RawData, isBinary: boolean) => {
        try {
          session.onFrame(data, isBinary);
        } catch (err) {
          contain(o, 'frame', err);
          conn.error({ code: 'INTERNAL', message: 'internal error' });
        }
      };
      ws.on('message', onFrame);
      for (const [data, isBinary] of early) onFrame(data, isBinary);
    } catch (e) {
      const err = e instanceof SynclineError ? e : new SynclineError('INTERNAL', 'could not open the stream');
      fail(err.code, err.message);
    }
  })();
}

/** One authenticated socket's inbound side. */
class WsSession {
  private readonly bucket: TokenBucket;

  constructor(
    private readonly conn: WsConnection,
    private readonly lifetime: TokenLifetime,
    private readonly o: WsOptions,
  ) {
    this.bucket = new TokenBucket({ rate: o.messagesPerSecond, burst: o.messagesPerSecond * 2 });
  }

  onFrame(data: RawData, isBinary: boolean): void {
    if (!this.bucket.take()) return this.conn.error({ code: 'RATE_LIMITED', message: 'too many messages; slow down' });
    if (isBinary)
      return this.conn.error({ code: 'BAD_REQUEST', message: 'binary frames are not accepted; send JSON text' });
    let json: unknown;
    try {
      json = JSON.parse(rawText(data));
    } catch {
      return this.conn.error({ code: 'BAD_REQUEST', message: 'frame is not valid JSON' });
    }
    const parsed = clientMessageSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const sub = (json as { subscription?: { id?: unknown } } | null)?.subscription?.id;
      return this.conn.error({
        code: 'BAD_REQUEST',
        message: `invalid message: ${issue ? `${issue.path.join('.') || 'type'} ${issue.message}` : 'unknown shape'}`,
        ...(typeof sub === 'string' && sub.length <= 128 ? { subscription: sub } : {}),
      });
    }
    this.handle(parsed.data).catch((err: unknown) => {
      this.o.logger.error({ err }, 'websocket message failed');
      this.conn.error({ code: 'INTERNAL', message: 'internal error' });
    });
  }

  private async handle(m: ClientMessage): Promise<void> {
    const { conn, o } = this;
    switch (m.type) {
      case 'SUBSCRIBE':
        return o.router.subscribe(conn, [m.subscription], undefined, (id, table) => conn.subscribed(id, table));
      case 'UNSUBSCRIBE':
        o.router.unsubscribe(conn, m.id);
        return;
      case 'UNSUBSCRIBE_ALL':
        o.router.unsubscribeAll(conn);
        return;
      case 'PING':
        conn.sendType('PONG');
        return;
      case 'TOKEN_REFRESH':
        return this.refresh(m.token);
      case 'PRESENCE_SET':
        return o.presence.set(conn, m);
      case 'PRESENCE_LEAVE':
        return o.presence.leave(conn, m);
      case 'BROADCAST':
        return o.presence.broadcast(conn, m);
    }
  }

  private async refresh(token: string): Promise<void> {
    const { conn, o } = this;
    let identity;
    try {
      identity = await o.gate.verify(token);
    } catch (e) {
      conn.error({ code: 'AUTH_FAILED', message: e instanceof Error ? e.message : 'invalid token' });
      conn.close();
      return;
    }
    if (identity.userId !== conn.identity.userId) {
      conn.error({ code: 'AUTH_FAILED', message: 'a refreshed token must be for the same user' });
      conn.close();
      return;
    }
    this.lifetime.schedule(identity.expiresAt);
    await o.router.refreshIdentity(conn, identity);
    await o.presence.refreshed(conn);
  }
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}
