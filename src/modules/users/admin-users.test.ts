import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInUser } from '../../../test/factories.ts';
import { createTestApp, type TestApp } from '../../../test/helper.ts';
import { caller } from '../../../test/http.ts';
import { users } from './schema.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const call = caller(() => t);

async function register(email: string, fullName: string) {
  const answer = await call('POST', '/api/v1/auth/register', undefined, {
    email,
    password: 'correct horse battery',
    full_name: fullName,
  });
  expect(answer.status).toBe(201);
  return { id: answer.body.user.id as string, auth: { authorization: `Bearer ${answer.body.access_token}` } };
}

describe('staff find accounts', () => {
  it('by exact email or phone (stored encrypted), part of the name, role and status', async () => {
    const aida = await register('aida.search@example.kg', 'Аида Маматова');
    await register('bolot.search@example.kg', 'Болот Исаев');
    await call('POST', '/api/v1/auth/otp/request', undefined, { phone: '+996555987654' });
    const verified = await call('POST', '/api/v1/auth/otp/verify', undefined, {
      phone: '+996555987654',
      code: t.sms.lastCodeFor('+996555987654'),
      full_name: 'Телефон Пользователь',
    });
    const moderator = await signedInUser(t, ['moderator']);

    const byEmail = await call('GET', '/api/v1/admin/users?email=AIDA.search@example.kg', moderator.auth);
    expect(byEmail.status).toBe(200);
    expect(byEmail.body.data.map((u: { id: string }) => u.id)).toEqual([aida.id]);
    expect(byEmail.body.data[0]).toMatchObject({ email: 'aida.search@example.kg', is_deleted: false });

    const byPhone = await call(
      'GET',
      `/api/v1/admin/users?phone=${encodeURIComponent('+996555987654')}`,
      moderator.auth,
    );
    expect(byPhone.body.data.map((u: { id: string }) => u.id)).toEqual([verified.body.user.id]);

    const byName = await call('GET', `/api/v1/admin/users?q=${encodeURIComponent('мамат')}`, moderator.auth);
    expect(byName.body.data.map((u: { id: string }) => u.id)).toEqual([aida.id]);
    const wildcard = await call('GET', `/api/v1/admin/users?q=${encodeURIComponent('%')}`, moderator.auth);
    expect(wildcard.body.data).toEqual([]);

    const staff = await call('GET', '/api/v1/admin/users?role=moderator', moderator.auth);
    expect(staff.body.data.map((u: { id: string }) => u.id)).toEqual([moderator.user.id]);

    const page = await call('GET', '/api/v1/admin/users?limit=2', moderator.auth);
    expect(page.body.data).toHaveLength(2);
    const next = await call(
      'GET',
      `/api/v1/admin/users?limit=2&cursor=${page.body.next_cursor}`,
      moderator.auth,
    );
    expect(next.body.data[0].id).not.toBe(page.body.data[1].id);

    const one = await call('GET', `/api/v1/admin/users/${aida.id}`, moderator.auth);
    expect(one.body).toMatchObject({ id: aida.id, full_name: 'Аида Маматова', status: 'active' });
    expect(
      (await call('GET', '/api/v1/admin/users/01930000-0000-7000-8000-000000000000', moderator.auth)).status,
    ).toBe(404);
  });

  it('is staff only', async () => {
    const client = await signedInUser(t);
    for (const url of ['/api/v1/admin/users', `/api/v1/admin/users/${client.user.id}`]) {
      const answer = await call('GET', url, client.auth);
      expect(answer.status).toBe(403);
      expect(answer.body.code).toBe('forbidden');
    }
    expect((await call('GET', '/api/v1/admin/users')).status).toBe(401);
  });
});

describe('roles', () => {
  it('only admins change roles; taking one away ends the account’s sessions', async () => {
    const target = await register('roles.target@example.kg', 'Роль Цель');
    const moderator = await signedInUser(t, ['moderator']);
    const refused = await call('PUT', `/api/v1/admin/users/${target.id}/roles`, moderator.auth, {
      roles: ['admin'],
    });
    expect(refused.status).toBe(403);
    const [unchanged] = await t.db.select().from(users).where(eq(users.id, target.id));
    expect(unchanged?.roles).toEqual(['client']);

    const admin = await signedInUser(t, ['admin']);
    const granted = await call('PUT', `/api/v1/admin/users/${target.id}/roles`, admin.auth, {
      roles: ['client', 'moderator'],
    });
    expect(granted.status).toBe(200);
    expect(granted.body.roles).toEqual(['client', 'moderator']);
    expect((await call('GET', '/api/v1/me', target.auth)).status).toBe(200);

    const taken = await call('PUT', `/api/v1/admin/users/${target.id}/roles`, admin.auth, {
      roles: ['client'],
    });
    expect(taken.status).toBe(200);
    const afterwards = await call('GET', '/api/v1/me', target.auth);
    expect(afterwards.status).toBe(401);
    expect(afterwards.body.code).toBe('session_revoked');

    const bad = await call('PUT', `/api/v1/admin/users/${target.id}/roles`, admin.auth, {
      roles: ['superuser'],
    });
    expect(bad.status).toBe(400);
    const self = await call('PUT', `/api/v1/admin/users/${admin.user.id}/roles`, admin.auth, {
      roles: ['client'],
    });
    expect(self.status).toBe(403);
    expect(self.body.code).toBe('own_case');
  });
});

describe('blocking staff', () => {
  it('a moderator cannot block an admin; an admin can block a moderator', async () => {
    const moderator = await signedInUser(t, ['moderator']);
    const admin = await signedInUser(t, ['admin']);
    const refused = await call('POST', `/api/v1/admin/users/${admin.user.id}/block`, moderator.auth);
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('staff_account_admin_only');
    expect((await call('GET', '/api/v1/me', admin.auth)).status).toBe(200);

    const blocked = await call('POST', `/api/v1/admin/users/${moderator.user.id}/block`, admin.auth);
    expect(blocked.status).toBe(200);
    expect(blocked.body.status).toBe('blocked');
    expect((await call('GET', '/api/v1/me', moderator.auth)).status).toBe(401);
  });
});
