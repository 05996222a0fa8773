/**
 * What every /v1 request passes before it does anything: the Origin check (for
 * streams), the bearer token, the per-user request rate. Long-lived streams
 * start only after this.
 */
import type { IncomingMessage } from 'node:http';
import type { Identity, VerifyToken } from '../auth/token-verifier.ts';
import { tokenOf } from '../auth/request-token.ts';
import type { KeyedRateLimiter } from '../transport/rate-limiter.ts';
import { SynclineError } from '../util/errors.ts';

export interface Gate {
  verify: VerifyToken;
  /** null: any origin. */
  origins: ReadonlySet<string> | null;
  requests: KeyedRateLimiter;
}

export function checkOrigin(req: IncomingMessage, gate: Gate): void {
  const origin = req.headers.origin;
  if (gate.origins && origin !== undefined && !gate.origins.has(origin)) {
    throw new SynclineError('FORBIDDEN', `origin ${origin} is not allowed`);
  }
}

export async function authenticate(req: IncomingMessage, query: URLSearchParams, gate: Gate): Promise<Identity> {
  const identity = await gate.verify(tokenOf(req, query));
  if (!gate.requests.take(identity.userId)) throw new SynclineError('RATE_LIMITED', 'too many requests; slow down');
  return identity;
}
