/** Node `http` at the core: a small table of routes; adapters for other frameworks can wrap `handle`. */
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { SynclineError } from '../util/errors.ts';
import { sendError, sendJson } from './respond.ts';
import type { SyncRouteOptions } from './sync-routes.ts';
import { openEventStream, subscribeOnStream, unsubscribeOnStream } from './sync-routes.ts';
import { presenceBroadcast, presenceLeave, presenceSet } from './presence-routes.ts';
import type { DiffSyncContext } from '../router/diff-sync.ts';
import { diffSyncRoute } from './diff-sync-route.ts';
import { mutateRoute } from './mutate-route.ts';
import type { MutateDeps } from '../writes/mutate.ts';
import { authenticate } from './gate.ts';
import { parseTarget } from './request-target.ts';
import type { Faults } from './faults.ts';

export interface HttpOptions extends SyncRouteOptions {
  logger: Logger;
  /** Counts exceptions contained to one request or connection. */
  faults: Faults;
  diff: DiffSyncContext;
  mutate: MutateDeps;
  maxDiffSyncBodyBytes: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  health: () => Promise<unknown>;
  collections: () => unknown;
  stats: () => unknown;
  /** `GET /metrics` (Prometheus text) and `GET /v1/ready`. */
  metrics?: { text(): Promise<string>; contentType: string; mutated(status: number, ms: number): void };
  /** When set, `/metrics` wants `Authorization: Bearer <metricsToken>`. */
  metricsToken?: string;
  ready?: () => { ready: boolean; reason?: string };
  /** Requests no Syncline route matched (the demo serves its page here). */
  fallback?: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => void | Promise<void>;

export function createHttpHandler(o: HttpOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const routes: Record<string, Handler> = {
    'GET /v1/sync/events': (req, res, q) => openEventStream(req, res, q, o),
    'POST /v1/sync/subscribe': (req, res, q) => subscribeOnStream(req, res, q, o),
    'POST /v1/sync/unsubscribe': (req, res, q) => unsubscribeOnStream(req, res, q, o),
    'POST /v1/presence': (req, res, q) => presenceSet(req, res, q, o),
    'POST /v1/presence/leave': (req, res, q) => presenceLeave(req, res, q, o),
    'POST /v1/presence/broadcast': (req, res, q) => presenceBroadcast(req, res, q, o),
    'POST /v1/mutate': (req, res, q) => {
      const t0 = performance.now();
      res.once('finish', () => o.metrics?.mutated(res.statusCode, performance.now() - t0));
      return mutateRoute(req, res, q, { gate: o.gate, deps: o.mutate, maxBodyBytes: o.maxBodyBytes });
    },
    'GET /metrics': async (req, res) => {
      if (!o.metrics) throw new SynclineError('NOT_FOUND', 'no metrics on this server');
      if (o.metricsToken !== undefined && req.headers.authorization !== `Bearer ${o.metricsToken}`)
        throw new SynclineError('AUTH_FAILED', 'metrics need the metrics token');
      const text = await o.metrics.text();
      res.writeHead(200, { 'Content-Type': o.metrics.contentType, 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    },
    'GET /v1/ready': (_req, res) => {
      const r = o.ready?.() ?? { ready: true };
      sendJson(res, r.ready ? 200 : 503, r);
    },
    'POST /v1/sync': (req, res, q) =>
      diffSyncRoute(req, res, q, { gate: o.gate, diff: o.diff, maxBodyBytes: o.maxDiffSyncBodyBytes }),
    'GET /v1/health': async (_req, res) => {
      const h = (await o.health()) as { status: string };
      sendJson(res, h.status === 'ok' ? 200 : 503, h);
    },
    'GET /v1/collections': async (req, res, q) => {
      await authenticate(req, q, o.gate);
      sendJson(res, 200, o.collections());
    },
    'GET /v1/sync/stats': async (req, res, q) => {
      await authenticate(req, q, o.gate);
      sendJson(res, 200, o.stats());
    },
  };
  const fail = (req: IncomingMessage, res: ServerResponse, err: unknown) => {
    if (!(err instanceof SynclineError)) {
      o.faults.count('request');
      o.logger.error({ err, url: req.url?.slice(0, 200) }, 'request failed');
    }
    try {
      sendError(res, err);
    } catch {
      res.destroy();
    }
  };
  // Whatever a request holds, an exception in it stays in it: answered (500 if nothing
  // was sent yet), logged, counted, never thrown into the server's event loop.
  return (req, res) => {
    try {
      const url = parseTarget(req.url);
      if (!url) return fail(req, res, new SynclineError('BAD_REQUEST', 'malformed request target'));
      const route = routes[`${req.method} ${url.pathname}`];
      const run = async () => {
        if (route) return route(req, res, url.searchParams);
        if (url.pathname.startsWith('/v1/') || !o.fallback)
          throw new SynclineError('NOT_FOUND', `no route ${req.method} ${url.pathname.slice(0, 200)}`);
        return o.fallback(req, res);
      };
      run().catch((err: unknown) => fail(req, res, err));
    } catch (err) {
      fail(req, res, err);
    }
  };
}

export function createHttpServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  timeouts: { headersTimeoutMs: number; requestTimeoutMs: number },
): http.Server {
  // Timeouts are checked on this interval; the default (30 s) would let a slow client linger.
  const server = http.createServer(
    { connectionsCheckingInterval: Math.min(1_000, timeouts.headersTimeoutMs) },
    handler,
  );
  // Against slow-sending clients. requestTimeout bounds receiving the request only,
  // so long-lived SSE responses are unaffected.
  server.headersTimeout = timeouts.headersTimeoutMs;
  server.requestTimeout = timeouts.requestTimeoutMs;
  server.keepAliveTimeout = 5_000;
  // Bytes that are not HTTP: answer 400 if the socket can still take it, then close.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable || (socket as { _httpMessage?: unknown })._httpMessage)
      return void socket.destroy();
    const status =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? '408 Request Timeout'
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? '431 Request Header Fields Too Large'
          : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });
  return server;
}
