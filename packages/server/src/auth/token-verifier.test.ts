import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from './sign-token.ts';
import { createTokenVerifier } from './token-verifier.ts';

const SECRET = 'unit-test-secret-unit-test-secret-0123456789';

describe('HS256 tokens', () => {
  const verify = createTokenVerifier({ jwtSecret: SECRET });

  it('yields the user, claims and expiry', async () => {
    const id = await verify(await signToken(SECRET, { sub: 'u1', app_role: 'driver' }, 60));
    expect(id.userId).toBe('u1');
    expect(id.claims['app_role']).toBe('driver');
    expect(id.expiresAt).toBeGreaterThan(Date.now());
  });

  it('refuses expired, forged, sub-less, alg-none and oversized tokens with AUTH_FAILED', async () => {
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"u"}').toString('base64url')}.`;
    const bad = [
      await signToken(SECRET, { sub: 'u' }, -60),
      await signToken('another-secret-another-secret-another-secret', { sub: 'u' }),
      await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET)),
      none,
      'x'.repeat(9000),
      '',
    ];
    for (const t of bad) await expect(verify(t)).rejects.toMatchObject({ code: 'AUTH_FAILED' });
  });

  it('refuses a weak secret at start', () => {
    expect(() => createTokenVerifier({ jwtSecret: 'short' })).toThrow(/at least 32/);
    expect(() => createTokenVerifier({})).toThrow(/authentication is required/);
  });
});

describe('JWKS (RS256) tokens', () => {
  let server: http.Server;
  let url: string;
  let privateKey: CryptoKey;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey as CryptoKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    server = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('verifies tokens signed by a key the JWKS publishes, and nothing else', async () => {
    const verify = createTokenVerifier({ jwksUrl: url, issuer: 'https://auth.example' });
    const good = await new SignJWT({ sub: 'u2' })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer('https://auth.example')
      .setExpirationTime('5m')
      .sign(privateKey);
    expect((await verify(good)).userId).toBe('u2');
    const wrongIssuer = await new SignJWT({ sub: 'u2' })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer('https://evil.example')
      .sign(privateKey);
    await expect(verify(wrongIssuer)).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    await expect(verify(await signToken(SECRET, { sub: 'u2' }))).rejects.toMatchObject({ code: 'AUTH_FAILED' });
  });
});
