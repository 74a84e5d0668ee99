import { and, count, eq, isNull } from 'drizzle-orm';
import { createSigner } from 'fast-jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInUser } from '../../../test/factories.ts';
import { createTestApp, type TestApp, testConfig } from '../../../test/helper.ts';
import { auditLog } from '../../platform/audit/schema.ts';
import { ConfigError } from '../../platform/config.ts';
import { createAdmin } from './cli.ts';
import { userSessions, users } from './schema.ts';

/** Registration, password sign-in, the account itself, blocking and the admin CLI. */
let t: TestApp;
const config = testConfig({ AUTH_RATE_LIMIT_PER_MINUTE: '1000' });

beforeAll(async () => {
  t = await createTestApp({ config });
});
afterAll(() => t.close());

let sequence = 0;
const uniqueEmail = (name = 'user') => `${name}.${++sequence}.${Date.now()}@example.kg`;
const uniquePhone = () => `+996700${String(++sequence).padStart(6, '0')}`;

type TokenBody = {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  token_type: string;
  user: { id: string; email: string | null; phone: string | null; has_password: boolean; roles: string[] };
};
type ProblemBody = {
  code: string;
  status: number;
  detail?: string;
  errors?: { in: string; field: string }[];
};

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function register(email: string, password = 'correct horse battery', full_name = 'Айгуль Токтогулова') {
  return t.app.inject({
    method: 'POST',
    url: '/api/v1/auth/register',
    payload: { email, password, full_name },
  });
}

function login(payload: Record<string, unknown>) {
  return t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload });
}

const me = (token: string) => t.app.inject({ url: '/api/v1/me', headers: bearer(token) });
const refresh = (refresh_token: string) =>
  t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refresh_token } });

async function registered(email = uniqueEmail(), password = 'correct horse battery') {
  const res = await register(email, password);
  expect(res.statusCode).toBe(201);
  return { email, password, ...res.json<TokenBody>() };
}

async function rowsWithEmail(email: string) {
  return t.db
    .select()
    .from(users)
    .where(eq(users.emailHash, t.app.services.cipher.blindIndex(email.toLowerCase())));
}

async function liveSessionCount(userId: string) {
  const [row] = await t.db
    .select({ n: count() })
    .from(userSessions)
    .where(and(eq(userSessions.userId, userId), isNull(userSessions.revokedAt)));
  return row!.n;
}

/** Signs in a phone by one-time code: the code is read from the memory SMS sender, never guessed. */
async function phoneUser(phone = uniquePhone()) {
  const sent = await t.app.inject({ method: 'POST', url: '/api/v1/auth/otp/request', payload: { phone } });
  expect(sent.statusCode).toBe(202);
  const code = t.sms.lastCodeFor(phone);
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/auth/otp/verify',
    payload: { phone, code },
  });
  expect(res.statusCode).toBe(201);
  return { phone, ...res.json<TokenBody>() };
}

describe('registration', () => {
  it('creates the account, signs in, and keeps the password as argon2id and the email encrypted', async () => {
    const email = uniqueEmail('Aigul');
    const res = await register(email);
    expect(res.statusCode).toBe(201);
    const body = res.json<TokenBody>();
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 900 });
    expect(body.access_token.split('.')).toHaveLength(3);
    expect(body.refresh_token.length).toBeGreaterThan(20);
    expect(body.user).toMatchObject({
      email: email.toLowerCase(),
      phone: null,
      has_password: true,
      roles: ['client'],
    });

    const [row] = await t.db.select().from(users).where(eq(users.id, body.user.id));
    expect(row!.passwordHash).toMatch(/^\$argon2id\$/);
    expect(row!.emailEncrypted).not.toContain(email.toLowerCase());
    expect(row!.emailEncrypted).not.toContain('example.kg');
    expect(row!.emailHash).not.toContain('@');
    expect(JSON.stringify(row)).not.toContain(email.toLowerCase());
    expect(await liveSessionCount(body.user.id)).toBe(1);

    expect((await me(body.access_token)).json()).toMatchObject({ id: body.user.id });
  });

  it('refuses an email that is taken, whatever its case, and leaves the first account alone', async () => {
    const first = await registered(uniqueEmail('taken'));
    const again = await register(first.email, 'another password');
    expect(again.statusCode).toBe(409);
    expect(again.headers['content-type']).toContain('application/problem+json');
    expect(again.json<ProblemBody>().code).toBe('email_taken');

    const shouting = await register(first.email.toUpperCase(), 'another password');
    expect(shouting.statusCode).toBe(409);
    expect(shouting.json<ProblemBody>().code).toBe('email_taken');

    const rows = await rowsWithEmail(first.email);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.id).toBe(first.user.id);
    expect((await login({ email: first.email, password: first.password })).statusCode).toBe(200);
  });

  it('lets exactly one of two simultaneous registrations of one email through', async () => {
    const email = uniqueEmail('race');
    const results = await Promise.all([register(email, 'password one'), register(email, 'password two')]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, 409]);
    expect(results.find((r) => r.statusCode === 409)!.json<ProblemBody>().code).toBe('email_taken');
    expect(await rowsWithEmail(email)).toHaveLength(1);
  });

  it('answers 400 with field errors for a bad email or a short password, and creates nothing', async () => {
    const bad = await register('not-an-email');
    expect(bad.statusCode).toBe(400);
    expect(bad.json<ProblemBody>().errors).toContainEqual(expect.objectContaining({ field: 'email' }));
    const email = uniqueEmail('short');
    const short = await register(email, 'short');
    expect(short.statusCode).toBe(400);
    expect(short.json<ProblemBody>().errors).toContainEqual(expect.objectContaining({ field: 'password' }));
    expect(await rowsWithEmail(email)).toHaveLength(0);
  });
});

describe('login', () => {
  it('signs in by email, in any case, opening a new session', async () => {
    const account = await registered();
    const res = await login({ email: account.email.toUpperCase(), password: account.password });
    expect(res.statusCode).toBe(200);
    const body = res.json<TokenBody>();
    expect(body.user.id).toBe(account.user.id);
    expect((await me(body.access_token)).statusCode).toBe(200);
    expect(await liveSessionCount(account.user.id)).toBe(2);
  });

  it('answers invalid_credentials alike for a wrong password and an unknown email, and opens no session', async () => {
    const account = await registered();
    const wrong = await login({ email: account.email, password: 'not the password' });
    const unknown = await login({ email: uniqueEmail('nobody'), password: account.password });
    for (const res of [wrong, unknown]) {
      expect(res.statusCode).toBe(401);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json<ProblemBody>().code).toBe('invalid_credentials');
    }
    expect(wrong.json<ProblemBody>().detail).toBe(unknown.json<ProblemBody>().detail);
    expect(await liveSessionCount(account.user.id)).toBe(1);
  });

  it('needs exactly one of email and phone', async () => {
    const account = await registered();
    const both = await login({ email: account.email, phone: '+996555123456', password: account.password });
    const neither = await login({ password: account.password });
    for (const res of [both, neither]) {
      expect(res.statusCode).toBe(400);
      expect(res.json<ProblemBody>().code).toBe('validation_failed');
      expect(res.json<ProblemBody>().errors!.length).toBeGreaterThan(0);
    }
    expect(await liveSessionCount(account.user.id)).toBe(1);
  });

  it('refuses a phone-only account a password sign-in until it sets a password', async () => {
    const user = await phoneUser();
    const res = await login({ phone: user.phone, password: 'whatever it is' });
    expect(res.statusCode).toBe(401);
    expect(res.json<ProblemBody>().code).toBe('invalid_credentials');
  });
});

describe('GET /me', () => {
  it('shows the signed-in account', async () => {
    const account = await registered();
    const res = await me(account.access_token);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: account.user.id, email: account.email, has_password: true });
  });

  it('answers 401 problem+json without a token, and with an expired, forged or malformed one', async () => {
    const account = await registered();
    const none = await t.app.inject({ url: '/api/v1/me' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['content-type']).toContain('application/problem+json');
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect(none.json<ProblemBody>().code).toBe('unauthorized');

    const [session] = await t.db.select().from(userSessions).where(eq(userSessions.userId, account.user.id));
    const claims = { sid: session!.id, roles: ['client'] };
    const now = Math.floor(Date.now() / 1000);
    const expired = createSigner({
      key: config.secrets.jwtSecret,
      iss: 'kg-job-portal',
      clockTimestamp: Date.now() - 3_600_000,
      expiresIn: 60_000,
    })({ ...claims, sub: account.user.id });
    const forged = createSigner({
      key: 'some-other-secret-that-is-long-enough-too',
      iss: 'kg-job-portal',
      expiresIn: 600_000,
    })({ ...claims, sub: account.user.id, roles: ['admin'] });

    const expiredRes = await me(expired);
    expect(expiredRes.statusCode).toBe(401);
    expect(expiredRes.json<ProblemBody>().code).toBe('token_expired');
    const forgedRes = await me(forged);
    expect(forgedRes.statusCode).toBe(401);
    expect(forgedRes.json<ProblemBody>().code).toBe('invalid_token');
    // An unsigned token naming the admin role: the algorithm is fixed, never taken from the header.
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, sub: account.user.id, roles: ['admin'], iss: 'kg-job-portal', exp: now + 600 })}.`;
    const unsignedRes = await me(unsigned);
    expect(unsignedRes.statusCode).toBe(401);
    expect(unsignedRes.json<ProblemBody>().code).toBe('invalid_token');
    const garbage = await me('not-a-jwt');
    expect(garbage.statusCode).toBe(401);
    const wrongScheme = await t.app.inject({
      url: '/api/v1/me',
      headers: { authorization: `Basic ${account.access_token}` },
    });
    expect(wrongScheme.statusCode).toBe(401);
    expect(wrongScheme.json<ProblemBody>().code).toBe('invalid_token');
  });
});

describe('PUT /me/password', () => {
  const changePassword = (token: string, payload: Record<string, unknown>) =>
    t.app.inject({ method: 'PUT', url: '/api/v1/me/password', headers: bearer(token), payload });

  it('refuses a wrong current password with 422 and keeps the old password and sessions', async () => {
    const account = await registered();
    const other = await login({ email: account.email, password: account.password });
    const [before] = await t.db.select().from(users).where(eq(users.id, account.user.id));

    const missing = await changePassword(account.access_token, { new_password: 'brand new password' });
    const wrong = await changePassword(account.access_token, {
      current_password: 'not the password',
      new_password: 'brand new password',
    });
    for (const res of [missing, wrong]) {
      expect(res.statusCode).toBe(422);
      expect(res.json<ProblemBody>().code).toBe('wrong_current_password');
      expect(res.json<ProblemBody>().errors).toContainEqual(
        expect.objectContaining({ field: 'current_password' }),
      );
    }
    const [after] = await t.db.select().from(users).where(eq(users.id, account.user.id));
    expect(after!.passwordHash).toBe(before!.passwordHash);
    expect((await me(other.json<TokenBody>().access_token)).statusCode).toBe(200);
    expect((await login({ email: account.email, password: 'brand new password' })).statusCode).toBe(401);
  });

  it('changes the password, ends the other sessions and keeps this one', async () => {
    const account = await registered();
    const other = (await login({ email: account.email, password: account.password })).json<TokenBody>();
    const res = await changePassword(account.access_token, {
      current_password: account.password,
      new_password: 'brand new password',
    });
    expect(res.statusCode).toBe(204);

    expect((await me(account.access_token)).statusCode).toBe(200);
    const otherMe = await me(other.access_token);
    expect(otherMe.statusCode).toBe(401);
    expect(otherMe.json<ProblemBody>().code).toBe('session_revoked');
    expect((await refresh(other.refresh_token)).statusCode).toBe(401);
    expect((await refresh(account.refresh_token)).statusCode).toBe(200);

    expect((await login({ email: account.email, password: account.password })).statusCode).toBe(401);
    expect((await login({ email: account.email, password: 'brand new password' })).statusCode).toBe(200);
    const trail = await t.db.select().from(auditLog).where(eq(auditLog.entityId, account.user.id));
    const change = trail.find((a) => a.action === 'update' && a.changes.password_hash);
    expect(change?.changes.password_hash).toEqual({ before: '[redacted]', after: '[redacted]' });
  });

  it('lets a phone-only account set a password and then sign in by phone and password', async () => {
    const user = await phoneUser();
    expect(user.user.has_password).toBe(false);
    const res = await changePassword(user.access_token, { new_password: 'a phone password' });
    expect(res.statusCode).toBe(204);
    const [row] = await t.db.select().from(users).where(eq(users.id, user.user.id));
    expect(row!.passwordHash).toMatch(/^\$argon2id\$/);

    const signedIn = await login({ phone: user.phone, password: 'a phone password' });
    expect(signedIn.statusCode).toBe(200);
    expect(signedIn.json<TokenBody>().user).toMatchObject({ id: user.user.id, has_password: true });
    expect((await login({ phone: user.phone, password: 'something else' })).statusCode).toBe(401);
  });
});

describe('blocking an account', () => {
  const block = (id: string, headers: Record<string, string>, action: 'block' | 'unblock' = 'block') =>
    t.app.inject({ method: 'POST', url: `/api/v1/admin/users/${id}/${action}`, headers });

  it('ends its sessions, refuses login and refresh with 403, writes the audit trail, and unblocks', async () => {
    const admin = await signedInUser(t, ['admin']);
    const account = await registered();
    const second = (await login({ email: account.email, password: account.password })).json<TokenBody>();

    const res = await block(account.user.id, admin.auth);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: account.user.id, status: 'blocked' });

    for (const token of [account.access_token, second.access_token]) {
      expect((await me(token)).statusCode).toBe(401);
    }
    expect(await liveSessionCount(account.user.id)).toBe(0);
    const loginRes = await login({ email: account.email, password: account.password });
    expect(loginRes.statusCode).toBe(403);
    expect(loginRes.json<ProblemBody>().code).toBe('account_blocked');
    // A wrong password still says nothing about the account.
    expect((await login({ email: account.email, password: 'wrong password' })).statusCode).toBe(401);
    const refreshRes = await refresh(second.refresh_token);
    expect(refreshRes.statusCode).toBe(403);
    expect(refreshRes.json<ProblemBody>().code).toBe('account_blocked');

    const audit = await t.app.inject({
      url: `/api/v1/admin/audit?entity=users&entity_id=${account.user.id}`,
      headers: admin.auth,
    });
    expect(audit.statusCode).toBe(200);
    const entries = audit.json<{ data: { action: string; actor_id: string; changes: object }[] }>().data;
    expect(entries).toContainEqual(
      expect.objectContaining({
        action: 'update',
        actor_id: admin.user.id,
        changes: { status: { before: 'active', after: 'blocked' } },
      }),
    );

    const unblocked = await block(account.user.id, admin.auth, 'unblock');
    expect(unblocked.statusCode).toBe(200);
    expect(unblocked.json()).toMatchObject({ status: 'active' });
    const again = await login({ email: account.email, password: account.password });
    expect(again.statusCode).toBe(200);
    expect((await me(again.json<TokenBody>().access_token)).statusCode).toBe(200);
    // Unblocking does not bring back the sessions that blocking ended.
    expect((await me(second.access_token)).statusCode).toBe(401);
  });

  it('is staff-only: a client gets 403 and the account stays active', async () => {
    const client = await signedInUser(t, ['client', 'provider']);
    const account = await registered();
    const res = await block(account.user.id, client.auth);
    expect(res.statusCode).toBe(403);
    expect(res.json<ProblemBody>().code).toBe('forbidden');
    const [row] = await t.db.select().from(users).where(eq(users.id, account.user.id));
    expect(row!.status).toBe('active');
    expect((await me(account.access_token)).statusCode).toBe(200);
  });

  it('answers 404 for an unknown account and 403 own_case for blocking oneself', async () => {
    const admin = await signedInUser(t, ['admin']);
    const unknown = await block('01890000-0000-7000-8000-000000000000', admin.auth);
    expect(unknown.statusCode).toBe(404);
    const self = await block(admin.user.id, admin.auth);
    expect(self.statusCode).toBe(403);
    expect(self.json<ProblemBody>().code).toBe('own_case');
    expect((await me(admin.token)).statusCode).toBe(200);
  });
});

describe('a deleted account', () => {
  it('can neither log in nor refresh, and its tokens stop working', async () => {
    const account = await registered();
    await t.db
      .update(users)
      .set({ isDeleted: true, deletedAt: new Date() })
      .where(eq(users.id, account.user.id));
    // The row was changed behind the service's back, so drop the cached session answers as the service would.
    await t.app.services.cache.invalidate('session:');

    const loginRes = await login({ email: account.email, password: account.password });
    expect(loginRes.statusCode).toBe(401);
    expect(loginRes.json<ProblemBody>().code).toBe('invalid_credentials');
    const refreshRes = await refresh(account.refresh_token);
    expect(refreshRes.statusCode).toBe(401);
    expect((await me(account.access_token)).statusCode).toBe(401);
    expect(await liveSessionCount(account.user.id)).toBe(0);
  });
});

describe('admin:create', () => {
  it('creates an admin who can sign in and call an admin route; a second run creates nothing', async () => {
    const email = uniqueEmail('Admin');
    const created = await createAdmin(t.database, testConfig(), { email, password: 'an admin password' });
    expect(created).toMatchObject({ email: email.toLowerCase(), created: true });

    const res = await login({ email, password: 'an admin password' });
    expect(res.statusCode).toBe(200);
    const admin = res.json<TokenBody>();
    expect(admin.user).toMatchObject({ id: created.id, roles: ['admin'] });
    const audit = await t.app.inject({
      url: `/api/v1/admin/audit?entity=users&entity_id=${created.id}`,
      headers: bearer(admin.access_token),
    });
    expect(audit.statusCode).toBe(200);
    expect(audit.json<{ data: { action: string }[] }>().data.map((e) => e.action)).toContain('create');

    const again = await createAdmin(t.database, testConfig(), { email, password: 'an admin password' });
    expect(again).toMatchObject({ id: created.id, created: false });
    expect(await rowsWithEmail(email)).toHaveLength(1);
  });

  it('gives an existing account the admin role without touching its password', async () => {
    const account = await registered();
    const result = await createAdmin(t.database, testConfig(), {
      email: account.email,
      password: 'a different password',
    });
    expect(result).toMatchObject({ id: account.user.id, created: false });
    const [row] = await t.db.select().from(users).where(eq(users.id, account.user.id));
    expect(row!.roles).toEqual(['client', 'admin']);
    expect((await login({ email: account.email, password: account.password })).statusCode).toBe(200);
  });

  it('refuses an invalid email or password with a ConfigError and creates nothing', async () => {
    await expect(
      createAdmin(t.database, testConfig(), { email: 'not-an-email', password: 'an admin password' }),
    ).rejects.toBeInstanceOf(ConfigError);
    const email = uniqueEmail('weak');
    await expect(createAdmin(t.database, testConfig(), { email, password: 'short' })).rejects.toBeInstanceOf(
      ConfigError,
    );
    await expect(
      createAdmin(t.database, testConfig(), { password: 'an admin password' }),
    ).rejects.toBeInstanceOf(ConfigError);
    expect(await rowsWithEmail(email)).toHaveLength(0);
  });
});
