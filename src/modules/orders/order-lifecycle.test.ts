import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helper.ts';
import { orderFixtures, type SignedIn } from '../../../test/order-fixtures.ts';
import { autoConfirmOrdersJob } from './jobs.ts';
import { bids, orders } from './schema.ts';

let t: TestApp;
const k = orderFixtures(() => t);

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const act = (id: string, action: string, who?: SignedIn, payload?: object) =>
  k.call('POST', `/api/v1/orders/${id}/${action}`, who?.auth, payload);

async function statusOf(id: string) {
  const [row] = await t.db.select().from(orders).where(eq(orders.id, id));
  return row!;
}

const clientCounters = async (who: SignedIn) =>
  (await k.call('GET', '/api/v1/me/client-profile', who.auth)).body;
const providerCompleted = async (who: SignedIn) =>
  (await k.call('GET', '/api/v1/me/provider-profile', who.auth)).body.orders_completed;

describe('the order lifecycle', () => {
  it('publish, assign, start, mark done, confirm: each change recorded, announced, and counted once', async () => {
    const client = await k.user();
    const provider = await k.provider();
    const id = await k.orderIn(client, 'draft');

    const published = await act(id, 'publish', client, { note: 'Жду предложений' });
    expect(published.status).toBe(200);
    expect(published.body).toMatchObject({ status: 'published' });
    expect(published.body.published_at).not.toBeNull();
    // Agreed in the tables: the order's whole history and event queue are checked below.
    await k.insertAgreement(id, provider);

    const started = await act(id, 'start', provider);
    expect(started.body).toMatchObject({ status: 'in_progress', viewer_role: 'assigned_provider' });
    expect(started.body.started_at).not.toBeNull();

    const done = await act(id, 'complete', provider, { completion_notes: 'Подключил, проверил на протечки' });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({
      status: 'in_progress',
      assigned_provider: { completion_notes: 'Подключил, проверил на протечки' },
    });
    expect(done.body.work_done_at).not.toBeNull();
    const twice = await act(id, 'complete', provider);
    expect(twice.status).toBe(409);
    expect(twice.body.code).toBe('work_already_done');

    const confirmed = await act(id, 'confirm', client);
    expect(confirmed.status).toBe(200);
    expect(confirmed.body).toMatchObject({ status: 'completed' });
    expect(confirmed.body.completed_at).not.toBeNull();
    const again = await act(id, 'confirm', client);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('order_is_completed');

    expect(await k.historyOf(id)).toEqual([
      { from: null, to: 'draft', actor: client.user.id, reason: null },
      { from: 'draft', to: 'published', actor: client.user.id, reason: 'Жду предложений' },
      { from: 'assigned', to: 'in_progress', actor: provider.user.id, reason: null },
      { from: 'in_progress', to: 'completed', actor: client.user.id, reason: null },
    ]);
    expect(await k.eventsOf(id)).toEqual([
      expect.objectContaining({
        type: 'order_status_changed',
        to_status: 'published',
        recipient_user_ids: [],
      }),
      expect.objectContaining({
        type: 'order_status_changed',
        to_status: 'in_progress',
        recipient_user_ids: [client.user.id],
      }),
      expect.objectContaining({ type: 'order_work_done', recipient_user_ids: [client.user.id] }),
      expect.objectContaining({
        type: 'order_completed',
        to_status: 'completed',
        recipient_user_ids: [provider.user.id],
      }),
    ]);
    expect(await clientCounters(client)).toMatchObject({ orders_total: 1, orders_completed: 1 });
    expect(await providerCompleted(provider)).toBe(1);

    const history = await k.call('GET', `/api/v1/orders/${id}/history`, provider.auth);
    expect(history.status).toBe(200);
    expect(history.body.data.map((h: { to_status: string }) => h.to_status)).toEqual([
      'draft',
      'published',
      'in_progress',
      'completed',
    ]);
    expect(history.body.next_cursor).toBeNull();

    // Page by page, oldest first, without repeats; a cursor that is not one it gave out is 400.
    const first = await k.call('GET', `/api/v1/orders/${id}/history?limit=3`, client.auth);
    expect(first.body.data.map((h: { to_status: string }) => h.to_status)).toEqual([
      'draft',
      'published',
      'in_progress',
    ]);
    const cursor = first.body.next_cursor as string;
    const rest = await k.call('GET', `/api/v1/orders/${id}/history?limit=3&cursor=${cursor}`, client.auth);
    expect(rest.body).toMatchObject({ data: [{ to_status: 'completed' }], next_cursor: null });
    const forged = await k.call('GET', `/api/v1/orders/${id}/history?cursor=bm90LWEtY3Vyc29y`, client.auth);
    expect([forged.status, forged.body.code]).toEqual([400, 'invalid_cursor']);
  });

  it('confirming before the provider marks the work done is a 409; the completion photos must be the provider’s', async () => {
    const client = await k.user();
    const provider = await k.provider();
    const id = await k.orderIn(client, 'published');
    await k.agree(id, client, provider, { state: 'in_progress' });
    const early = await act(id, 'confirm', client);
    expect(early.status).toBe(409);
    expect(early.body.code).toBe('work_not_done');
    expect((await statusOf(id)).status).toBe('in_progress');

    const clientsPhoto = await k.uploadPhoto(client);
    const borrowed = await act(id, 'complete', provider, { completion_photo_file_ids: [clientsPhoto] });
    expect(borrowed.status).toBe(422);
    expect(borrowed.body.code).toBe('invalid_file');
    expect((await statusOf(id)).workDoneAt).toBeNull();
    const ownPhoto = await k.uploadPhoto(provider);
    const done = await act(id, 'complete', provider, { completion_photo_file_ids: [ownPhoto] });
    expect(done.body.assigned_provider.completion_photo_file_ids).toEqual([ownPhoto]);
    expect((await act(id, 'confirm', client)).status).toBe(200);
  });

  it('refuses actions in the wrong state with a code naming the state', async () => {
    const client = await k.user();
    const provider = await k.provider();
    const id = await k.orderIn(client, 'published');
    const cases: [string, SignedIn, object | undefined, string][] = [
      ['publish', client, undefined, 'order_is_published'],
    ];
    for (const [action, who, payload, code] of cases) {
      const answer = await act(id, action, who, payload);
      expect(answer.status).toBe(409);
      expect(answer.body.code).toBe(code);
    }
    await k.agree(id, client, provider, { state: 'in_progress' });
    for (const [action, who, payload] of [
      ['start', provider, undefined],
      ['cancel', client, { reason: 'Передумал' }],
      ['cancel', provider, { reason: 'Не успеваю' }],
    ] as const) {
      const answer = await act(id, action, who, payload);
      expect(answer.status, action).toBe(409);
      expect(answer.body.code).toBe('order_is_in_progress');
    }
    const draft = await k.orderIn(client, 'draft');
    expect((await act(draft, 'complete', client)).body.code).toBe('not_assigned_provider');
  });

  it('refuses the wrong party: 404 to those who cannot see the order, 403 to those who can, and changes nothing', async () => {
    const client = await k.user();
    const provider = await k.provider('Назначенный мастер');
    const otherProvider = await k.provider('Другой мастер');
    const moderator = await k.user(['moderator']);
    const stranger = await k.user();

    const draft = await k.orderIn(client, 'draft');
    for (const [action, payload] of [
      ['publish', undefined],
      ['cancel', { reason: 'Не моё, но отменю' }],
      ['start', undefined],
      ['confirm', undefined],
    ] as const) {
      expect((await act(draft, action, stranger, payload)).status, action).toBe(404);
    }
    expect((await k.call('GET', `/api/v1/orders/${draft}/history`, stranger.auth)).status).toBe(404);
    expect((await k.call('DELETE', `/api/v1/orders/${draft}`, stranger.auth)).status).toBe(404);

    const open = await k.orderIn(client, 'published');
    const expectations: [string, SignedIn, object | undefined, string][] = [
      ['publish', otherProvider, undefined, 'not_your_order'],
      ['cancel', otherProvider, { reason: 'Хочу отменить' }, 'not_your_order'],
      ['start', otherProvider, undefined, 'not_assigned_provider'],
      ['complete', otherProvider, undefined, 'not_assigned_provider'],
      ['confirm', otherProvider, undefined, 'not_your_order'],
      ['publish', moderator, undefined, 'not_your_order'],
      ['cancel', moderator, { reason: 'Модератор отменяет' }, 'not_your_order'],
    ];
    for (const [action, who, payload, code] of expectations) {
      const answer = await act(open, action, who, payload);
      expect(answer.status, `${action}`).toBe(403);
      expect(answer.body.code).toBe(code);
    }
    const openHistory = await k.call('GET', `/api/v1/orders/${open}/history`, otherProvider.auth);
    expect(openHistory.status).toBe(403);
    expect((await k.call('GET', `/api/v1/orders/${open}/history`, moderator.auth)).status).toBe(200);

    // Agreed in the tables: the order's event count is checked below.
    await k.insertAgreement(open, provider);
    for (const [action, who, code] of [
      ['start', client, 'not_assigned_provider'],
      ['complete', client, 'not_assigned_provider'],
      ['confirm', provider, 'not_your_order'],
      ['publish', provider, 'not_your_order'],
    ] as const) {
      const answer = await act(open, action, who);
      expect(answer.status, action).toBe(403);
      expect(answer.body.code).toBe(code);
    }
    expect((await act(open, 'start', otherProvider)).status).toBe(404);
    expect((await act(open, 'cancel', otherProvider, { reason: 'Хочу отменить' })).status).toBe(404);

    expect((await statusOf(draft)).status).toBe('draft');
    expect((await statusOf(open)).status).toBe('assigned');
    expect(await k.eventsOf(draft)).toEqual([]);
    expect(await k.eventsOf(open)).toHaveLength(1);
  });
});

describe('cancelling', () => {
  it('the client cancels a bidding order: pending bids are rejected and their providers told', async () => {
    const client = await k.user();
    const first = await k.provider('Первый мастер');
    const second = await k.provider('Второй мастер');
    const id = await k.orderIn(client, 'published');
    // Bids written to the table: the order's events after the publish are counted below.
    const bidIds = [await k.insertBid(id, first), await k.insertBid(id, second)];

    expect((await act(id, 'cancel', client, {})).status).toBe(400);
    const cancelled = await act(id, 'cancel', client, { reason: 'Нашёл мастера сам' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', cancel_reason: 'Нашёл мастера сам' });
    expect(cancelled.body.cancelled_at).not.toBeNull();

    const rows = await t.db.select().from(bids).where(eq(bids.orderId, id));
    expect(rows.map((b) => b.status)).toEqual(['rejected', 'rejected']);
    expect(rows.every((b) => b.decidedAt !== null)).toBe(true);
    // The first event is the publish; the cancel's three share one transaction (and one timestamp).
    const events = (await k.eventsOf(id)).slice(1);
    expect(events).toHaveLength(3);
    expect(events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          type: 'order_status_changed',
          to_status: 'cancelled',
          recipient_user_ids: [],
        }),
        expect.objectContaining({
          type: 'bid_rejected',
          bid_id: bidIds[0],
          recipient_user_ids: [first.user.id],
        }),
        expect.objectContaining({
          type: 'bid_rejected',
          bid_id: bidIds[1],
          recipient_user_ids: [second.user.id],
        }),
      ]),
    );
    expect(await clientCounters(client)).toMatchObject({ orders_total: 1, orders_cancelled: 1 });
    expect((await k.historyOf(id)).at(-1)).toMatchObject({
      from: 'bidding',
      to: 'cancelled',
      reason: 'Нашёл мастера сам',
    });
  });

  it('the assigned provider may cancel an assigned order; the client hears of it and contacts are hidden again', async () => {
    const client = await k.user();
    const provider = await k.provider();
    const id = await k.orderIn(client, 'published');
    // Agreed in the tables: the order's events after the publish are checked below.
    await k.insertAgreement(id, provider);
    const assignmentAs = (who: SignedIn) => k.call('GET', `/api/v1/orders/${id}/assignment`, who.auth);
    expect((await assignmentAs(provider)).body.client_contact).toMatchObject({ email: client.email });
    const answer = await act(id, 'cancel', provider, { reason: 'Заболел, не смогу прийти' });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'cancelled', client_contact: null });
    // The assignment stays readable to both, without the contacts.
    expect((await assignmentAs(provider)).body).toMatchObject({
      client_contact: null,
      provider_contact: null,
    });
    expect((await assignmentAs(client)).body).toMatchObject({ client_contact: null, provider_contact: null });
    expect((await k.eventsOf(id)).slice(1)).toMatchObject([
      { type: 'order_status_changed', to_status: 'cancelled', recipient_user_ids: [client.user.id] },
    ]);
  });

  it('a cancel that fails midway leaves no trace: no status change, no history, no bid change, no event', async () => {
    const client = await k.user();
    const provider = await k.provider();
    const id = await k.orderIn(client, 'published');
    await k.placeBid(id, provider);
    const historyBefore = await k.historyOf(id);
    const eventsBefore = await k.eventsOf(id);

    const spy = vi
      .spyOn(t.app.services.profiles, 'adjustClientCounters')
      .mockRejectedValueOnce(new Error('counter store down'));
    try {
      const failed = await act(id, 'cancel', client, { reason: 'Передумал заказывать' });
      expect(failed.status).toBe(500);
      expect(failed.body.code).toBe('internal_error');
    } finally {
      spy.mockRestore();
    }
    expect((await statusOf(id)).status).toBe('bidding');
    expect(await k.historyOf(id)).toEqual(historyBefore);
    expect(await k.eventsOf(id)).toEqual(eventsBefore);
    const [bid] = await t.db.select().from(bids).where(eq(bids.orderId, id));
    expect(bid!.status).toBe('pending');
  });
});

describe('at the same moment', () => {
  it('two publishes: one succeeds, the other is a 409, and one change is recorded', async () => {
    const client = await k.user();
    const id = await k.orderIn(client, 'draft');
    const answers = await Promise.all([act(id, 'publish', client), act(id, 'publish', client)]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    expect(answers.find((a) => a.status === 409)!.body.code).toBe('order_is_published');
    expect((await k.historyOf(id)).filter((h) => h.to === 'published')).toHaveLength(1);
    expect(await k.eventsOf(id)).toHaveLength(1);
  });

  it('two confirms: one succeeds, the other is a 409, and the counters move once', async () => {
    const client = await k.user();
    const provider = await k.provider();
    const id = await k.orderIn(client, 'published');
    await k.agree(id, client, provider, { state: 'work_done' });

    const answers = await Promise.all([act(id, 'confirm', client), act(id, 'confirm', client)]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    expect(await clientCounters(client)).toMatchObject({ orders_completed: 1 });
    expect(await providerCompleted(provider)).toBe(1);
    expect((await k.eventsOf(id)).filter((e) => e.type === 'order_completed')).toHaveLength(1);
  });
});

describe('automatic confirmation', () => {
  it('confirms work marked done longer ago than the setting, as the system, once', async () => {
    const client = await k.user();
    const provider = await k.provider();
    const due = await k.orderIn(client, 'published');
    const recent = await k.orderIn(client, 'published');
    const notDone = await k.orderIn(client, 'published');
    for (const id of [due, recent, notDone]) await k.agree(id, client, provider, { state: 'in_progress' });
    await t.db
      .update(orders)
      .set({ workDoneAt: new Date(Date.now() - 4 * 86_400_000) })
      .where(eq(orders.id, due));
    await t.db
      .update(orders)
      .set({ workDoneAt: new Date(Date.now() - 86_400_000) })
      .where(eq(orders.id, recent));

    const { orders: service } = t.app.services;
    const job = autoConfirmOrdersJob(service);
    await job.handle({}, { log: t.app.log, jobId: 'test', retryCount: 0 });
    expect(await service.autoConfirmOrders()).toBe(0);

    expect((await statusOf(due)).status).toBe('completed');
    expect((await statusOf(recent)).status).toBe('in_progress');
    expect((await statusOf(notDone)).status).toBe('in_progress');
    expect((await k.historyOf(due)).at(-1)).toMatchObject({
      from: 'in_progress',
      to: 'completed',
      actor: null,
      reason: 'confirmed automatically after 3 days',
    });
    expect((await k.eventsOf(due)).at(-1)).toMatchObject({
      type: 'order_completed',
      recipient_user_ids: [client.user.id, provider.user.id],
    });
    expect(await clientCounters(client)).toMatchObject({ orders_completed: 1 });
    expect(await providerCompleted(provider)).toBe(1);

    // Three days on, the recent one is due as well.
    expect(await service.autoConfirmOrders(new Date(Date.now() + 3 * 86_400_000))).toBe(1);
    expect((await statusOf(recent)).status).toBe('completed');
    expect(await providerCompleted(provider)).toBe(2);
  });

  it('is scheduled hourly', async () => {
    const { rows } = await t.database.sql.query(
      "select cron from pgboss.schedule where name = 'orders.auto-confirm'",
    );
    expect(rows).toEqual([{ cron: '7 * * * *' }]);
  });
});
