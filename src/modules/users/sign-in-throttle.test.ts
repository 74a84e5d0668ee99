import { and, count, eq, isNull, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, queuedEvents, type TestApp } from '../../../test/helper.ts';
import type { AccountEvent } from './events.ts';
import { emailColumns, emailIndex } from './identifiers.ts';
import { otpCodes, signInThrottles, userSessions, users } from './schema.ts';
import { SIGN_IN_THROTTLE } from './sign-in-throttle.ts';

/**
 * Wrong passwords per email or phone, from any address: five lock password sign-in for a minute, each one
 * after a lock doubles it up to an hour; a one-time code still signs the owner in, and the owner is told.
 */
let t: TestApp;

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

let sequence = 0;
const PASSWORD = 'correct horse battery';
const WRONG = 'not the password at all';
const uniqueEmail = (name = 'user') => `${name}.${++sequence}.${Date.now()}@example.kg`;
const uniquePhone = () => `+996770${String(++sequence).padStart(6, '0')}`;
/** Every request from another address: the per-IP limit must not be what stops them. */
const nextIp = () => `10.${Math.floor(++sequence / 250) % 250}.${sequence % 250}.7`;

type Credentials = { email: string } | { phone: string };

const post = (url: string, payload: object) =>
  t.app.inject({ method: 'POST', url, payload, remoteAddress: nextIp() });
const login = (who: Credentials, password: string) =>
  post(
    '/api/v1/auth/login',
    'email' in who ? { email: who.email, password } : { phone: who.phone, password },
  );

async function register(email = uniqueEmail()) {
  const res = await post('/api/v1/auth/register', { email, password: PASSWORD, full_name: 'Жылдыз Орозова' });
  expect(res.statusCode).toBe(201);
  return { email, userId: res.json().user.id as string };
}

const subjectOf = (who: Credentials) =>
  'email' in who ? emailIndex(t.app.services.cipher, who.email) : t.app.services.cipher.blindIndex(who.phone);

async function throttleOf(who: Credentials) {
  const [row] = await t.db
    .select()
    .from(signInThrottles)
    .where(eq(signInThrottles.subject, subjectOf(who)));
  return row;
}

/** The lock runs out, as if its time had passed. */
async function waitOutLock(who: Credentials) {
  await t.db
    .update(signInThrottles)
    .set({ lockedUntil: sql`now() - interval '1 second'` })
    .where(eq(signInThrottles.subject, subjectOf(who)));
}

async function failTimes(who: Credentials, times: number) {
  for (let i = 0; i < times; i++) {
    const res = await login(who, WRONG);
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('invalid_credentials');
  }
}

function expectThrottled(res: Awaited<ReturnType<typeof login>>, seconds: number) {
  expect(res.statusCode).toBe(429);
  expect(res.headers['content-type']).toContain('application/problem+json');
  expect(res.json()).toMatchObject({ status: 429, code: 'login_throttled' });
  const retryAfter = Number(res.headers['retry-after']);
  expect(retryAfter).toBeGreaterThanOrEqual(seconds - 2);
  expect(retryAfter).toBeLessThanOrEqual(seconds);
}

async function liveSessions(userId: string) {
  const [row] = await t.db
    .select({ n: count() })
    .from(userSessions)
    .where(and(eq(userSessions.userId, userId), isNull(userSessions.revokedAt)));
  return row!.n;
}

const eventsOf = (userId: string) => queuedEvents<AccountEvent>(t.database, 'user_id', userId);

async function allEventCount() {
  const { rows } = await t.database.sql.query(
    `select count(*)::int as n from pgboss.job where name = 'log.on.account_sign_in_throttled'`,
  );
  return rows[0]!.n as number;
}

describe('wrong passwords for one account', () => {
  it('five from five addresses lock it: the right password from a sixth is 429 login_throttled with Retry-After', async () => {
    const account = await register();
    await failTimes(account, SIGN_IN_THROTTLE.freeFailures);
    const refused = await login(account, PASSWORD);
    expectThrottled(refused, 60);
    expect(refused.json().detail).toContain('one-time code');
    expect(await liveSessions(account.userId)).toBe(1);
    expect(await throttleOf(account)).toMatchObject({ failures: 5 });
  });

  it('each wrong password after a lock doubles the next one, up to an hour', async () => {
    const account = await register();
    await failTimes(account, SIGN_IN_THROTTLE.freeFailures);
    expectThrottled(await login(account, PASSWORD), 60);
    for (const seconds of [120, 240, 480, 960, 1920, 3600, 3600]) {
      await waitOutLock(account);
      await failTimes(account, 1);
      expectThrottled(await login(account, PASSWORD), seconds);
      // Refused attempts are not counted: the lock does not grow while it holds.
      expectThrottled(await login(account, WRONG), seconds);
    }
    expect(await throttleOf(account)).toMatchObject({ failures: 12 });
    await waitOutLock(account);
    expect((await login(account, PASSWORD)).statusCode).toBe(200);
    expect(await throttleOf(account)).toBeUndefined();
  });

  it('a right password before the lock starts the count again', async () => {
    const account = await register();
    await failTimes(account, SIGN_IN_THROTTLE.freeFailures - 1);
    expect((await login(account, PASSWORD)).statusCode).toBe(200);
    expect(await throttleOf(account)).toBeUndefined();
    await failTimes(account, SIGN_IN_THROTTLE.freeFailures - 1);
    expect((await login(account, PASSWORD)).statusCode).toBe(200);
  });

  it('a day after the last one, earlier failures are forgotten, and the retention job deletes them', async () => {
    const account = await register();
    await failTimes(account, SIGN_IN_THROTTLE.freeFailures - 1);
    const dayAgo = sql`now() - make_interval(secs => ${SIGN_IN_THROTTLE.forgetAfterSeconds + 60})`;
    await t.db
      .update(signInThrottles)
      .set({ lastFailureAt: dayAgo })
      .where(eq(signInThrottles.subject, subjectOf(account)));
    await failTimes(account, 1);
    expect(await throttleOf(account)).toMatchObject({ failures: 1, lockedUntil: null });

    const forgotten = await register();
    await failTimes(forgotten, 2);
    await t.db
      .update(signInThrottles)
      .set({ lastFailureAt: dayAgo })
      .where(eq(signInThrottles.subject, subjectOf(forgotten)));
    const purge = t.app.services.dataRights.retentionJob;
    await purge.handle({}, { log: t.app.log, jobId: 'test', retryCount: 0 });
    expect(await throttleOf(forgotten)).toBeUndefined();
    expect(await throttleOf(account)).toMatchObject({ failures: 1 });
  });

  it('a burst sent at once has only five passwords checked; the rest are refused', async () => {
    const account = await register();
    const answers = await Promise.all(Array.from({ length: 12 }, () => login(account, WRONG)));
    const statuses = answers.map((a) => a.statusCode).sort();
    expect(statuses).toEqual([...Array(5).fill(401), ...Array(7).fill(429)]);
    expect(await throttleOf(account)).toMatchObject({ failures: 5 });
    expect(await eventsOf(account.userId)).toHaveLength(1);
  });

  it('count together whatever the case of the email', async () => {
    const account = await register(uniqueEmail('Mixed.Case'));
    const spellings = [account.email, account.email.toLowerCase(), account.email.toUpperCase()];
    for (let i = 0; i < SIGN_IN_THROTTLE.freeFailures; i++) await failTimes({ email: spellings[i % 3]! }, 1);
    for (const email of spellings) expectThrottled(await login({ email }, PASSWORD), 60);
  });

  it('count per phone as well, for a password sign-in by phone', async () => {
    const { phone } = await phoneAccountWithPassword();
    await failTimes({ phone }, SIGN_IN_THROTTLE.freeFailures);
    expectThrottled(await login({ phone }, PASSWORD), 60);
  });
});

/** An account made by one-time code, which then set a password: it signs in by phone and password too. */
async function phoneAccountWithPassword() {
  const phone = uniquePhone();
  expect((await post('/api/v1/auth/otp/request', { phone })).statusCode).toBe(202);
  const signedUp = await post('/api/v1/auth/otp/verify', { phone, code: t.sms.lastCodeFor(phone) });
  expect(signedUp.statusCode).toBe(201);
  const set = await t.app.inject({
    method: 'PUT',
    url: '/api/v1/me/password',
    headers: { authorization: `Bearer ${signedUp.json().access_token}` },
    payload: { new_password: PASSWORD },
  });
  expect(set.statusCode).toBe(204);
  return { phone, userId: signedUp.json().user.id as string };
}

describe('the owner of a locked account', () => {
  it('still signs in with a one-time code, which clears the failures of both their email and phone', async () => {
    const { phone, userId } = await phoneAccountWithPassword();
    const email = uniqueEmail('both');
    await t.db.update(users).set(emailColumns(t.app.services.cipher, email)).where(eq(users.id, userId));
    await failTimes({ email }, SIGN_IN_THROTTLE.freeFailures);
    await failTimes({ phone }, SIGN_IN_THROTTLE.freeFailures);
    expectThrottled(await login({ email }, PASSWORD), 60);
    expectThrottled(await login({ phone }, PASSWORD), 60);

    // The sign-up's code was asked for a moment ago: move it back past the minute between two codes.
    await t.db
      .update(otpCodes)
      .set({ createdAt: sql`${otpCodes.createdAt} - interval '61 seconds'` })
      .where(eq(otpCodes.phoneHash, subjectOf({ phone })));
    expect((await post('/api/v1/auth/otp/request', { phone })).statusCode).toBe(202);
    const byCode = await post('/api/v1/auth/otp/verify', { phone, code: t.sms.lastCodeFor(phone) });
    expect(byCode.statusCode).toBe(200);
    expect(byCode.json()).toMatchObject({ is_new_user: false, user: { id: userId } });

    expect(await throttleOf({ email })).toBeUndefined();
    expect(await throttleOf({ phone })).toBeUndefined();
    expect((await login({ email }, PASSWORD)).statusCode).toBe(200);
    expect((await login({ phone }, PASSWORD)).statusCode).toBe(200);
  });

  it('is told of each lock: one account_sign_in_throttled job per lock, none before it', async () => {
    const account = await register();
    await failTimes(account, SIGN_IN_THROTTLE.freeFailures - 1);
    expect(await eventsOf(account.userId)).toEqual([]);
    await failTimes(account, 1);
    for (let i = 0; i < 3; i++) expectThrottled(await login(account, WRONG), 60);
    const [first, ...none] = await eventsOf(account.userId);
    expect(none).toEqual([]);
    const lock = await throttleOf(account);
    expect(first).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      type: 'account_sign_in_throttled',
      user_id: account.userId,
      at: expect.any(String),
      identifier: 'email',
      failures: 5,
      locked_until: lock!.lockedUntil!.toISOString(),
    });
    expect(Math.abs(Date.parse(first!.at) - Date.now())).toBeLessThan(60_000);

    await waitOutLock(account);
    await failTimes(account, 1);
    const events = await eventsOf(account.userId);
    expect(events.map((e) => e.failures)).toEqual([5, 6]);
    expect(new Set(events.map((e) => e.id)).size).toBe(2);
  });
});

describe('an email without an account', () => {
  it('answers exactly as one with an account, attempt by attempt, and tells no one', async () => {
    const known = await register();
    const unknown = { email: uniqueEmail('nobody') };
    const eventsBefore = await allEventCount();
    const seen = async (who: Credentials) => {
      const answers = [];
      for (let i = 0; i < SIGN_IN_THROTTLE.freeFailures + 2; i++) {
        const res = await login(who, i === SIGN_IN_THROTTLE.freeFailures ? PASSWORD : WRONG);
        const { request_id, ...body } = res.json();
        expect(request_id).toBe(res.headers['x-request-id']);
        answers.push({
          status: res.statusCode,
          type: res.headers['content-type'],
          retryAfter: res.headers['retry-after'],
          authenticate: res.headers['www-authenticate'],
          body,
        });
      }
      return answers;
    };
    const fromKnown = await seen(known);
    const fromUnknown = await seen(unknown);
    expect(fromUnknown).toEqual(fromKnown);
    expect(fromKnown.map((a) => a.status)).toEqual([401, 401, 401, 401, 401, 429, 429]);
    expect(await allEventCount()).toBe(eventsBefore + 1);
    expect(await eventsOf(known.userId)).toHaveLength(1);
  });
});
