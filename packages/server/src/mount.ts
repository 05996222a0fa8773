/**
 * Syncline mounted into a server the app owns: no port of its own.
 *
 *   app's http.Server ─ request ─► owns(req)? ─ yes ─► Syncline's routes (/v1/*, /metrics)
 *                    │                        └─ no ──► next() / the app's own listener
 *                    └ upgrade ─► /v1/sync/ws? ─ yes ─► Syncline's WebSocket
 *                                              └─ no ──► left alone for the app's routes
 *
 * `stop()` ends Syncline's streams and capture and leaves the server running; its routes
 * answer 503 from then on. The server's own limits (header and request timeouts, what a
 * malformed request gets) are the app's: Node's defaults apply unless the app sets them.
 */
import type http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { SynclineOptions } from './config.ts';
import { sendError } from './http/respond.ts';
import { parseTarget } from './http/request-target.ts';
import { createUpgradeHandler, refuse } from './http/ws-endpoint.ts';
import type { CaptureService } from './capture/capture-service.ts';
import type { SyncRouter } from './router/sync-router.ts';
import { assembleNode } from './server.ts';
import { SynclineError } from './util/errors.ts';
import { within } from './util/within.ts';

export interface Syncline {
  router: SyncRouter;
  /** This node's capture; null on a node of a cluster that does not own it. */
  readonly capture: CaptureService | null;
  /** Whether a request is Syncline's: `/v1`, `/v1/*` and `/metrics`. */
  owns(req: IncomingMessage): boolean;
  /**
   * A `node:http` request handler. Serves Syncline's paths; calls `next()` for anything
   * else, or without `next` answers it as the standalone server would (`fallback`, else 404).
   */
  handle(req: IncomingMessage, res: ServerResponse, next?: () => void): void;
  /** For the server's `'upgrade'` event: true if it took `/v1/sync/ws`; false, socket untouched, otherwise. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /**
   * Puts `handle` in front of the server's current request listeners (attach after the app's
   * listener is in place, e.g. after `http.createServer(app)`) and adds `handleUpgrade`.
   * An upgrade no listener takes gets a 404 when Syncline's is the only one.
   */
  attach<S extends http.Server>(server: S): S;
  /** Ends capture and Syncline's streams and requests; the app's server keeps running. Once only. */
  stop(): Promise<void>;
}

export type MountOptions = Omit<SynclineOptions, 'port' | 'host'>;

/** Syncline without a port: mount it with `handle`/`handleUpgrade`, or `attach(server)`. */
export async function createSyncline(options: MountOptions): Promise<Syncline> {
  const node = await assembleNode(options);
  let stopped = false;
  let ending: Promise<void> | undefined;
  const upgrades = createUpgradeHandler(node.ws, () => stopped);
  // Syncline's own requests in flight (streams among them): stop waits for them, then cuts them.
  const open = new Set<ServerResponse>();
  const owns = (req: IncomingMessage) => {
    const path = parseTarget(req.url)?.pathname;
    return path !== undefined && (path === '/v1' || path.startsWith('/v1/') || path === '/metrics');
  };
  const handle = (req: IncomingMessage, res: ServerResponse, next?: () => void) => {
    if (!owns(req)) return next ? next() : node.handler(req, res);
    if (stopped)
      return sendError(
        res,
        new SynclineError('INTERNAL', 'syncline has stopped', { status: 503, details: { retryable: true } }),
      );
    open.add(res);
    res.once('close', () => open.delete(res));
    node.handler(req, res);
  };
  return {
    router: node.router,
    get capture() {
      return node.currentCapture();
    },
    owns,
    handle,
    handleUpgrade: (req, socket, head) => upgrades(req, socket, head),
    attach(server) {
      const app = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
      server.removeAllListeners('request');
      server.on('request', (req: IncomingMessage, res: ServerResponse) =>
        handle(req, res, app.length > 0 ? () => app.forEach((l) => l.call(server, req, res)) : undefined),
      );
      server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        if (upgrades(req, socket, head) || server.listenerCount('upgrade') > 1) return;
        socket.on('error', () => socket.destroy());
        refuse(socket, 404, 'Not Found');
      });
      return server;
    },
    stop() {
      ending ??= end();
      return ending;
    },
  };

  async function end(): Promise<void> {
    // The standalone order: capture and its routing first, then the streams end.
    await node.stopCapture();
    stopped = true;
    node.hub.closeAll();
    upgrades.close();
    // Ended streams get a moment to flush their last bytes before their sockets are cut.
    await within(Promise.all([...open].map((res) => new Promise((r) => res.once('close', r)))), 2_000);
    for (const res of open) res.destroy();
    await node.stopRest();
  }
}
