/**
 * Staff never decide their own cases (platform/own-case.ts), in every module: each staff action taken by a
 * moderator on their own case is 403 `own_case` problem+json and leaves the rows and the audit trail as
 * they were; the same action on someone else's case, or by another staff member, still works; what only an
 * admin may do is 403 to a moderator.
 */
import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderDisputes, orderReviews } from '../src/modules/orders/schema.ts';
import { users, userVerifications } from '../src/modules/users/schema.ts';
import { auditLog } from '../src/platform/audit/schema.ts';
import { createTestApp, type TestApp } from './helper.ts';
import type { Answer } from './http.ts';
import { type Client, orderFixtures, type Provider, type SignedIn } from './order-fixtures.ts';

let t: TestApp;
const { call, user, client, provider, orderIn, insertAgreedOrder, snapshot } = orderFixtures(() => t);

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const userRow = async (id: string) => (await t.db.select().from(users).where(eq(users.id, id)))[0];
const reviewRow = async (id: string) =>
  (await t.db.select().from(orderReviews).where(eq(orderReviews.id, id)))[0];
const disputeRow = async (id: string) =>
  (await t.db.select().from(orderDisputes).where(eq(orderDisputes.id, id)))[0];

/**
 * `act` is answered 403 `code` in problem+json, and `watched` and the whole audit trail are as they were
 * before it. The answer, for its detail.
 */
async function expectRefused(act: () => Promise<Answer>, code: string, watched: () => Promise<unknown>) {
  const state = async () => {
    const [audit] = await t.db.select({ n: count() }).from(auditLog);
    return JSON.stringify({ audit: audit?.n, rows: await watched() });
  };
  const before = await state();
  const answer = await act();
  expect(answer.status, JSON.stringify(answer.body)).toBe(403);
  expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(answer.body.code).toBe(code);
  expect(await state()).toBe(before);
  return answer;
}

const expectOk = async (answer: Promise<Answer>, status = 200) => {
  const got = await answer;
  expect(got.status, JSON.stringify(got.body)).toBe(status);
  return got;
};

const moderatorClient = (name: string) => client(name, ['client', 'moderator']);
const moderatorProvider = (name: string) => provider(name, { roles: ['moderator'] });

describe('reviews', () => {
  it('staff neither remove nor restore a review they wrote or one about them; another moderator does', async () => {
    const c = await client('Клиент с отзывом');
    const m = await moderatorProvider('Мастер-модератор');
    const orderId = await insertAgreedOrder(c, m);
    const about = await expectOk(
      call('POST', `/api/v1/orders/${orderId}/reviews`, c.auth, { rating: 1 }),
      201,
    );
    const by = await expectOk(call('POST', `/api/v1/orders/${orderId}/reviews`, m.auth, { rating: 5 }), 201);
    const other = await user(['moderator']);
    const rating = async () => (await call('GET', `/api/v1/providers/${m.providerId}`)).body.review_count;

    for (const { id } of [about.body, by.body]) {
      const watched = async () => [await reviewRow(id), await rating()];
      await expectRefused(() => call('DELETE', `/api/v1/admin/reviews/${id}`, m.auth), 'own_case', watched);
      await expectOk(call('DELETE', `/api/v1/admin/reviews/${id}`, other.auth), 204);
      expect((await reviewRow(id))?.isDeleted).toBe(true);
      await expectRefused(
        () => call('POST', `/api/v1/admin/reviews/${id}/restore`, m.auth),
        'own_case',
        watched,
      );
      await expectOk(call('POST', `/api/v1/admin/reviews/${id}/restore`, other.auth));
      expect((await reviewRow(id))?.isDeleted).toBe(false);
    }
    expect(await rating()).toBe(1);
  });
});

describe('disputes', () => {
  it.each(['client', 'assigned provider'] as const)(
    'staff who are the %s of the order neither take up, rule on nor close its dispute; another moderator does',
    async (side) => {
      const c = side === 'client' ? await moderatorClient('Клиент-модератор') : await client();
      const p = side === 'client' ? await provider() : await moderatorProvider('Мастер-модератор');
      const m: SignedIn = side === 'client' ? c : p;
      const orderId = await orderIn(c, 'in_progress', p);
      const opened = await expectOk(
        call('POST', `/api/v1/orders/${orderId}/disputes`, c.auth, {
          dispute_type: 'quality_issue',
          description: 'Кран снова течёт на следующий день',
        }),
        201,
      );
      const id = opened.body.id as string;
      const watched = async () => [await disputeRow(id), await snapshot(orderId)];
      const ruling = { resolution: 'В пользу клиента', outcome: 'cancelled', refund: true };
      for (const [action, payload] of [
        ['review', undefined],
        ['resolve', ruling],
        ['close', { resolution: 'Закрыто' }],
      ] as const) {
        await expectRefused(
          () => call('POST', `/api/v1/admin/disputes/${id}/${action}`, m.auth, payload),
          'own_case',
          watched,
        );
      }
      const other = await user(['moderator']);
      await expectOk(call('POST', `/api/v1/admin/disputes/${id}/review`, other.auth));
      await expectOk(call('POST', `/api/v1/admin/disputes/${id}/resolve`, other.auth, ruling));
      expect(await disputeRow(id)).toMatchObject({ status: 'resolved', handledBy: other.user.id });
    },
  );
});

describe('verifications', () => {
  it('a moderator decides neither way on their own request; another moderator does', async () => {
    const m = await user(['moderator']);
    const submitted = await expectOk(
      call('POST', '/api/v1/me/verifications', m.auth, { verification_type: 'email' }),
      201,
    );
    const id = submitted.body.id as string;
    const watched = async () =>
      (await t.db.select().from(userVerifications).where(eq(userVerifications.id, id)))[0];
    for (const action of ['approve', 'reject']) {
      await expectRefused(
        () => call('POST', `/api/v1/admin/verifications/${id}/${action}`, m.auth, {}),
        'own_case',
        watched,
      );
    }
    const other = await user(['moderator']);
    await expectOk(call('POST', `/api/v1/admin/verifications/${id}/approve`, other.auth, {}));
    expect(await watched()).toMatchObject({ status: 'approved', reviewedBy: other.user.id });
  });
});

/** A moderator and someone they have dealings with, and the tie the refusal names. */
type Dealings = () => Promise<{ m: SignedIn; other: Client | Provider }>;

const DEALINGS: [string, string, Dealings][] = [
  [
    'a provider who bid on the moderator’s order',
    'an order',
    async () => {
      const m = await moderatorClient('Модератор-заказчик');
      const p = await provider('Мастер на заказе модератора');
      await orderIn(m, 'bidding', p);
      return { m, other: p };
    },
  ],
  [
    'the client of an order the moderator bid on',
    'an order',
    async () => {
      const m = await moderatorProvider('Модератор-мастер');
      const c = await client('Клиент модератора');
      await orderIn(c, 'bidding', m);
      return { m, other: c };
    },
  ],
  [
    'a provider who bid on an order the moderator has since deleted',
    'an order',
    async () => {
      const m = await moderatorClient('Модератор удалил заказ');
      const p = await provider('Мастер удалённого заказа');
      const orderId = await orderIn(m, 'bidding', p);
      await expectOk(call('DELETE', `/api/v1/orders/${orderId}`, m.auth));
      return { m, other: p };
    },
  ],
  [
    'a provider the moderator reviewed',
    'a review',
    async () => {
      const m = await moderatorClient('Модератор с отзывом');
      const p = await provider('Мастер с отзывом');
      const orderId = await insertAgreedOrder(m, p);
      await expectOk(call('POST', `/api/v1/orders/${orderId}/reviews`, m.auth, { rating: 2 }), 201);
      return { m, other: p };
    },
  ],
  [
    'a provider with an open dispute with the moderator',
    'an open dispute',
    async () => {
      const m = await moderatorClient('Модератор в споре');
      const p = await provider('Мастер в споре');
      const orderId = await orderIn(m, 'in_progress', p);
      await expectOk(
        call('POST', `/api/v1/orders/${orderId}/disputes`, p.auth, {
          dispute_type: 'payment_dispute',
          description: 'Клиент не заплатил за работу',
        }),
        201,
      );
      return { m, other: p };
    },
  ],
];

describe('blocking and unblocking', () => {
  it.each(DEALINGS)(
    'a moderator blocks and unblocks neither %s (%s); another moderator does',
    async (_, tie, deal) => {
      const { m, other } = await deal();
      const colleague = await user(['moderator']);
      const watched = () => userRow(other.user.id);
      const url = (action: string) => `/api/v1/admin/users/${other.user.id}/${action}`;

      const refused = await expectRefused(() => call('POST', url('block'), m.auth), 'own_case', watched);
      expect(refused.body.detail).toContain(tie);
      await expectOk(call('POST', url('block'), colleague.auth));
      expect((await userRow(other.user.id))?.status).toBe('blocked');
      await expectRefused(() => call('POST', url('unblock'), m.auth), 'own_case', watched);
      await expectOk(call('POST', url('unblock'), colleague.auth));
      expect((await userRow(other.user.id))?.status).toBe('active');
    },
  );

  it('a moderator blocks and unblocks anyone they have no dealings with, but never themselves', async () => {
    const { m } = await DEALINGS[0]![2]();
    const stranger = await client('Незнакомец');
    await expectOk(call('POST', `/api/v1/admin/users/${stranger.user.id}/block`, m.auth));
    await expectOk(call('POST', `/api/v1/admin/users/${stranger.user.id}/unblock`, m.auth));
    for (const action of ['block', 'unblock']) {
      await expectRefused(
        () => call('POST', `/api/v1/admin/users/${m.user.id}/${action}`, m.auth),
        'own_case',
        () => userRow(m.user.id),
      );
    }
  });

  it('only an admin blocks or unblocks a staff account', async () => {
    const m = await user(['moderator']);
    const admin = await user(['admin']);
    for (const target of [await user(['moderator']), await user(['finance']), await user(['admin'])]) {
      const url = (action: string) => `/api/v1/admin/users/${target.user.id}/${action}`;
      const watched = () => userRow(target.user.id);
      await expectRefused(() => call('POST', url('block'), m.auth), 'staff_account_admin_only', watched);
      await expectOk(call('POST', url('block'), admin.auth));
      await expectRefused(() => call('POST', url('unblock'), m.auth), 'staff_account_admin_only', watched);
      await expectOk(call('POST', url('unblock'), admin.auth));
    }
  });
});

describe('restoring a closed account', () => {
  const close = async (who: SignedIn) =>
    expectOk(call('POST', '/api/v1/me/close', who.auth, who.reauth), 204);

  it.each(DEALINGS)('a moderator does not restore %s (%s); another moderator does', async (_, tie, deal) => {
    const { m, other } = await deal();
    await close(other);
    const refused = await expectRefused(
      () => call('POST', `/api/v1/admin/users/${other.user.id}/restore`, m.auth),
      'own_case',
      () => userRow(other.user.id),
    );
    expect(refused.body.detail).toContain(tie);
    await expectOk(
      call('POST', `/api/v1/admin/users/${other.user.id}/restore`, (await user(['moderator'])).auth),
    );
    expect((await userRow(other.user.id))?.status).toBe('active');
  });

  it('only an admin restores an account that holds a staff role; a moderator restores other accounts', async () => {
    const m = await user(['moderator']);
    const staff = await user(['client', 'finance']);
    await close(staff);
    await expectRefused(
      () => call('POST', `/api/v1/admin/users/${staff.user.id}/restore`, m.auth),
      'staff_account_admin_only',
      () => userRow(staff.user.id),
    );
    await expectOk(
      call('POST', `/api/v1/admin/users/${staff.user.id}/restore`, (await user(['admin'])).auth),
    );
    expect((await userRow(staff.user.id))?.status).toBe('active');

    const someone = await client('Вернувшийся клиент');
    await close(someone);
    await expectOk(call('POST', `/api/v1/admin/users/${someone.user.id}/restore`, m.auth));
  });
});

describe('roles', () => {
  it('only an admin sets roles, never their own', async () => {
    const m = await user(['moderator']);
    const admin = await user(['admin']);
    const target = await client('Будущий модератор');
    const url = (id: string) => `/api/v1/admin/users/${id}/roles`;
    await expectRefused(
      () => call('PUT', url(target.user.id), m.auth, { roles: ['client', 'moderator'] }),
      'forbidden',
      () => userRow(target.user.id),
    );
    for (const roles of [['client'], ['admin', 'finance']]) {
      await expectRefused(
        () => call('PUT', url(admin.user.id), admin.auth, { roles }),
        'own_case',
        () => userRow(admin.user.id),
      );
    }
    const granted = await expectOk(
      call('PUT', url(target.user.id), admin.auth, { roles: ['client', 'moderator'] }),
    );
    expect(granted.body.roles).toEqual(['client', 'moderator']);
  });
});

describe('taking orders down and bringing them back', () => {
  it('a moderator who bid on an order or works on it neither deletes nor restores it; another moderator does', async () => {
    for (const state of ['bidding', 'assigned'] as const) {
      const c = await client();
      const m = await moderatorProvider(`Модератор на заказе (${state})`);
      const orderId = await orderIn(c, state, m);
      const watched = () => snapshot(orderId);
      await expectRefused(() => call('DELETE', `/api/v1/orders/${orderId}`, m.auth), 'own_case', watched);
      const colleague = await user(['moderator']);
      await expectOk(call('DELETE', `/api/v1/orders/${orderId}`, colleague.auth));
      await expectRefused(
        () => call('POST', `/api/v1/admin/orders/${orderId}/restore`, m.auth),
        'own_case',
        watched,
      );
      await expectOk(call('POST', `/api/v1/admin/orders/${orderId}/restore`, colleague.auth));
    }
  });

  it('a moderator’s own order: they delete it by the client’s rules, and do not restore it', async () => {
    const m = await moderatorClient('Модератор-заказчик');
    const p = await provider();
    const assigned = await orderIn(m, 'assigned', p);
    const asClient = await call('DELETE', `/api/v1/orders/${assigned}`, m.auth);
    expect([asClient.status, asClient.body.code]).toEqual([409, 'order_is_assigned']);

    const open = await orderIn(m, 'bidding', p);
    await expectOk(call('DELETE', `/api/v1/orders/${open}`, m.auth));
    await expectRefused(
      () => call('POST', `/api/v1/admin/orders/${open}/restore`, m.auth),
      'own_case',
      () => snapshot(open),
    );
    await expectOk(call('POST', `/api/v1/admin/orders/${open}/restore`, (await user(['moderator'])).auth));
  });

  it('a moderator takes down and restores an order they have no part in', async () => {
    const m = await user(['moderator']);
    const orderId = await orderIn(await client(), 'bidding', await provider());
    await expectOk(call('DELETE', `/api/v1/orders/${orderId}`, m.auth));
    await expectOk(call('POST', `/api/v1/admin/orders/${orderId}/restore`, m.auth));
  });
});
