import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInUser } from '../../../test/factories.ts';
import { createTestApp, type TestApp, testConfig } from '../../../test/helper.ts';
import { idempotencyKeys } from '../../platform/idempotency/schema.ts';
import { otpCodes, refreshTokens, userSessions, users } from './schema.ts';

/** Sign-in by one-time SMS code: the codes, their limits, and the job that clears them away. */
let t: TestApp;

beforeAll(async () => {
  t = await createTestApp({ config: testConfig({ AUTH_RATE_LIMIT_PER_MINUTE: '1000' }) });
});
afterAll(() => t.close());

let sequence = 0;
/** A fresh number per test and a fresh IP per request, unless a test picks one: the per-IP limit has its own test. */
const uniquePhone = () => `+996555${String(++sequence).padStart(6, '0')}`;
const uniqueIp = () => `10.0.${Math.floor(sequence / 200)}.${++sequence % 200}`;

type TokenBody = {
  access_token: string;
  user: { id: string; phone: string | null; phone_verified: boolean };
};
type VerifyBody = TokenBody & { is_new_user: boolean };
type ProblemBody = { code: string; status: number; errors?: { in: string; field: string }[] };

function requestCode(phone: string, options: { ip?: string; language?: string } = {}) {
  return t.app.inject({
    method: 'POST',
    url: '/api/v1/auth/otp/request',
    remoteAddress: options.ip ?? uniqueIp(),
    headers: options.language ? { 'accept-language': options.language } : {},
    payload: { phone },
  });
}

function verify(phone: string, code: string | undefined, extra: Record<string, unknown> = {}) {
  return t.app.inject({
    method: 'POST',
    url: '/api/v1/auth/otp/verify',
    payload: { phone, code, ...extra },
  });
}

const hashOf = (phone: string) => t.app.services.cipher.blindIndex(phone);
const codeRows = (phone: string) =>
  t.db
    .select()
    .from(otpCodes)
    .where(eq(otpCodes.phoneHash, hashOf(phone)));
const usersWithPhone = (phone: string) =>
  t.db
    .select()
    .from(users)
    .where(eq(users.phoneHash, hashOf(phone)));
const smsTo = (phone: string) => t.sms.messages.filter((m) => m.phone === phone);

/** Moves a phone's codes back in time, as if they had been asked for `seconds` earlier. */
async function age(phone: string, seconds: number) {
  await t.db
    .update(otpCodes)
    .set({ createdAt: sql`${otpCodes.createdAt} - make_interval(secs => ${seconds})` })
    .where(eq(otpCodes.phoneHash, hashOf(phone)));
}

async function sentCode(phone: string, ip?: string) {
  const res = await requestCode(phone, { ip });
  expect(res.statusCode).toBe(202);
  const code = t.sms.lastCodeFor(phone);
  expect(code).toMatch(/^\d{6}$/);
  return code!;
}

const wrongCodeFor = (code: string) => (code === '000000' ? '111111' : '000000');

describe('requesting a code', () => {
  it('sends a 6-digit code by SMS in the asked language and keeps only its hash', async () => {
    const phone = uniquePhone();
    const res = await requestCode(phone);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ expires_in: 300, resend_after: 60 });

    const code = t.sms.lastCodeFor(phone)!;
    expect(code).toMatch(/^\d{6}$/);
    expect(smsTo(phone)[0]!.text).toContain('Код входа');
    const rows = await codeRows(phone);
    expect(rows).toHaveLength(1);
    // A keyed hash of this code for this phone: a check can recompute it, nobody without the key can.
    const keyedHash = (c: string) => t.app.services.cipher.blindIndex(`otp:${hashOf(phone)}:${c}`);
    expect(rows[0]!.codeHash).toBe(keyedHash(code));
    expect(rows[0]!.codeHash).not.toContain(code);
    expect(rows[0]!.phoneHash).not.toContain('555');
    expect(rows[0]!.expiresAt.getTime() - Date.now()).toBeGreaterThan(290_000);

    const english = uniquePhone();
    await requestCode(english, { language: 'en-US,en;q=0.9' });
    expect(smsTo(english)[0]!.text).toMatch(/^Your sign-in code: \d{6}\./);
  });

  it('refuses a number that is not a Kyrgyz mobile in E.164 with 400 and a field error, and sends nothing', async () => {
    const before = t.sms.messages.length;
    for (const phone of ['+79991234567', '0555123456', '+99655512345', '+9965551234567', '']) {
      const res = await requestCode(phone);
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      const body = res.json<ProblemBody>();
      expect(body.code).toBe('validation_failed');
      expect(body.errors).toContainEqual(expect.objectContaining({ in: 'body', field: 'phone' }));
    }
    expect(t.sms.messages.length).toBe(before);
    expect(await codeRows('+79991234567')).toHaveLength(0);
  });

  it('asks to wait before a resend within 60 s: 429 problem+json with Retry-After, no new code', async () => {
    const phone = uniquePhone();
    const code = await sentCode(phone);
    const again = await requestCode(phone);
    expect(again.statusCode).toBe(429);
    expect(again.headers['content-type']).toContain('application/problem+json');
    expect(again.json<ProblemBody>().code).toBe('otp_resend_too_soon');
    const retryAfter = Number(again.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(smsTo(phone)).toHaveLength(1);
    expect(await codeRows(phone)).toHaveLength(1);
    // The first code still works.
    expect((await verify(phone, code)).statusCode).toBe(201);
  });

  it('sends one code when two requests for one phone come at once', async () => {
    const phone = uniquePhone();
    const results = await Promise.all([requestCode(phone), requestCode(phone)]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([202, 429]);
    expect(smsTo(phone)).toHaveLength(1);
    expect(await codeRows(phone)).toHaveLength(1);
  });

  it('undoes the request when the SMS cannot be sent: 503, no code kept, the retry goes through at once', async () => {
    const phone = uniquePhone();
    const earlier = await sentCode(phone);
    await age(phone, 61);
    const send = t.sms.send;
    t.sms.send = async () => {
      throw new Error('gateway at 10.0.0.9 timed out');
    };
    let failed: Awaited<ReturnType<typeof requestCode>>;
    try {
      failed = await requestCode(phone);
    } finally {
      t.sms.send = send;
    }
    expect(failed.statusCode).toBe(503);
    expect(failed.headers['content-type']).toContain('application/problem+json');
    expect(failed.json<ProblemBody>().code).toBe('sms_unavailable');
    expect(failed.body).not.toContain('10.0.0.9');
    expect(await codeRows(phone)).toHaveLength(1);
    // The code sent before is still the one that works.
    expect((await verify(phone, earlier)).statusCode).toBe(201);

    const other = uniquePhone();
    t.sms.send = async () => {
      throw new Error('gateway down');
    };
    try {
      expect((await requestCode(other)).statusCode).toBe(503);
    } finally {
      t.sms.send = send;
    }
    expect(await codeRows(other)).toHaveLength(0);
    expect((await requestCode(other)).statusCode).toBe(202);
  });

  it('allows 5 codes per phone an hour, then 429 until the oldest is an hour old', async () => {
    const phone = uniquePhone();
    for (let i = 0; i < 5; i++) {
      await sentCode(phone);
      await age(phone, 61);
    }
    const sixth = await requestCode(phone);
    expect(sixth.statusCode).toBe(429);
    expect(sixth.json<ProblemBody>().code).toBe('otp_rate_limited');
    const retryAfter = Number(sixth.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(3000);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    expect(smsTo(phone)).toHaveLength(5);
    expect(await codeRows(phone)).toHaveLength(5);

    await age(phone, 3600);
    expect((await requestCode(phone)).statusCode).toBe(202);
  });

  it('allows 20 codes an hour from one IP, whatever the phones', async () => {
    const ip = uniqueIp();
    for (let i = 0; i < 20; i++) await sentCode(uniquePhone(), ip);
    const phone = uniquePhone();
    const res = await requestCode(phone, { ip });
    expect(res.statusCode).toBe(429);
    expect(res.json<ProblemBody>().code).toBe('otp_rate_limited');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(smsTo(phone)).toHaveLength(0);
    expect(await codeRows(phone)).toHaveLength(0);
    // Another IP may still ask for that phone.
    expect((await requestCode(phone, { ip: uniqueIp() })).statusCode).toBe(202);
  });
});

describe('verifying a code', () => {
  it('creates the account for a new phone, then signs the same account in next time', async () => {
    const phone = uniquePhone();
    const first = await verify(phone, await sentCode(phone), { full_name: 'Нурлан Бекович' });
    expect(first.statusCode).toBe(201);
    expect(first.headers.location).toBe('/api/v1/me');
    const created = first.json<VerifyBody>();
    expect(created.is_new_user).toBe(true);
    expect(created.user).toMatchObject({ phone, phone_verified: true, full_name: 'Нурлан Бекович' });
    const [row] = await usersWithPhone(phone);
    expect(row!.id).toBe(created.user.id);
    expect(row!.phoneEncrypted).not.toContain(phone.slice(1));
    expect(row!.passwordHash).toBeNull();
    expect(
      (
        await t.app.inject({
          url: '/api/v1/me',
          headers: { authorization: `Bearer ${created.access_token}` },
        })
      ).statusCode,
    ).toBe(200);

    await age(phone, 61);
    const second = await verify(phone, await sentCode(phone));
    expect(second.statusCode).toBe(200);
    expect(second.headers.location).toBeUndefined();
    expect(second.json<VerifyBody>()).toMatchObject({ is_new_user: false, user: { id: created.user.id } });
    expect(await usersWithPhone(phone)).toHaveLength(1);
  });

  it('accepts a code once: a second verify of it is 401', async () => {
    const phone = uniquePhone();
    const code = await sentCode(phone);
    expect((await verify(phone, code)).statusCode).toBe(201);
    const again = await verify(phone, code);
    expect(again.statusCode).toBe(401);
    expect(again.json<ProblemBody>().code).toBe('otp_invalid');
    const [user] = await usersWithPhone(phone);
    expect(await t.db.select().from(userSessions).where(eq(userSessions.userId, user!.id))).toHaveLength(1);
  });

  it('does not replay a verify for a repeated Idempotency-Key, nor keep its tokens', async () => {
    const phone = uniquePhone();
    const code = await sentCode(phone);
    const headers = { 'idempotency-key': `otp-verify-${phone.slice(1)}` };
    const payload = { phone, code };
    const first = await t.app.inject({ method: 'POST', url: '/api/v1/auth/otp/verify', headers, payload });
    expect(first.statusCode).toBe(201);
    const again = await t.app.inject({ method: 'POST', url: '/api/v1/auth/otp/verify', headers, payload });
    expect(again.statusCode).toBe(401);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
    expect(
      await t.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, headers['idempotency-key'])),
    ).toHaveLength(0);
  });

  it('lets exactly one of two simultaneous verifies of one code through', async () => {
    const phone = uniquePhone();
    const code = await sentCode(phone);
    const results = await Promise.all([verify(phone, code), verify(phone, code)]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, 401]);
    const users = await usersWithPhone(phone);
    expect(users).toHaveLength(1);
    expect(await t.db.select().from(userSessions).where(eq(userSessions.userId, users[0]!.id))).toHaveLength(
      1,
    );
  });

  it('refuses an expired code and creates nothing', async () => {
    const phone = uniquePhone();
    const code = await sentCode(phone);
    await t.db
      .update(otpCodes)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(otpCodes.phoneHash, hashOf(phone)));
    const res = await verify(phone, code);
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json<ProblemBody>().code).toBe('otp_invalid');
    expect(await usersWithPhone(phone)).toHaveLength(0);
  });

  it('spends a code after 5 wrong tries: then even the right one fails', async () => {
    const phone = uniquePhone();
    const code = await sentCode(phone);
    const wrong = wrongCodeFor(code);
    const codes: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await verify(phone, wrong);
      expect(res.statusCode).toBe(401);
      codes.push(res.json<ProblemBody>().code);
    }
    expect(codes).toEqual([...Array(4).fill('otp_wrong_code'), 'otp_attempts_exceeded']);
    const right = await verify(phone, code);
    expect(right.statusCode).toBe(401);
    expect(right.json<ProblemBody>().code).toBe('otp_invalid');
    expect(await usersWithPhone(phone)).toHaveLength(0);
    const [row] = await codeRows(phone);
    expect(row).toMatchObject({ attempts: 5 });
    expect(row!.consumedAt).not.toBeNull();
  });

  it('honours only the newest code once another was asked for', async () => {
    const phone = uniquePhone();
    const older = await sentCode(phone);
    await age(phone, 61);
    const newer = await sentCode(phone);
    if (older !== newer) {
      const res = await verify(phone, older);
      expect(res.statusCode).toBe(401);
    }
    expect((await verify(phone, newer)).statusCode).toBe(201);
  });

  it('answers 400 to a malformed code or phone', async () => {
    const phone = uniquePhone();
    await sentCode(phone);
    for (const [p, c] of [
      [phone, '12345'],
      [phone, 'abcdef'],
      ['0555123456', '123456'],
    ] as const) {
      const res = await verify(p, c);
      expect(res.statusCode).toBe(400);
      expect(res.json<ProblemBody>().code).toBe('validation_failed');
    }
    expect((await codeRows(phone))[0]).toMatchObject({ attempts: 0, consumedAt: null });
  });

  it('refuses a blocked account with 403 account_blocked', async () => {
    const phone = uniquePhone();
    const created = (await verify(phone, await sentCode(phone))).json<VerifyBody>();
    const admin = await signedInUser(t, ['admin']);
    const block = await t.app.inject({
      method: 'POST',
      url: `/api/v1/admin/users/${created.user.id}/block`,
      headers: admin.auth,
    });
    expect(block.statusCode).toBe(200);
    await age(phone, 61);
    const res = await verify(phone, await sentCode(phone));
    expect(res.statusCode).toBe(403);
    expect(res.json<ProblemBody>().code).toBe('account_blocked');
    const sessions = await t.db.select().from(userSessions).where(eq(userSessions.userId, created.user.id));
    expect(sessions.filter((s) => s.revokedAt === null)).toHaveLength(0);
  });
});

describe('purging expired credentials', () => {
  const job = () => t.app.services.dataRights.retentionJob;
  const run = () => job().handle({}, { log: t.app.log, jobId: 'test', retryCount: 0 });

  it('deletes codes and refresh tokens more than a day past, keeps recent ones, and may run twice', async () => {
    // Daily, at a fixed minute of the night.
    expect(job().cron).toMatch(/^\d{1,2} \d{1,2} \* \* \*$/);
    const phone = uniquePhone();
    await sentCode(phone);
    const recent = (await codeRows(phone))[0]!;
    const old = uniquePhone();
    await sentCode(old);
    await age(old, 2 * 86_400);

    const user = await verify(phone, t.sms.lastCodeFor(phone));
    const { sessionId } = await t.app.services.signer.verify(user.json<TokenBody>().access_token);
    const [expired] = await t.db
      .insert(refreshTokens)
      .values({
        sessionId,
        tokenHash: `expired-${Date.now()}`,
        rotatedAt: new Date(Date.now() - 3 * 86_400_000),
        expiresAt: new Date(Date.now() - 2 * 86_400_000),
      })
      .returning();
    // Expired for less than a day: kept for support questions.
    const [justExpired] = await t.db
      .insert(refreshTokens)
      .values({
        sessionId,
        tokenHash: `just-expired-${Date.now()}`,
        expiresAt: new Date(Date.now() - 3_600_000),
      })
      .returning();

    await run();
    expect(await codeRows(old)).toHaveLength(0);
    expect((await codeRows(phone)).map((r) => r.id)).toEqual([recent.id]);
    const left = await t.db.select().from(refreshTokens).where(eq(refreshTokens.sessionId, sessionId));
    const ids = left.map((r) => r.id);
    expect(ids).not.toContain(expired!.id);
    expect(ids).toContain(justExpired!.id);
    expect(left.filter((r) => r.expiresAt.getTime() > Date.now())).toHaveLength(1);

    await run();
    expect((await codeRows(phone)).map((r) => r.id)).toEqual([recent.id]);
  });
});
