/**
 * Tokens for the bench. The server verifies an HS256 JWT on every stream; each
 * run makes up its own secret and hands it to the server's environment.
 */
import { randomBytes } from 'node:crypto';
import { signToken } from '../../packages/server/src/auth/sign-token.ts';

/** Long enough for any run: a token expiring mid-run would end its stream. */
export const TOKEN_LIFETIME_SEC = 6 * 3600;

/** A fresh HS256 secret (64 characters; the server wants at least 32). */
export function newJwtSecret(): string {
  return randomBytes(32).toString('hex');
}

export function tokenFor(secret: string, sub: string): Promise<string> {
  return signToken(secret, { sub }, TOKEN_LIFETIME_SEC);
}

/** One token per subscriber, each its own user (`<prefix>-<i>`), as separate clients would be. */
export function tokensFor(secret: string, prefix: string, count: number): Promise<string[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => tokenFor(secret, `${prefix}-${i}`)));
}
