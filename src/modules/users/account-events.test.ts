import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInUser } from '../../../test/factories.ts';
import { createTestApp, queuedEvents, type TestApp } from '../../../test/helper.ts';
import { caller } from '../../../test/http.ts';
import type { AccountEvent } from './events.ts';

/**
 * Closing, erasing and blocking an account each tell every subscriber once, with the change, and the end of
 * each session it had.
 */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const call = caller(() => t);
const eventsOf = (userId: string) => queuedEvents<AccountEvent>(t.database, 'user_id', userId);

const told = (type: AccountEvent['type'], userId: string) => [
  { id: expect.any(String), type, user_id: userId, at: expect.any(String) },
];
/** The account's one session ended, and why. */
const ended = (who: { token: string; user: { id: string } }, reason: string) => ({
  id: expect.any(String),
  type: 'session_ended',
  user_id: who.user.id,
  session_id: t.app.services.signer.verify(who.token).sessionId,
  reason,
  at: expect.any(String),
});

describe('account events', () => {
  it('POST /me/close: account_closed; refused without the password, nothing', async () => {
    const me = await signedInUser(t);
    expect((await call('POST', '/api/v1/me/close', me.auth)).status).toBe(401);
    expect(await eventsOf(me.user.id)).toEqual([]);
    expect((await call('POST', '/api/v1/me/close', me.auth, me.reauth)).status).toBe(204);
    expect(await eventsOf(me.user.id)).toEqual([
      ...told('account_closed', me.user.id),
      ended(me, 'signed_out_everywhere'),
    ]);
  });

  it('POST /me/erase: account_erased; refused without the confirmation, nothing', async () => {
    const me = await signedInUser(t);
    expect((await call('POST', '/api/v1/me/erase', me.auth, me.reauth)).status).toBe(400);
    expect((await call('POST', '/api/v1/me/erase', me.auth, { confirm: 'ERASE' })).status).toBe(401);
    expect(await eventsOf(me.user.id)).toEqual([]);
    expect((await call('POST', '/api/v1/me/erase', me.auth, { confirm: 'ERASE', ...me.reauth })).status).toBe(
      204,
    );
    expect(await eventsOf(me.user.id)).toEqual([
      ...told('account_erased', me.user.id),
      ended(me, 'signed_out_everywhere'),
    ]);
  });

  it('staff block: account_blocked once; blocking again and unblocking tell nothing', async () => {
    const admin = await signedInUser(t, ['admin']);
    const target = await signedInUser(t);
    const block = () => call('POST', `/api/v1/admin/users/${target.user.id}/block`, admin.auth);
    expect((await block()).status).toBe(200);
    expect((await block()).status).toBe(200);
    const unblock = await call('POST', `/api/v1/admin/users/${target.user.id}/unblock`, admin.auth);
    expect(unblock.status).toBe(200);
    expect(await eventsOf(target.user.id)).toEqual([
      ...told('account_blocked', target.user.id),
      ended(target, 'account_blocked'),
    ]);
  });

  it('a block refused (one’s own account) tells nothing', async () => {
    const admin = await signedInUser(t, ['admin']);
    const own = await call('POST', `/api/v1/admin/users/${admin.user.id}/block`, admin.auth);
    expect(own.status).toBe(403);
    expect(await eventsOf(admin.user.id)).toEqual([]);
  });
});
