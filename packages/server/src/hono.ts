/**
 * `@syncline/server/hono`: Syncline in a Hono app served by `@hono/node-server`. The handler
 * answers on Node's own request and response (`c.env.incoming` / `c.env.outgoing`); the
 * WebSocket goes on the server `serve()` returns: `syncline.attach(server)`, or
 * `server.on('upgrade', syncline.handleUpgrade)`.
 *
 *   app.all('/v1/*', synclineHono(syncline));
 */
import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { MiddlewareHandler } from 'hono';
import type { Syncline } from './mount.ts';

/** Serves Syncline's paths (`/v1/*`, `/metrics`) on the Node response; anything else goes to `next()`. */
export function synclineHono(syncline: Syncline): MiddlewareHandler<{ Bindings: HttpBindings }> {
  return async (c, next) => {
    const { incoming, outgoing } = c.env;
    if (!syncline.owns(incoming)) return next();
    syncline.handle(incoming, outgoing);
    // Syncline writes the response (a stream may stay open): Hono must not send one.
    return RESPONSE_ALREADY_SENT;
  };
}
