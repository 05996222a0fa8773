/** HS256 tokens for development and tests (the demo signs its users' tokens with this). */
import { SignJWT } from 'jose';

export async function signToken(
  secret: string,
  claims: Record<string, unknown> & { sub: string },
  expiresInSec = 3600,
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSec)
    .sign(new TextEncoder().encode(secret));
}
