import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInUser } from '../../../test/factories.ts';
import { createTestApp, deliverQueuedEvents, queuedEvents, type TestApp } from '../../../test/helper.ts';
import { orderFixtures, type SignedIn } from '../../../test/order-fixtures.ts';
import type { OrderEvent } from '../orders/events.ts';

/**
 * The pipeline from the orders' and accounts' events to inbox items and deliveries, and the inbox a person
 * reads, as the API shows them.
 */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const k = orderFixtures(() => t);
const { call } = k;

/** Every notification event queued so far, handled now, as a worker would. */
const deliverAll = () =>
  deliverQueuedEvents(t.app, 'notifications', [
    'bid_received',
    'bid_accepted',
    'bid_rejected',
    'bid_withdrawn',
    'order_assigned',
    'order_status_changed',
    'order_work_done',
    'order_completed',
    'dispute_opened',
    'dispute_resolved',
    'review_received',
    'account_signed_in_new_device',
    'verification_decided',
  ]);

async function inboxOf(who: SignedIn, query = '') {
  const answer = await call('GET', `/api/v1/me/notifications${query}`, who.auth);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body as { data: Record<string, unknown>[]; next_cursor: string | null };
}

async function deliveriesOf(userId: string) {
  const { rows } = await t.database.sql.query(
    `select channel, status, notification_type, event_id from notification_deliveries where user_id = $1 order by id`,
    [userId],
  );
  return rows as { channel: string; status: string; notification_type: string; event_id: string }[];
}

async function speaks(who: SignedIn, language: 'ru' | 'ky' | 'en') {
  const changed = await call('PATCH', '/api/v1/me/profile', who.auth, { notification_language: language });
  expect(changed.status, JSON.stringify(changed.body)).toBe(200);
}

describe('an order’s events', () => {
  it('tell the provider of an accepted bid once, in their language, with the amount in som', async () => {
    const client = await k.client('Айгуль Токтогулова');
    const provider = await k.provider('Бакыт');
    await speaks(provider, 'en');
    const orderId = (await k.newOrder(client, { title: 'Fix the kitchen tap', publish: true })).id;
    await k.agree(orderId, client, provider, { amount: 150_000 });
    await deliverAll();

    const inbox = await inboxOf(provider);
    const accepted = inbox.data.filter((n) => n.type === 'bid_accepted');
    expect(accepted).toHaveLength(1);
    expect(accepted[0]).toMatchObject({
      status: 'unread',
      priority: 'high',
      subject: 'Your offer was accepted',
      link: `https://master.kg/app/orders/${orderId}`,
      context: { order_id: orderId },
    });
    expect(accepted[0]!.message).toBe(
      'The client accepted your offer of KGS\u00a01,500 for “Fix the kitchen tap”.',
    );

    // The handler runs again for the same event (its subscriber's record lost): the database's keys hold.
    const [event] = (await queuedEvents<OrderEvent>(t.database, 'order_id', orderId)).filter(
      (e) => e.type === 'bid_accepted',
    );
    await t.database.sql.query(
      `delete from event_deliveries where subscriber = 'notifications.on.bid_accepted'`,
    );
    await t.app.services.events.emit(event!);
    expect(await deliverAll()).toBeGreaterThan(0);
    expect((await inboxOf(provider)).data.filter((n) => n.type === 'bid_accepted')).toHaveLength(1);
    const channels = (await deliveriesOf(provider.user.id))
      .filter((d) => d.notification_type === 'bid_accepted')
      .map((d) => d.channel);
    expect(channels).toEqual(['in_app', 'email']);
  });

  it('tell the client of a bid in Russian, with the plural of the offers', async () => {
    const client = await k.client('Айгуль Токтогулова');
    const orderId = (await k.newOrder(client, { title: 'Починить кран', publish: true })).id;
    await k.placeBid(orderId, await k.provider('Бакыт'), 120_000);
    await deliverAll();
    for (const name of ['Азамат', 'Нурлан', 'Эрмек', 'Тимур']) {
      await k.placeBid(orderId, await k.provider(name), 120_000);
    }
    await deliverAll();
    const bids = (await inboxOf(client)).data.filter((n) => n.type === 'bid_received');
    expect(bids).toHaveLength(5);
    expect(bids[0]!.subject).toBe('Новое предложение: «Починить кран»');
    expect(bids[0]!.message).toMatch(/^Тимур Owner предлагает 1\s200\sсом\. Всего 5 предложений\.$/);
    expect(bids[4]!.message).toMatch(/^Бакыт Owner предлагает 1\s200\sсом\. Всего 1 предложение\.$/);
  });

  it('tell each party of every step of an order, from the bids to both reviews', async () => {
    const client = await k.client('Айгуль Этапы');
    const chosen = await k.provider('Бакыт Этапы');
    const other = await k.provider('Нурлан Этапы');
    const moderator = await k.user(['moderator'], 'Модератор этапов');
    const orderId = (await k.newOrder(client, { title: 'Покрасить стены', publish: true })).id;
    const typesOf = async (who: SignedIn) =>
      (await inboxOf(who, '?limit=100')).data
        .filter((n) => (n.context as { order_id?: string }).order_id === orderId)
        .map((n) => n.type as string);

    await k.placeBid(orderId, other, 300_000);
    await k.agree(orderId, client, chosen, { state: 'work_done', amount: 250_000 });
    const opened = await call('POST', `/api/v1/orders/${orderId}/disputes`, client.auth, {
      dispute_type: 'quality_issue',
      description: 'Краска легла пятнами',
    });
    expect(opened.status, JSON.stringify(opened.body)).toBe(201);
    const resolved = await call('POST', `/api/v1/admin/disputes/${opened.body.id}/resolve`, moderator.auth, {
      resolution: 'Мастер перекрасил',
      outcome: 'completed',
      refund: false,
    });
    expect(resolved.status, JSON.stringify(resolved.body)).toBe(200);
    for (const [who, rating] of [
      [client, 5],
      [chosen, 4],
    ] as const) {
      const made = await call('POST', `/api/v1/orders/${orderId}/reviews`, who.auth, { rating });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
    }
    await deliverAll();

    // Each hears what the other side did, never their own step: the client did not open the dispute to
    // themselves, the provider is not told of the start and the work done they marked.
    expect((await typesOf(client)).sort()).toEqual([
      'bid_received',
      'bid_received',
      'dispute_update',
      'order_assigned',
      'order_completed',
      'order_update',
      'order_update',
      'review_received',
    ]);
    expect((await typesOf(chosen)).sort()).toEqual([
      'bid_accepted',
      'dispute_update',
      'dispute_update',
      'order_assigned',
      'order_completed',
      'review_received',
    ]);
    expect(await typesOf(other)).toEqual(['bid_rejected']);
  });

  it('skip what is gone: a deleted order tells no one', async () => {
    const client = await k.client();
    const provider = await k.provider('Эрмек');
    const orderId = (await k.newOrder(client, { publish: true })).id;
    await k.placeBid(orderId, provider);
    expect((await call('DELETE', `/api/v1/orders/${orderId}`, client.auth)).status).toBe(200);
    await deliverAll();
    expect(
      (await inboxOf(client)).data.filter((n) => (n.context as { order_id?: string }).order_id === orderId),
    ).toEqual([]);
  });
});

describe('the inbox', () => {
  async function withNotifications() {
    const client = await k.client();
    const orderId = (await k.newOrder(client, { publish: true })).id;
    await k.placeBid(orderId, await k.provider('Азамат'));
    await k.placeBid(orderId, await k.provider('Нурлан'));
    await k.placeBid(orderId, await k.provider('Тимур'));
    await deliverAll();
    return client;
  }

  it('pages, counts, marks seen, read, all read and archived', async () => {
    const client = await withNotifications();
    const count = async () => (await call('GET', '/api/v1/me/notifications/unread-count', client.auth)).body;
    expect(await count()).toEqual({ unread: 3 });

    const first = await inboxOf(client, '?limit=2');
    expect(first.data).toHaveLength(2);
    const second = await inboxOf(client, `?limit=2&cursor=${first.next_cursor}`);
    expect(second.data).toHaveLength(1);
    expect(second.next_cursor).toBeNull();
    const [newest, , oldest] = [...first.data, ...second.data] as { id: string }[];

    const seen = await call('POST', '/api/v1/me/notifications/seen', client.auth);
    expect(seen.body).toEqual({ changed: 3 });
    expect((await inboxOf(client)).data.every((n) => n.seen_at !== null && n.status === 'unread')).toBe(true);

    const read = await call('POST', `/api/v1/me/notifications/${newest!.id}/read`, client.auth);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id: newest!.id, status: 'read' });
    expect(await count()).toEqual({ unread: 2 });
    expect((await inboxOf(client, '?status=unread')).data.map((n) => n.id)).not.toContain(newest!.id);

    const archived = await call('POST', `/api/v1/me/notifications/${oldest!.id}/archive`, client.auth);
    expect(archived.body).toMatchObject({ status: 'archived' });
    expect((await inboxOf(client)).data.map((n) => n.id)).not.toContain(oldest!.id);
    expect((await inboxOf(client, '?status=archived')).data.map((n) => n.id)).toEqual([oldest!.id]);
    expect(await count()).toEqual({ unread: 1 });

    expect((await call('POST', '/api/v1/me/notifications/read-all', client.auth)).body).toEqual({
      changed: 1,
    });
    expect(await count()).toEqual({ unread: 0 });
    expect((await inboxOf(client, '?type=bid_received&status=read')).data).toHaveLength(2);
  });

  it('is the caller’s own: another person neither sees nor changes an item', async () => {
    const client = await withNotifications();
    const stranger = await signedInUser(t, ['client']);
    const [item] = (await inboxOf(client)).data as { id: string }[];
    expect((await inboxOf(stranger)).data).toEqual([]);
    for (const action of ['read', 'archive']) {
      const answer = await call('POST', `/api/v1/me/notifications/${item!.id}/${action}`, stranger.auth);
      expect(answer.status).toBe(404);
      expect(answer.body.code).toBe('notification_not_found');
    }
    expect((await call('POST', '/api/v1/me/notifications/read-all', stranger.auth)).body).toEqual({
      changed: 0,
    });
    expect((await inboxOf(client)).data.find((n) => n.id === item!.id)).toMatchObject({ status: 'unread' });
    expect((await call('GET', '/api/v1/me/notifications')).status).toBe(401);
  });

  it('refuses a filter it does not know and a cursor of another list', async () => {
    const client = await k.client();
    expect((await call('GET', '/api/v1/me/notifications?status=gone', client.auth)).status).toBe(400);
    const answer = await call('GET', '/api/v1/me/notifications?cursor=bm90LWEtY3Vyc29y', client.auth);
    expect(answer.status).toBe(400);
    expect(answer.body.code).toBe('invalid_cursor');
  });

  it('loses items past the retention setting to the retention job', async () => {
    const client = await withNotifications();
    await t.database.sql.query(
      `update user_notifications set created_at = now() - interval '181 days' where user_id = $1`,
      [client.user.id],
    );
    await t.app.services.dataRights.applyRetention();
    expect((await inboxOf(client)).data).toEqual([]);
  });
});

describe('accounts', () => {
  it('tell the holder of a sign-in from a new device, and not of one from a known device', async () => {
    const who = await signedInUser(t, ['client']);
    const login = () =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        headers: { 'user-agent': 'KG Android 3.1' },
        payload: { email: who.email, password: who.reauth.password, device_name: 'Pixel 8' },
      });
    expect((await login()).statusCode).toBe(200);
    expect((await login()).statusCode).toBe(200);
    await deliverAll();
    const signIns = (await inboxOf(who)).data.filter((n) => n.type === 'new_sign_in');
    expect(signIns).toHaveLength(1);
    expect(signIns[0]).toMatchObject({ priority: 'urgent', subject: 'Новый вход в аккаунт' });
    expect(signIns[0]!.message).toContain('Pixel 8, KG Android 3.1');
  });

  it('text a phone-only holder of a sign-in from a new device', async () => {
    const phone = '+996555770011';
    const signIn = async (device_name: string, status: number) => {
      expect((await call('POST', '/api/v1/auth/otp/request', {}, { phone })).status).toBe(202);
      const code = t.sms.lastCodeFor(phone);
      const verified = await call('POST', '/api/v1/auth/otp/verify', {}, { phone, code, device_name });
      expect(verified.status, JSON.stringify(verified.body)).toBe(status);
    };
    await signIn('Redmi Note', 201);
    // A second code within a minute is refused (otp_resend_too_soon): the first is made a minute older.
    await t.database.sql.query(`update otp_codes set created_at = created_at - interval '2 minutes'`);
    await signIn('Galaxy A54', 200);
    await deliverAll();
    await t.app.services.jobs.runQueued(['notifications.deliver']);
    const texts = t.sms.messages.filter((m) => m.phone === phone).map((m) => m.text);
    expect(texts).toHaveLength(3);
    expect(texts[2]).toMatch(/^Вход с нового устройства: Galaxy A54/);
  });

  it('tell the holder of a decided verification', async () => {
    const who = await k.client();
    const moderator = await signedInUser(t, ['moderator']);
    const submitted = await call('POST', '/api/v1/me/verifications', who.auth, {
      verification_type: 'phone',
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    const decided = await call(
      'POST',
      `/api/v1/admin/verifications/${submitted.body.id}/approve`,
      moderator.auth,
      {},
    );
    expect(decided.status, JSON.stringify(decided.body)).toBe(200);
    await deliverAll();
    const [item] = (await inboxOf(who)).data.filter((n) => n.type === 'verification_update');
    expect(item).toMatchObject({ subject: 'Проверка: одобрено' });
  });
});
