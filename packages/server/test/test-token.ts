/** Synchronous HS256 tokens for tests (the server verifies them with jose). */
import { createHmac } from 'node:crypto';

export const TEST_SECRET = 'test-secret-for-syncline-integration-tests-0123456789';

export function testToken(
  sub: string,
  claims: Record<string, unknown> = {},
  expiresInSec = 3600,
  secret = TEST_SECRET,
): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, iat: now, exp: now + expiresInSec, ...claims })}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}
