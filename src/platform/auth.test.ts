import { TokenError } from 'fast-jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testConfig } from '../../test/helper.ts';
import { buildApp } from '../app.ts';
import { createTokenSigner } from './auth.ts';
import type { Database } from './db.ts';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256';
const claims = { userId: 'u-1', sessionId: 's-1', roles: ['client' as const] };

/** The verified-token cache must never answer for a token past its expiry, nor for a token it never saw. */
describe('createTokenSigner', () => {
  it('refuses a token once it expires, though it was verified (and cached) before', async () => {
    const signer = createTokenSigner(SECRET, 1);
    const token = await signer.sign(claims);
    expect(signer.verify(token)).toEqual(claims);
    expect(signer.verify(token)).toEqual(claims);

    const exp = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).exp as number;
    await new Promise((resolve) => setTimeout(resolve, exp * 1000 - Date.now() + 20));

    const refusal = (() => {
      try {
        return signer.verify(token);
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toBeInstanceOf(TokenError);
    expect((refusal as TokenError).code).toBe(TokenError.codes.expired);
  });

  it('does not take a token signed with another key for one it has verified', async () => {
    const signer = createTokenSigner(SECRET, 600);
    const other = createTokenSigner(`${SECRET}-other`, 600);
    const token = await signer.sign(claims);
    signer.verify(token);

    const forged = await other.sign({ ...claims, roles: ['admin'] });
    expect(() => signer.verify(forged)).toThrow(TokenError);
  });
});

/** Access fails closed: a route that does not say who may call it stops the app from starting. */
describe('every route declares its access', () => {
  let database: Database;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.close());

  const app = () =>
    buildApp({
      config: testConfig({ CORS_ORIGINS: 'https://app.example.kg' }),
      database,
      work: false,
      logger: false,
    });

  it('a route registered without access, at the root or in a plugin, stops the start, named', async () => {
    const built = await app();
    built.get('/api/v1/test/undeclared', async () => ({ ok: true }));
    await built.register(
      async (scope) => {
        scope.post('/test/nested', async () => ({ ok: true }));
      },
      { prefix: '/api/v1' },
    );
    built.get('/api/v1/test/declared', { config: { access: 'user' } }, async () => ({ ok: true }));

    const failure = await built.ready().then(
      () => null,
      (error: unknown) => error as Error,
    );
    expect(failure?.message).toMatch(/GET \/api\/v1\/test\/undeclared/);
    expect(failure?.message).toMatch(/POST \/api\/v1\/test\/nested/);
    expect(failure?.message).not.toMatch(/test\/declared/);
    await built.close();
  });

  it('the platform’s and the plugins’ routes declare theirs: docs, health, metrics and preflight answer anyone', async () => {
    const built = await app();
    built.get('/api/v1/test/declared', { config: { access: 'user' } }, async () => ({ ok: true }));
    await built.ready();
    for (const url of ['/docs', '/docs/json', '/health/live', '/health/ready', '/metrics']) {
      const res = await built.inject({ url });
      expect(res.statusCode, url).toBe(200);
    }
    const preflight = await built.inject({
      method: 'OPTIONS',
      url: '/api/v1/test/declared',
      headers: { origin: 'https://app.example.kg', 'access-control-request-method': 'GET' },
    });
    expect(preflight.statusCode).toBe(204);
    expect((await built.inject({ url: '/api/v1/test/declared' })).statusCode).toBe(401);
    // What the router answers itself stays a 404, not a 401.
    const unknown = await built.inject({ url: '/api/v1/nothing-here' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'route_not_found' });
    await built.close();
  });
});
