import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInUser } from '../../../test/factories.ts';
import { createTestApp, type TestApp } from '../../../test/helper.ts';
import { caller } from '../../../test/http.ts';
import { auditLog } from '../../platform/audit/schema.ts';
import { seededCatalog } from '../core/catalog-fixtures.ts';
import { emailIndex } from './identifiers.ts';
import {
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

/** A person who signed up with email and password and became a provider with two services. */
async function providerAccount(email: string) {
  const signup = await call('POST', '/api/v1/auth/register', undefined, {
    email,
    password: 'correct horse battery',
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
      password: 'correct horse battery',
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

    expect((await call('DELETE', '/api/v1/me', me.auth)).status).toBe(204);
    expect((await call('GET', '/api/v1/me', me.auth)).status).toBe(401);
    const login = await call('POST', '/api/v1/auth/login', undefined, {
      email: 'closer@example.kg',
      password: 'correct horse battery',
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
      password: 'correct horse battery',
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

    const answer = await call('GET', '/api/v1/me/export', me.auth);
    expect(answer.status).toBe(200);
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
    expect((await call('GET', '/api/v1/me/export')).status).toBe(401);
  });
});

describe('erasure', () => {
  it('anonymizes for good, keeps the rows under the same id, and frees the email', async () => {
    const me = await providerAccount('eraser@example.kg');
    const wrong = { email: 'eraser@example.kg', password: 'not the password' };
    expect((await call('POST', '/api/v1/auth/login', undefined, wrong)).status).toBe(401);
    const throttled = () =>
      t.db
        .select()
        .from(signInThrottles)
        .where(eq(signInThrottles.subject, emailIndex(t.app.services.cipher, 'eraser@example.kg')));
    expect(await throttled()).toHaveLength(1);
    expect((await call('POST', '/api/v1/me/erase', me.auth, {})).status).toBe(400);
    expect((await call('POST', '/api/v1/me/erase', me.auth, { confirm: 'ERASE' })).status).toBe(204);

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
    // The failed sign-ins were keyed by the email's blind index: they go with it.
    expect(await throttled()).toEqual([]);
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
      password: 'correct horse battery',
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
