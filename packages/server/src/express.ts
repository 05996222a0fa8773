/**
 * `@syncline/server/express`: Syncline as Express middleware. Express routes no upgrades, so
 * the WebSocket goes on the server: `syncline.attach(server)`, or
 * `server.on('upgrade', syncline.handleUpgrade)`.
 *
 *   const app = express();
 *   app.use(synclineExpress(syncline)); // at the root, before body parsers
 *   app.use(express.json());
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Syncline } from './mount.ts';

/** Express's `(req, res, next)`; any Router takes it (its Request is an IncomingMessage). */
export type SynclineMiddleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/** Serves Syncline's paths (`/v1/*`, `/metrics`) and passes everything else on with `next()`. */
export function synclineExpress(syncline: Syncline): SynclineMiddleware {
  return (req, res, next) => {
    // A body parser in front has read the stream Syncline reads its request bodies from.
    if (syncline.owns(req) && (req as { _body?: unknown })._body === true)
      return next(new Error('syncline: mount synclineExpress() before body parsers (express.json())'));
    syncline.handle(req, res, () => next());
  };
}
