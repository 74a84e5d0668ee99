import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, testConfig } from '../../../test/helper.ts';
import { otpCodes, users } from './schema.ts';

/** The per-IP limit on sign-in routes, set low here: 3 requests a minute per route and IP. */
let t: TestApp;

beforeAll(async () => {
  t = await createTestApp({ config: testConfig({ AUTH_RATE_LIMIT_PER_MINUTE: '3' }) });
});
afterAll(() => t.close());

let sequence = 0;
const nextIp = () => `10.20.0.${++sequence}`;
const nextPhone = () => `+996777${String(++sequence).padStart(6, '0')}`;

type ProblemBody = { code: string; status: number };

function post(url: string, payload: object, ip: string) {
  return t.app.inject({ method: 'POST', url, payload, remoteAddress: ip });
}

function expectRateLimited(res: Awaited<ReturnType<typeof post>>) {
  expect(res.statusCode).toBe(429);
  expect(res.headers['content-type']).toContain('application/problem+json');
  expect(res.json<ProblemBody>()).toMatchObject({ status: 429, code: 'rate_limited' });
  const retryAfter = Number(res.headers['retry-after']);
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(60);
}

describe('sign-in routes are limited per IP', () => {
  it('login: the 4th attempt in a minute is 429 with Retry-After, even with the right password', async () => {
    const ip = nextIp();
    const email = `limited.${Date.now()}@example.kg`;
    const registered = await post(
      '/api/v1/auth/register',
      { email, password: 'correct horse battery', full_name: 'Limit' },
      nextIp(),
    );
    expect(registered.statusCode).toBe(201);

    for (let i = 0; i < 3; i++) {
      const res = await post('/api/v1/auth/login', { email, password: 'wrong password' }, ip);
      expect(res.statusCode).toBe(401);
    }
    const fourth = await post('/api/v1/auth/login', { email, password: 'correct horse battery' }, ip);
    expectRateLimited(fourth);
    // Another IP is not held back.
    const elsewhere = await post(
      '/api/v1/auth/login',
      { email, password: 'correct horse battery' },
      nextIp(),
    );
    expect(elsewhere.statusCode).toBe(200);
  });

  it('OTP request: the 4th in a minute is 429, and no code is made or sent', async () => {
    const ip = nextIp();
    for (let i = 0; i < 3; i++) {
      expect((await post('/api/v1/auth/otp/request', { phone: nextPhone() }, ip)).statusCode).toBe(202);
    }
    const phone = nextPhone();
    const before = t.sms.messages.length;
    expectRateLimited(await post('/api/v1/auth/otp/request', { phone }, ip));
    expect(t.sms.messages.length).toBe(before);
    const [codes] = await t.db
      .select({ n: count() })
      .from(otpCodes)
      .where(eq(otpCodes.phoneHash, t.app.services.cipher.blindIndex(phone)));
    expect(codes!.n).toBe(0);
  });

  it('OTP verify: the 4th in a minute is 429 even with the right code, and the code stays unused', async () => {
    const phone = nextPhone();
    expect((await post('/api/v1/auth/otp/request', { phone }, nextIp())).statusCode).toBe(202);
    const code = t.sms.lastCodeFor(phone)!;
    const wrong = code === '000000' ? '111111' : '000000';
    const ip = nextIp();
    for (let i = 0; i < 3; i++) {
      expect((await post('/api/v1/auth/otp/verify', { phone, code: wrong }, ip)).statusCode).toBe(401);
    }
    expectRateLimited(await post('/api/v1/auth/otp/verify', { phone, code }, ip));
    const [row] = await t.db
      .select()
      .from(otpCodes)
      .where(eq(otpCodes.phoneHash, t.app.services.cipher.blindIndex(phone)));
    expect(row).toMatchObject({ attempts: 3, consumedAt: null });
    const [made] = await t.db
      .select({ n: count() })
      .from(users)
      .where(eq(users.phoneHash, t.app.services.cipher.blindIndex(phone)));
    expect(made!.n).toBe(0);
  });

  it('register: the 4th in a minute is 429 and creates no account', async () => {
    const ip = nextIp();
    const stamp = Date.now();
    for (let i = 0; i < 3; i++) {
      const res = await post(
        '/api/v1/auth/register',
        { email: `many.${i}.${stamp}@example.kg`, password: 'correct horse battery', full_name: 'Many' },
        ip,
      );
      expect(res.statusCode).toBe(201);
    }
    const email = `many.3.${stamp}@example.kg`;
    expectRateLimited(
      await post(
        '/api/v1/auth/register',
        { email, password: 'correct horse battery', full_name: 'Many' },
        ip,
      ),
    );
    const [made] = await t.db
      .select({ n: count() })
      .from(users)
      .where(eq(users.emailHash, t.app.services.cipher.blindIndex(email)));
    expect(made!.n).toBe(0);
  });
});
