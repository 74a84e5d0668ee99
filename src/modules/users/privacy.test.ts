import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInUser } from '../../../test/factories.ts';
import { createTestApp, queuedEvents, type TestApp } from '../../../test/helper.ts';
import { caller } from '../../../test/http.ts';
import { auditLog } from '../../platform/audit/schema.ts';
import { idempotencyKeys } from '../../platform/idempotency/schema.ts';
import { seededCatalog } from '../core/catalog-fixtures.ts';
import type { AccountEvent } from './events.ts';
import { emailIndex } from './identifiers.ts';
import {
  otpCodes,
  providerProfiles,
  providerServices,
  signInThrottles,
  userProfiles,
  users,
  userVerifications,
} from './schema.ts';

let t: TestApp;
let plumbing: string;
let electrical: string;

beforeAll(async () => {
  t = await createTestApp();
  const subs = (await seededCatalog(t.db)).subcategories;
  plumbing = subs.find((s) => s.slug === 'plumbing')?.id as string;
  electrical = subs.find((s) => s.slug === 'electrical')?.id as string;
});
afterAll(() => t.close());

const call = caller(() => t);

const PASSWORD = 'correct horse battery';

/** A person who signed up with email and password and became a provider with two services. */
async function providerAccount(email: string) {
  const signup = await call('POST', '/api/v1/auth/register', undefined, {
    email,
    password: PASSWORD,
    full_name: 'Бакыт Асанов',
  });
  expect(signup.status).toBe(201);
  const auth = { authorization: `Bearer ${signup.body.access_token}` };
  await call('PATCH', '/api/v1/me/profile', auth, {
    address: 'мкр. Джал 12',
    contact_info: { telegram: '@bakyt' },
  });
  const provider = await call('POST', '/api/v1/me/provider-profile', auth, { business_name: 'Бакыт Ремонт' });
  const kept = await call('POST', '/api/v1/me/services', auth, {
    subcategory_id: plumbing,
    base_price: 100_000,
  });
  const earlier = await call('POST', '/api/v1/me/services', auth, {
    subcategory_id: electrical,
    base_price: 100_000,
  });
  // Deleted on its own before the account closes: a restore must leave it deleted.
  expect((await call('DELETE', `/api/v1/me/services/${earlier.body.id}`, auth)).status).toBe(204);
  return {
    auth,
    userId: signup.body.user.id as string,
    providerId: provider.body.id,
    keptId: kept.body.id,
    earlierId: earlier.body.id,
  };
}

describe('personal data at rest', () => {
  it('keeps no plaintext email or phone in the users row', async () => {
    await call('POST', '/api/v1/auth/otp/request', undefined, { phone: '+996700123456' });
    const code = t.sms.lastCodeFor('+996700123456');
    const phoneUser = await call('POST', '/api/v1/auth/otp/verify', undefined, {
      phone: '+996700123456',
      code,
    });
    expect(phoneUser.status).toBe(201);
    await call('POST', '/api/v1/auth/register', undefined, {
      email: 'plain.text@example.kg',
      password: PASSWORD,
      full_name: 'Plain',
    });
    const raw = await t.database.sql.query('select * from users');
    const dump = JSON.stringify(raw.rows);
    expect(dump).not.toContain('700123456');
    expect(dump).not.toContain('plain.text@example.kg');
    expect(dump).toContain('"email_hash"');
  });
});

describe('closing an account', () => {
  it('deactivates, ends sessions, hides the provider, and staff restore exactly what it took', async () => {
    const me = await providerAccount('closer@example.kg');
    expect((await call('GET', `/api/v1/providers/${me.providerId}`)).status).toBe(200);

    expect((await call('POST', '/api/v1/me/close', me.auth, { password: PASSWORD })).status).toBe(204);
    expect((await call('GET', '/api/v1/me', me.auth)).status).toBe(401);
    const login = await call('POST', '/api/v1/auth/login', undefined, {
      email: 'closer@example.kg',
      password: PASSWORD,
    });
    expect(login.status).toBe(403);
    expect(login.body.code).toBe('account_deactivated');
    expect((await call('GET', `/api/v1/providers/${me.providerId}`)).status).toBe(404);
    const [service] = await t.db.select().from(providerServices).where(eq(providerServices.id, me.keptId));
    expect(service?.isDeleted).toBe(true);

    const client = await signedInUser(t);
    expect((await call('POST', `/api/v1/admin/users/${me.userId}/restore`, client.auth)).status).toBe(403);
    const moderator = await signedInUser(t, ['moderator']);
    const restored = await call('POST', `/api/v1/admin/users/${me.userId}/restore`, moderator.auth);
    expect(restored.status).toBe(200);
    expect(restored.body.user.status).toBe('active');
    expect(restored.body.restored).toMatchObject({
      user_profiles: 1,
      provider_profiles: 1,
      provider_services: 1,
    });

    const services = await t.db
      .select({ id: providerServices.id, isDeleted: providerServices.isDeleted })
      .from(providerServices)
      .where(eq(providerServices.providerProfileId, me.providerId));
    expect(Object.fromEntries(services.map((s) => [s.id, s.isDeleted]))).toEqual({
      [me.keptId]: false,
      [me.earlierId]: true,
    });
    expect((await call('GET', `/api/v1/providers/${me.providerId}`)).status).toBe(200);
    const again = await call('POST', `/api/v1/admin/users/${me.userId}/restore`, moderator.auth);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('account_not_deactivated');
    const relogin = await call('POST', '/api/v1/auth/login', undefined, {
      email: 'closer@example.kg',
      password: PASSWORD,
    });
    expect(relogin.status).toBe(200);
  });
});

describe('export', () => {
  it('returns everything held about the caller and nothing about others or staff notes', async () => {
    const me = await providerAccount('exporter@example.kg');
    const other = await providerAccount('someone.else@example.kg');
    const [profile] = await t.db.select().from(userProfiles).where(eq(userProfiles.userId, me.userId));
    await t.db.insert(userVerifications).values({
      userProfileId: profile!.id,
      verificationType: 'identity',
      status: 'rejected',
      publicNote: 'Фото нечитаемо',
      adminNotes: 'INTERNAL: looks forged',
    });

    const answer = await call('POST', '/api/v1/me/export', me.auth, { password: PASSWORD });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-disposition']).toMatch(/^attachment/);
    const data = answer.body;
    expect(data.users.account).toMatchObject({ email: 'exporter@example.kg', full_name: 'Бакыт Асанов' });
    expect(data.users.profile).toMatchObject({
      address: 'мкр. Джал 12',
      contact_info: { telegram: '@bakyt' },
    });
    expect(data.users.provider_profiles).toHaveLength(1);
    expect(data.users.services.map((s: { id: string }) => s.id).sort()).toEqual(
      [me.keptId, me.earlierId].sort(),
    );
    expect(data.users.verifications[0]).toMatchObject({ status: 'rejected', public_note: 'Фото нечитаемо' });
    expect(data.users.sessions.length).toBeGreaterThan(0);
    expect(data.platform.activity.length).toBeGreaterThan(0);
    const text = JSON.stringify(data);
    expect(text).not.toContain('INTERNAL');
    expect(text).not.toContain(other.userId);
    expect(text).not.toContain('someone.else@example.kg');
    expect((await call('POST', '/api/v1/me/export', undefined, { password: PASSWORD })).status).toBe(401);
  });
});

describe('erasure', () => {
  it('anonymizes for good, keeps the rows under the same id, and frees the email', async () => {
    const me = await providerAccount('eraser@example.kg');
    expect((await call('POST', '/api/v1/me/erase', me.auth, { password: PASSWORD })).status).toBe(400);
    const erased = await call('POST', '/api/v1/me/erase', me.auth, { confirm: 'ERASE', password: PASSWORD });
    expect(erased.status).toBe(204);

    expect((await call('GET', '/api/v1/me', me.auth)).status).toBe(401);
    const [row] = await t.db.select().from(users).where(eq(users.id, me.userId));
    expect(row).toMatchObject({
      emailEncrypted: null,
      emailHash: null,
      passwordHash: null,
      fullName: 'Deleted user',
      isDeleted: true,
    });
    const [profile] = await t.db.select().from(userProfiles).where(eq(userProfiles.userId, me.userId));
    expect(profile).toMatchObject({ addressEncrypted: null, contactInfoEncrypted: null, isDeleted: true });
    const [provider] = await t.db
      .select()
      .from(providerProfiles)
      .where(eq(providerProfiles.id, me.providerId));
    expect(provider).toMatchObject({ businessName: 'Deleted user', isDeleted: true });
    expect((await call('GET', `/api/v1/providers/${me.providerId}`)).status).toBe(404);
    // The directory's vocabulary keeps no word that no provider's text holds.
    const orphans = await t.db.execute(sql`
      select word from search_words v where v.scope = 'providers'
        and not exists (select 1 from provider_profiles p where p.search_vector @@ to_tsquery('simple', quote_literal(v.word)))`);
    expect((orphans as unknown as { rows: unknown[] }).rows).toEqual([]);

    const trail = await t.db.select().from(auditLog).where(eq(auditLog.entityId, me.userId));
    expect(trail.length).toBeGreaterThan(1);
    expect(JSON.stringify(trail)).not.toContain('Бакыт');
    const login = await call('POST', '/api/v1/auth/login', undefined, {
      email: 'eraser@example.kg',
      password: PASSWORD,
    });
    expect(login.status).toBe(401);
    const fresh = await call('POST', '/api/v1/auth/register', undefined, {
      email: 'eraser@example.kg',
      password: 'another long password',
      full_name: 'Someone New',
    });
    expect(fresh.status).toBe(201);
    expect(fresh.body.user.id).not.toBe(me.userId);
    const restore = await call(
      'POST',
      `/api/v1/admin/users/${me.userId}/restore`,
      (await signedInUser(t, ['admin'])).auth,
    );
    expect(restore.status).toBe(404);
    const names = await t.database.sql.query(
      `select count(*)::int as n from audit_log where changes::text like '%Бакыт Ремонт%' and entity_id = '${me.providerId}'`,
    );
    expect(names.rows[0]).toEqual({ n: 0 });
  });
});

describe('confirming it is them', () => {
  let sequence = 0;
  /** Each sign-in from an address of its own: the per-IP limits are not what this is about. */
  const post = (url: string, payload: object, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url, payload, headers, remoteAddress: `10.91.${++sequence % 250}.1` });
  const uniquePhone = () => `+996772${String(++sequence).padStart(6, '0')}`;

  /** An account made by one-time code, with no password: it confirms with a fresh code. */
  async function phoneOnly() {
    const phone = uniquePhone();
    expect((await post('/api/v1/auth/otp/request', { phone })).statusCode).toBe(202);
    const signedUp = await post('/api/v1/auth/otp/verify', { phone, code: t.sms.lastCodeFor(phone) });
    expect(signedUp.statusCode).toBe(201);
    return {
      phone,
      userId: signedUp.json().user.id as string,
      auth: { authorization: `Bearer ${signedUp.json().access_token}` },
    };
  }

  /** A fresh code for the phone, as the app gets one: the last one is made old enough to ask again. */
  async function freshCode(phone: string) {
    await t.db
      .update(otpCodes)
      .set({ createdAt: sql`now() - interval '2 minutes'` })
      .where(eq(otpCodes.phoneHash, t.app.services.cipher.blindIndex(phone)));
    expect((await post('/api/v1/auth/otp/request', { phone })).statusCode).toBe(202);
    return t.sms.lastCodeFor(phone);
  }

  const standing = async (userId: string) =>
    (await t.db.select().from(users).where(eq(users.id, userId)))[0]!;

  const ACTIONS = [
    ['POST /me/close', '/api/v1/me/close', {}],
    ['POST /me/export', '/api/v1/me/export', {}],
    ['POST /me/erase', '/api/v1/me/erase', { confirm: 'ERASE' }],
  ] as const;

  it.each(ACTIONS)(
    '%s: a token alone is 401 reauthentication_required, no token 401, and nothing happens',
    async (_, url, body) => {
      const me = await signedInUser(t);
      const alone = await call('POST', url, me.auth, body);
      expect(alone.status).toBe(401);
      expect(alone.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(alone.body.code).toBe('reauthentication_required');
      expect(alone.body.detail).toContain('`password`');
      if (url === '/api/v1/me/close') {
        // The body may be left out altogether: still a missing confirmation, not a malformed request.
        const bare = await t.app.inject({ method: 'POST', url, headers: me.auth });
        expect(bare.json().code).toBe('reauthentication_required');
      }
      const stranger = await call('POST', url, undefined, { ...body, ...me.reauth });
      expect(stranger.status).toBe(401);
      expect(stranger.body.code).not.toBe('reauthentication_required');
      expect(await standing(me.user.id)).toMatchObject({ status: 'active', isDeleted: false });
    },
  );

  it.each(ACTIONS)(
    '%s: a wrong password is 403 wrong_password, counted as a wrong sign-in; nothing happens',
    async (_, url, body) => {
      const me = await signedInUser(t);
      const wrong = await call('POST', url, me.auth, { ...body, password: 'not the password' });
      expect(wrong.status).toBe(403);
      expect(wrong.body.code).toBe('wrong_password');
      const [counted] = await t.db
        .select()
        .from(signInThrottles)
        .where(eq(signInThrottles.subject, emailIndex(t.app.services.cipher, me.email)));
      expect(counted?.failures).toBe(1);
      expect(await standing(me.user.id)).toMatchObject({ status: 'active', isDeleted: false });
      // Both at once is a malformed request, whatever the two hold.
      const both = await call('POST', url, me.auth, { ...body, ...me.reauth, otp_code: '123456' });
      expect(both.status).toBe(400);
      expect(await standing(me.user.id)).toMatchObject({ status: 'active', isDeleted: false });
    },
  );

  it('a stolen token cannot guess the password: five wrong lock it, here and at sign-in, the right one too', async () => {
    const email = `guessed.${Date.now()}@example.kg`;
    const me = await providerAccount(email);
    for (let i = 0; i < 5; i++) {
      const guess = await call('POST', '/api/v1/me/export', me.auth, { password: `guess number ${i}` });
      expect(guess.status).toBe(403);
    }
    const right = await call('POST', '/api/v1/me/export', me.auth, { password: PASSWORD });
    expect(right.status).toBe(429);
    expect(right.body.code).toBe('login_throttled');
    // The first lock is a minute: the client is told to wait that long at most, and not 0.
    expect(Number(right.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(right.headers['retry-after'])).toBeLessThanOrEqual(60);
    const signIn = await post('/api/v1/auth/login', { email, password: PASSWORD });
    expect(signIn.statusCode).toBe(429);
    // The password kept its guesses from the other door too: PUT /me/password counts its wrong current one.
    const change = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/me/password',
      headers: me.auth,
      payload: { current_password: PASSWORD, new_password: 'a brand new password' },
    });
    expect(change.statusCode).toBe(429);
    // The owner hears of the lock, as of one at sign-in.
    const told = await queuedEvents<AccountEvent>(t.database, 'user_id', me.userId);
    expect(told.map((e) => e.type)).toContain('account_sign_in_throttled');
  });

  it('PUT /me/password counts a wrong current password as a wrong sign-in', async () => {
    const me = await signedInUser(t);
    for (let i = 0; i < 5; i++) {
      const wrong = await t.app.inject({
        method: 'PUT',
        url: '/api/v1/me/password',
        headers: me.auth,
        payload: { current_password: `guess ${i}`, new_password: 'a brand new password' },
      });
      expect(wrong.statusCode).toBe(422);
    }
    const closing = await call('POST', '/api/v1/me/close', me.auth, me.reauth);
    expect(closing.status).toBe(429);
    expect(await standing(me.user.id)).toMatchObject({ status: 'active' });
  });

  it('a phone-only account confirms with a fresh one-time code, once; a wrong or spent one is refused', async () => {
    const me = await phoneOnly();
    const alone = await call('POST', '/api/v1/me/export', me.auth, {});
    expect(alone.body.code).toBe('reauthentication_required');
    expect(alone.body.detail).toContain('`otp_code`');
    expect(alone.body.detail).not.toContain('`password`');
    // A password it does not have confirms nothing, and says what would.
    const password = await call('POST', '/api/v1/me/export', me.auth, { password: PASSWORD });
    expect(password.status).toBe(401);
    expect(password.body.code).toBe('reauthentication_required');
    // The code that signed it in is spent.
    const spent = await call('POST', '/api/v1/me/export', me.auth, { otp_code: '000000' });
    expect(spent.status).toBe(403);
    expect(spent.body.code).toBe('otp_invalid');

    const code = await freshCode(me.phone);
    const wrong = await call('POST', '/api/v1/me/export', me.auth, {
      otp_code: code === '111111' ? '222222' : '111111',
    });
    expect(wrong.status).toBe(403);
    expect(wrong.body.code).toBe('otp_wrong_code');
    const exported = await call('POST', '/api/v1/me/export', me.auth, { otp_code: code });
    expect(exported.status).toBe(200);
    expect(exported.body.users.account).toMatchObject({
      id: me.userId,
      phone: me.phone,
      has_password: false,
    });
    const again = await call('POST', '/api/v1/me/close', me.auth, { otp_code: code });
    expect(again.status).toBe(403);
    expect(again.body.code).toBe('otp_invalid');
    expect(await standing(me.userId)).toMatchObject({ status: 'active' });

    const closed = await call('POST', '/api/v1/me/close', me.auth, { otp_code: await freshCode(me.phone) });
    expect(closed.status).toBe(204);
    expect(await standing(me.userId)).toMatchObject({ status: 'deactivated' });
  });

  it('five wrong codes spend the code: the right one no longer works', async () => {
    const me = await phoneOnly();
    const code = await freshCode(me.phone);
    const other = code === '111111' ? '222222' : '111111';
    for (let i = 0; i < 4; i++) {
      expect(
        (await call('POST', '/api/v1/me/erase', me.auth, { confirm: 'ERASE', otp_code: other })).body.code,
      ).toBe('otp_wrong_code');
    }
    const last = await call('POST', '/api/v1/me/erase', me.auth, { confirm: 'ERASE', otp_code: other });
    expect(last.body.code).toBe('otp_attempts_exceeded');
    const right = await call('POST', '/api/v1/me/erase', me.auth, { confirm: 'ERASE', otp_code: code });
    expect(right.status).toBe(403);
    expect(await standing(me.userId)).toMatchObject({ isDeleted: false });
  });

  it('the old routes say where the action went, and do nothing, whatever they are sent', async () => {
    const me = await signedInUser(t);
    const closing = await t.app.inject({
      method: 'DELETE',
      url: '/api/v1/me',
      headers: me.auth,
      payload: me.reauth,
    });
    expect(closing.statusCode).toBe(401);
    expect(closing.json()).toMatchObject({ code: 'reauthentication_required' });
    expect(closing.json().detail).toContain('POST /api/v1/me/close');
    const exporting = await call('GET', '/api/v1/me/export', me.auth);
    expect(exporting.status).toBe(401);
    expect(exporting.body.code).toBe('reauthentication_required');
    expect(exporting.body.detail).toContain('POST /api/v1/me/export');
    expect(await standing(me.user.id)).toMatchObject({ status: 'active' });
    expect((await call('GET', '/api/v1/me/export')).body.code).not.toBe('reauthentication_required');
  });

  it('keeps no answer for an Idempotency-Key: the export and the password never reach the store', async () => {
    const me = await signedInUser(t);
    const keyed = { ...me.auth, 'idempotency-key': `export-${Date.now()}` };
    const first = await t.app.inject({
      method: 'POST',
      url: '/api/v1/me/export',
      headers: keyed,
      payload: me.reauth,
    });
    expect(first.statusCode).toBe(200);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const stored = await t.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.scope, me.user.id));
    expect(stored).toEqual([]);
  });
});
