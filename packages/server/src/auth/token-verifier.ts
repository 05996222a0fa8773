/**
 * Verifies bearer tokens: HS256 with a shared secret, or any asymmetric
 * algorithm through a JWKS URL. What comes out is the caller's identity for the
 * rest of the request: claims (for filters, access rules and RLS) and expiry.
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { SynclineError } from '../util/errors.ts';

export interface AuthOptions {
  /** HS256 shared secret (`SYNCLINE_JWT_SECRET`). */
  jwtSecret?: string;
  /** JWKS endpoint for RS256/ES256/EdDSA tokens (`SYNCLINE_JWKS_URL`). */
  jwksUrl?: string;
  /** Expected `iss` / `aud`, when set. */
  issuer?: string;
  audience?: string;
  /** Seconds of clock skew tolerated on `exp`/`nbf`. Default 5. */
  clockToleranceSec?: number;
}

export interface Identity {
  /** The `sub` claim: the user. */
  userId: string;
  claims: Record<string, unknown>;
  /** Expiry, ms since epoch; null if the token has none. */
  expiresAt: number | null;
}

export type VerifyToken = (token: string) => Promise<Identity>;

export function createTokenVerifier(options: AuthOptions): VerifyToken {
  const tolerance = options.clockToleranceSec ?? 5;
  const check = {
    clockTolerance: tolerance,
    ...(options.issuer ? { issuer: options.issuer } : {}),
    ...(options.audience ? { audience: options.audience } : {}),
  };
  let verify: (token: string) => Promise<JWTPayload>;
  if (options.jwksUrl) {
    const jwks = createRemoteJWKSet(new URL(options.jwksUrl));
    verify = async (t) => (await jwtVerify(t, jwks, check)).payload;
  } else if (options.jwtSecret) {
    if (options.jwtSecret.length < 32) throw new Error('the JWT secret must be at least 32 characters');
    const key = new TextEncoder().encode(options.jwtSecret);
    verify = async (t) => (await jwtVerify(t, key, { ...check, algorithms: ['HS256'] })).payload;
  } else {
    throw new Error('authentication is required: set jwtSecret (SYNCLINE_JWT_SECRET) or jwksUrl (SYNCLINE_JWKS_URL)');
  }
  return async (token) => {
    if (!token || token.length > 8192) throw new SynclineError('AUTH_FAILED', 'missing or oversized token');
    let payload: JWTPayload;
    try {
      payload = await verify(token);
    } catch (e) {
      const why = e instanceof errors.JWTExpired ? 'token expired' : 'invalid token';
      throw new SynclineError('AUTH_FAILED', why, { cause: e });
    }
    if (typeof payload.sub !== 'string' || payload.sub.length === 0)
      throw new SynclineError('AUTH_FAILED', 'token has no sub claim');
    return {
      userId: payload.sub,
      claims: payload as Record<string, unknown>,
      expiresAt: payload.exp ? payload.exp * 1000 : null,
    };
  };
}
