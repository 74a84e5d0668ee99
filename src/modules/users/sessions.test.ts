import { and, eq, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, queuedEvents, type TestApp, testConfig } from '../../../test/helper.ts';
import { idempotencyKeys } from '../../platform/idempotency/schema.ts';
import type { AccountEvent } from './events.ts';
import { refreshTokens, userSessions } from './schema.ts';

/** Refresh-token rotation and reuse detection, and the list of signed-in devices. */
let t: TestApp;

beforeAll(async () => {
  t = await createTestApp({ config: testConfig({ AUTH_RATE_LIMIT_PER_MINUTE: '1000' }) });
});
afterAll(() => t.close());

let sequence = 0;
const uniqueEmail = () => `device.${++sequence}.${Date.now()}@example.kg`;
const PASSWORD = 'correct horse battery';

type TokenBody = { access_token: string; refresh_token: string; user: { id: string } };
type ProblemBody = { code: string };
type SessionBody = { id: string; device_name: string | null; user_agent: string | null; current: boolean };
type SessionPage = { data: SessionBody[]; next_cursor: string | null };

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const me = (token: string) => t.app.inject({ url: '/api/v1/me', headers: bearer(token) });
const refresh = (refresh_token: string) =>
  t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refresh_token } });

async function account() {
  const email = uniqueEmail();
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/auth/register',
    payload: { email, password: PASSWORD, full_name: 'Бакыт Асанов', device_name: 'Phone 1' },
  });
  expect(res.statusCode).toBe(201);
  return { email, ...res.json<TokenBody>() };
}

async function anotherDevice(email: string, device_name: string) {
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    headers: { 'user-agent': `KG/1.0 (${device_name})` },
    payload: { email, password: PASSWORD, device_name },
  });
  expect(res.statusCode).toBe(200);
  return res.json<TokenBody>();
}

async function sessionRow(accessToken: string) {
  const { sessionId } = t.app.services.signer.verify(accessToken);
  const [row] = await t.db.select().from(userSessions).where(eq(userSessions.id, sessionId));
  return row!;
}

describe('POST /auth/refresh', () => {
  it('gives a new pair in the same session and keeps only the newest refresh token live, hashed', async () => {
    const first = await account();
    const res = await refresh(first.refresh_token);
    expect(res.statusCode).toBe(200);
    const second = res.json<TokenBody>();
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.user.id).toBe(first.user.id);
    expect((await me(second.access_token)).statusCode).toBe(200);
    // Same session, one rotated token and one live one.
    expect((await sessionRow(second.access_token)).id).toBe((await sessionRow(first.access_token)).id);
    const tokens = await t.db
      .select()
      .from(refreshTokens)
      .where(eq(refreshTokens.sessionId, (await sessionRow(first.access_token)).id));
    expect(tokens.filter((r) => r.rotatedAt === null)).toHaveLength(1);
    expect(tokens.map((r) => r.tokenHash)).not.toContain(second.refresh_token);
  });

  it('treats reuse of a rotated token as theft: 401 refresh_token_reused and the whole session ends', async () => {
    const first = await account();
    const second = (await refresh(first.refresh_token)).json<TokenBody>();
    expect((await me(second.access_token)).statusCode).toBe(200);

    const reused = await refresh(first.refresh_token);
    expect(reused.statusCode).toBe(401);
    expect(reused.headers['content-type']).toContain('application/problem+json');
    expect(reused.json<ProblemBody>().code).toBe('refresh_token_reused');

    const newest = await refresh(second.refresh_token);
    expect(newest.statusCode).toBe(401);
    const meRes = await me(second.access_token);
    expect(meRes.statusCode).toBe(401);
    expect(meRes.json<ProblemBody>().code).toBe('session_revoked');
    const session = await sessionRow(second.access_token);
    expect(session.revokedReason).toBe('refresh_token_reused');
  });

  it('does not replay a refresh for a repeated Idempotency-Key: the second use is a reuse', async () => {
    const first = await account();
    const headers = { 'idempotency-key': `refresh-${first.user.id}` };
    const payload = { refresh_token: first.refresh_token };
    const once = await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', headers, payload });
    expect(once.statusCode).toBe(200);
    const twice = await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', headers, payload });
    expect(twice.statusCode).toBe(401);
    expect(twice.json<ProblemBody>().code).toBe('refresh_token_reused');
    const kept = await t.db
      .select()
      .from(idempotencyKeys)
      .where(eq(idempotencyKeys.key, headers['idempotency-key']));
    expect(kept).toHaveLength(0);
  });

  it('refuses a token it never gave out, and answers 400 to an empty one', async () => {
    const garbage = await refresh('this-is-not-a-refresh-token');
    expect(garbage.statusCode).toBe(401);
    expect(garbage.json<ProblemBody>().code).toBe('invalid_refresh_token');
    const empty = await refresh('');
    expect(empty.statusCode).toBe(400);
  });

  it('refuses an expired refresh token', async () => {
    const first = await account();
    const session = await sessionRow(first.access_token);
    await t.db
      .update(refreshTokens)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(refreshTokens.sessionId, session.id));
    const res = await refresh(first.refresh_token);
    expect(res.statusCode).toBe(401);
    expect(res.json<ProblemBody>().code).toBe('session_expired');
  });
});

describe('sessions', () => {
  const list = (token: string, query = '') =>
    t.app.inject({ url: `/api/v1/auth/sessions${query}`, headers: bearer(token) });

  it("lists the account's live sessions, newest first, page by page, marking the current one", async () => {
    const phone = await account();
    const laptop = await anotherDevice(phone.email, 'Laptop');
    const tablet = await anotherDevice(phone.email, 'Tablet');
    // A session that has ended is not listed.
    const gone = await anotherDevice(phone.email, 'Old phone');
    await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: bearer(gone.access_token) });
    // Someone else's sessions are not listed either.
    await account();

    const first = await list(laptop.access_token, '?limit=2');
    expect(first.statusCode).toBe(200);
    const page1 = first.json<SessionPage>();
    expect(page1.data.map((s) => s.device_name)).toEqual(['Tablet', 'Laptop']);
    expect(page1.data.map((s) => s.current)).toEqual([false, true]);
    expect(page1.data[1]!.user_agent).toBe('KG/1.0 (Laptop)');
    expect(page1.next_cursor).toEqual(expect.any(String));

    const page2 = (
      await list(laptop.access_token, `?limit=2&cursor=${page1.next_cursor}`)
    ).json<SessionPage>();
    expect(page2.data.map((s) => s.device_name)).toEqual(['Phone 1']);
    expect(page2.next_cursor).toBeNull();

    const all = (await list(tablet.access_token)).json<SessionPage>();
    expect(all.data).toHaveLength(3);
    expect(all.data.filter((s) => s.current).map((s) => s.device_name)).toEqual(['Tablet']);

    expect((await list(laptop.access_token, '?cursor=bogus')).statusCode).toBe(400);
    expect((await list(laptop.access_token, '?limit=1000')).statusCode).toBe(400);
    expect((await t.app.inject({ url: '/api/v1/auth/sessions' })).statusCode).toBe(401);
  });

  it('signs out another device: its tokens stop working, this one keeps going', async () => {
    const phone = await account();
    const laptop = await anotherDevice(phone.email, 'Laptop');
    const laptopSession = await sessionRow(laptop.access_token);
    expect((await me(laptop.access_token)).statusCode).toBe(200);

    const res = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/auth/sessions/${laptopSession.id}`,
      headers: bearer(phone.access_token),
    });
    expect(res.statusCode).toBe(204);
    const meRes = await me(laptop.access_token);
    expect(meRes.statusCode).toBe(401);
    expect(meRes.json<ProblemBody>().code).toBe('session_revoked');
    expect((await refresh(laptop.refresh_token)).statusCode).toBe(401);
    expect((await me(phone.access_token)).statusCode).toBe(200);
    expect((await sessionRow(laptop.access_token)).revokedReason).toBe('signed_out');
  });

  it("answers 404 for someone else's session and leaves it alone", async () => {
    const mine = await account();
    const theirs = await account();
    const theirSession = await sessionRow(theirs.access_token);
    const res = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/auth/sessions/${theirSession.id}`,
      headers: bearer(mine.access_token),
    });
    expect(res.statusCode).toBe(404);
    expect(res.json<ProblemBody>().code).toBe('session_not_found');
    expect((await sessionRow(theirs.access_token)).revokedAt).toBeNull();
    expect((await me(theirs.access_token)).statusCode).toBe(200);
    expect((await refresh(theirs.refresh_token)).statusCode).toBe(200);
  });

  it('an ended session is refused at once though it was cached live; a public route still answers it, as a bad token', async () => {
    const phone = await account();
    // Answered from the session cache from here on, without asking the database.
    expect((await me(phone.access_token)).statusCode).toBe(200);
    expect((await me(phone.access_token)).statusCode).toBe(200);
    await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: bearer(phone.access_token) });

    const refused = await me(phone.access_token);
    expect(refused.statusCode).toBe(401);
    expect(refused.json<ProblemBody>().code).toBe('session_revoked');
    for (const authorization of [`Bearer ${phone.access_token}`, 'Bearer not-a-token', 'Basic abc']) {
      const res = await t.app.inject({ url: '/api/v1/categories', headers: { authorization } });
      expect(res.statusCode, authorization).toBe(200);
    }
  });

  it('logs out this device only', async () => {
    const phone = await account();
    const laptop = await anotherDevice(phone.email, 'Laptop');
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: bearer(phone.access_token),
    });
    expect(res.statusCode).toBe(204);
    expect((await me(phone.access_token)).statusCode).toBe(401);
    expect((await refresh(phone.refresh_token)).statusCode).toBe(401);
    expect((await me(laptop.access_token)).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout' })).statusCode).toBe(401);
  });

  it('logs out everywhere, this device included', async () => {
    const phone = await account();
    const laptop = await anotherDevice(phone.email, 'Laptop');
    const other = await account();
    const res = await t.app.inject({
      method: 'DELETE',
      url: '/api/v1/auth/sessions',
      headers: bearer(laptop.access_token),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ revoked: 2 });
    for (const tokens of [phone, laptop]) {
      expect((await me(tokens.access_token)).statusCode).toBe(401);
      expect((await refresh(tokens.refresh_token)).statusCode).toBe(401);
    }
    const live = await t.db
      .select()
      .from(userSessions)
      .where(and(eq(userSessions.userId, phone.user.id), isNull(userSessions.revokedAt)));
    expect(live).toHaveLength(0);
    expect((await me(other.access_token)).statusCode).toBe(200);
  });

  it('ends every session of an account when another module asks', async () => {
    const phone = await account();
    const laptop = await anotherDevice(phone.email, 'Laptop');
    const bystander = await account();
    expect(await t.app.services.accounts.endSessionsOf(phone.user.id, 'roles_changed')).toBe(2);
    for (const tokens of [phone, laptop]) expect((await me(tokens.access_token)).statusCode).toBe(401);
    expect((await sessionRow(laptop.access_token)).revokedReason).toBe('roles_changed');
    expect((await me(bystander.access_token)).statusCode).toBe(200);
  });
});

describe('session_ended', () => {
  /** What was told of the account's ended sessions: session and why, in the order they ended. */
  const endedOf = async (userId: string) =>
    (await queuedEvents<AccountEvent>(t.database, 'user_id', userId))
      .filter((e) => e.type === 'session_ended')
      .map((e) => ({ session_id: e.session_id, reason: e.reason }));
  const sessionOf = (tokens: TokenBody) => t.app.services.signer.verify(tokens.access_token).sessionId;

  it('tells each ended session once with why, whatever ended it, and not the sessions that go on', async () => {
    const phone = await account();
    const laptop = await anotherDevice(phone.email, 'Laptop');
    const tablet = await anotherDevice(phone.email, 'Tablet');
    const watch = await anotherDevice(phone.email, 'Watch');
    const tv = await anotherDevice(phone.email, 'TV');
    const changed = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/me/password',
      headers: bearer(phone.access_token),
      payload: { current_password: PASSWORD, new_password: 'another horse battery' },
    });
    expect(changed.statusCode).toBe(204);
    expect(await endedOf(phone.user.id)).toEqual(
      [laptop, tablet, watch, tv].map((s) => ({ session_id: sessionOf(s), reason: 'password_changed' })),
    );
    // The refresh token of an ended session used again ends nothing more.
    expect((await refresh(laptop.refresh_token)).statusCode).toBe(401);
    expect(await endedOf(phone.user.id)).toHaveLength(4);

    const other = await account();
    const second = await anotherDevice(other.email, 'Laptop');
    const third = await anotherDevice(other.email, 'Tablet');
    const fourth = await anotherDevice(other.email, 'Watch');
    const rotated = (await refresh(second.refresh_token)).json<TokenBody>();
    expect((await refresh(second.refresh_token)).statusCode).toBe(401);
    const revoked = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/auth/sessions/${sessionOf(third)}`,
      headers: bearer(other.access_token),
    });
    expect(revoked.statusCode).toBe(204);
    await t.db
      .update(userSessions)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(userSessions.id, sessionOf(fourth)));
    expect(await t.app.services.accounts.endExpiredSessions()).toBeGreaterThanOrEqual(1);
    expect(await t.app.services.accounts.endExpiredSessions()).toBe(0);
    const out = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: bearer(other.access_token),
    });
    expect(out.statusCode).toBe(204);
    expect(await endedOf(other.user.id)).toEqual([
      { session_id: sessionOf(rotated), reason: 'refresh_token_reused' },
      { session_id: sessionOf(third), reason: 'signed_out' },
      { session_id: sessionOf(fourth), reason: 'expired' },
      { session_id: sessionOf(other), reason: 'signed_out' },
    ]);
    expect((await me(rotated.access_token)).statusCode).toBe(401);
  });
});
