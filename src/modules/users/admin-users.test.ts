import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInUser } from '../../../test/factories.ts';
import { createTestApp, type TestApp } from '../../../test/helper.ts';
import { caller } from '../../../test/http.ts';
import { auditLog } from '../../platform/audit/schema.ts';
import { users } from './schema.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const call = caller(() => t);

/** The audit rows of an account, oldest first: who did what, and which fields changed how. */
async function auditOf(userId: string) {
  const rows = await t.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.entity, 'users'), eq(auditLog.entityId, userId)))
    .orderBy(auditLog.id);
  return rows.map((r) => ({ actorId: r.actorId, action: r.action, changes: r.changes }));
}

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
    expect(next.status).toBe(200);
    // The next page goes on where the first ended: together they are the start of the whole list.
    const ids = (answer: { body: { data: { id: string }[] } }) => answer.body.data.map((u) => u.id);
    const whole = await call('GET', '/api/v1/admin/users?limit=100', moderator.auth);
    expect(ids(next).length).toBeGreaterThan(0);
    expect([...ids(page), ...ids(next)]).toEqual(ids(whole).slice(0, 2 + ids(next).length));

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
    expect([refused.status, refused.body.code]).toEqual([403, 'forbidden']);
    const [unchanged] = await t.db.select().from(users).where(eq(users.id, target.id));
    expect(unchanged?.roles).toEqual(['client']);
    const created = await auditOf(target.id);
    expect(created.map((a) => a.action)).toEqual(['create']);

    const admin = await signedInUser(t, ['admin']);
    const granted = await call('PUT', `/api/v1/admin/users/${target.id}/roles`, admin.auth, {
      roles: ['client', 'moderator'],
    });
    expect(granted.status).toBe(200);
    expect(granted.body.roles).toEqual(['client', 'moderator']);
    expect((await auditOf(target.id)).slice(1)).toEqual([
      {
        actorId: admin.user.id,
        action: 'update',
        changes: expect.objectContaining({ roles: { before: ['client'], after: ['client', 'moderator'] } }),
      },
    ]);
    expect((await call('GET', '/api/v1/me', target.auth)).status).toBe(200);

    const taken = await call('PUT', `/api/v1/admin/users/${target.id}/roles`, admin.auth, {
      roles: ['client'],
    });
    expect(taken.status).toBe(200);
    const afterwards = await call('GET', '/api/v1/me', target.auth);
    expect(afterwards.status).toBe(401);
    expect(afterwards.body.code).toBe('session_revoked');
    expect((await auditOf(target.id)).slice(2)).toEqual([
      {
        actorId: admin.user.id,
        action: 'update',
        changes: expect.objectContaining({ roles: { before: ['client', 'moderator'], after: ['client'] } }),
      },
    ]);

    const bad = await call('PUT', `/api/v1/admin/users/${target.id}/roles`, admin.auth, {
      roles: ['superuser'],
    });
    expect([bad.status, bad.body.code]).toEqual([400, 'validation_failed']);
    const self = await call('PUT', `/api/v1/admin/users/${admin.user.id}/roles`, admin.auth, {
      roles: ['client'],
    });
    expect(self.status).toBe(403);
    expect(self.body.code).toBe('own_case');
    // Refused changes leave no trace but the three above.
    expect(await auditOf(target.id)).toHaveLength(3);
    expect(await auditOf(admin.user.id)).toEqual([]);
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
    expect(await auditOf(admin.user.id)).toEqual([]);

    const blocked = await call('POST', `/api/v1/admin/users/${moderator.user.id}/block`, admin.auth);
    expect(blocked.status).toBe(200);
    expect(blocked.body.status).toBe('blocked');
    const signedOut = await call('GET', '/api/v1/me', moderator.auth);
    expect([signedOut.status, signedOut.body.code]).toEqual([401, 'session_revoked']);
    expect(await auditOf(moderator.user.id)).toEqual([
      {
        actorId: admin.user.id,
        action: 'update',
        changes: expect.objectContaining({ status: { before: 'active', after: 'blocked' } }),
      },
    ]);
  });
});
