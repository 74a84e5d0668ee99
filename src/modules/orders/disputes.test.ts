import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helper.ts';
import {
  type Client,
  MISSING,
  orderFixtures,
  type Provider,
  type SignedIn,
} from '../../../test/order-fixtures.ts';
import { auditLog } from '../../platform/audit/schema.ts';
import { autoConfirmOrdersJob } from './jobs.ts';
import { orderDisputes, orderStatusHistory, orders } from './schema.ts';

const DAY_MS = 86_400_000;

let t: TestApp;
const { call, user, client, provider, uploadPdf, orderIn, insertAgreedOrder, orderRow, eventsOf } =
  orderFixtures(() => t);
let moderator: SignedIn;
let admin: SignedIn;

beforeAll(async () => {
  t = await createTestApp();
  moderator = await user(['moderator']);
  admin = await user(['admin']);
});
afterAll(() => t.close());

const open = (orderId: string, who: SignedIn | undefined, payload: object = {}) =>
  call('POST', `/api/v1/orders/${orderId}/disputes`, who?.auth, {
    dispute_type: 'quality_issue',
    description: 'Кран снова течёт на следующий день',
    ...payload,
  });

/** Everything a refused request must leave alone. */
async function snapshot(orderId: string) {
  return {
    order: await orderRow(orderId),
    disputes: await t.db.select().from(orderDisputes).where(eq(orderDisputes.orderId, orderId)),
    history: await t.db.select().from(orderStatusHistory).where(eq(orderStatusHistory.orderId, orderId)),
    events: await eventsOf(orderId),
  };
}

const counters = async (c: Client, p: Provider) => {
  const mine = (await call('GET', '/api/v1/me/client-profile', c.auth)).body;
  const theirs = (await call('GET', '/api/v1/me/provider-profile', p.auth)).body;
  return {
    client: { completed: mine.orders_completed, cancelled: mine.orders_cancelled },
    provider: theirs.orders_completed,
  };
};

describe('opening a dispute', () => {
  it('the client disputes a completed order: the order moves to disputed and the provider is told', async () => {
    const c = await client();
    const p = await provider();
    // Written to the tables: the order's whole history and event queue are checked below.
    const orderId = await insertAgreedOrder(c, p);
    const file = await uploadPdf(c);

    const opened = await open(orderId, c, { evidence_file_ids: [file] });
    expect(opened.status).toBe(201);
    expect(opened.body).toEqual({
      id: expect.any(String),
      order_id: orderId,
      opened_by_user_id: c.user.id,
      dispute_type: 'quality_issue',
      description: 'Кран снова течёт на следующий день',
      evidence_file_ids: [file],
      status: 'open',
      resolution: null,
      created_at: expect.any(String),
      resolved_at: null,
    });
    const [row] = await t.db.select().from(orderDisputes).where(eq(orderDisputes.id, opened.body.id));
    expect(row).toMatchObject({ orderStatusBefore: 'completed', status: 'open', handledBy: null });
    expect((await orderRow(orderId)).status).toBe('disputed');
    const history = await t.db
      .select()
      .from(orderStatusHistory)
      .where(eq(orderStatusHistory.orderId, orderId));
    expect(history).toEqual([
      expect.objectContaining({ fromStatus: 'completed', toStatus: 'disputed', actorId: c.user.id }),
    ]);
    // One transaction, so the two jobs share a timestamp: compared in order of type.
    const events = (await eventsOf(orderId)).sort((a, b) => a.type.localeCompare(b.type));
    expect(events).toEqual([
      expect.objectContaining({
        type: 'dispute_opened',
        dispute_id: opened.body.id,
        recipient_user_ids: [p.user.id],
      }),
      expect.objectContaining({
        type: 'order_status_changed',
        to_status: 'disputed',
        recipient_user_ids: [p.user.id],
      }),
    ]);
    const audit = await t.db.select().from(auditLog).where(eq(auditLog.entityId, opened.body.id));
    expect(audit.map((a) => [a.action, a.actorId])).toEqual([['create', c.user.id]]);
  });

  it('the provider disputes an assigned or started order; the client is told', async () => {
    const c = await client();
    const p = await provider();
    for (const status of ['assigned', 'in_progress'] as const) {
      const orderId = await orderIn(c, status, p);
      const opened = await open(orderId, p, { dispute_type: 'payment_dispute' });
      expect(opened.status).toBe(201);
      expect(opened.body.opened_by_user_id).toBe(p.user.id);
      const [row] = await t.db.select().from(orderDisputes).where(eq(orderDisputes.id, opened.body.id));
      expect(row!.orderStatusBefore).toBe(status);
      expect((await eventsOf(orderId)).find((e) => e.type === 'dispute_opened')).toMatchObject({
        recipient_user_ids: [c.user.id],
      });
    }
  });

  it('a completed order only within the dispute window (dispute_window_days, 7 by default)', async () => {
    const c = await client();
    const p = await provider();
    // Completed days ago: written to the tables.
    const inside = await insertAgreedOrder(c, p, 'completed', new Date(Date.now() - 6 * DAY_MS));
    const outside = await insertAgreedOrder(c, p, 'completed', new Date(Date.now() - 8 * DAY_MS));
    expect((await open(inside, c)).status).toBe(201);
    const before = await snapshot(outside);
    const late = await open(outside, p);
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('dispute_window_closed');
    expect(await snapshot(outside)).toEqual(before);
  });

  it('one dispute at a time, also when two are sent at once', async () => {
    const c = await client();
    const p = await provider();
    const orderId = await orderIn(c, 'in_progress', p);
    const answers = await Promise.all([open(orderId, c), open(orderId, p)]);
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409]);
    expect(answers.find((a) => a.status === 409)!.body.code).toBe('dispute_already_open');
    const before = await snapshot(orderId);
    const again = await open(orderId, c);
    expect([again.status, again.body.code]).toEqual([409, 'dispute_already_open']);
    expect(await snapshot(orderId)).toEqual(before);
    expect(before.disputes).toHaveLength(1);
  });

  it('refuses other states, strangers, staff, bad evidence and bad input, changing nothing', async () => {
    const c = await client();
    const p = await provider();
    const stranger = await user(['client', 'provider']);
    const bidding = await orderIn(c, 'bidding', await provider('Другой мастер'));
    const cancelled = await orderIn(c, 'cancelled', p);
    const completed = await orderIn(c, 'completed', p);
    const strangersFile = await uploadPdf(stranger);
    const wrongPurpose = await uploadPdf(c, 'verification_evidence');
    const orderIds = [bidding, cancelled, completed];
    const before = await Promise.all(orderIds.map(snapshot));

    const cases: [string, SignedIn | undefined, object, number, string][] = [
      [bidding, c, {}, 409, 'order_is_bidding'],
      [cancelled, c, {}, 409, 'order_is_cancelled'],
      [cancelled, p, {}, 409, 'order_is_cancelled'],
      [bidding, p, {}, 404, 'order_not_found'],
      [completed, stranger, {}, 404, 'order_not_found'],
      [MISSING, c, {}, 404, 'order_not_found'],
      [completed, moderator, {}, 403, 'not_a_party'],
      [completed, undefined, {}, 401, 'unauthorized'],
      [completed, c, { evidence_file_ids: [strangersFile] }, 422, 'invalid_file'],
      [completed, c, { evidence_file_ids: [wrongPurpose] }, 422, 'invalid_file'],
      [completed, c, { dispute_type: 'revenge' }, 400, 'validation_failed'],
      [completed, c, { description: 'плохо' }, 400, 'validation_failed'],
      [completed, c, { status: 'resolved' }, 400, 'validation_failed'],
    ];
    for (const [orderId, who, payload, status, code] of cases) {
      const answer = await open(orderId, who, payload);
      expect(answer.status, `${code} ${JSON.stringify(payload)}`).toBe(status);
      expect(answer.body.code).toBe(code);
    }
    expect(await Promise.all(orderIds.map(snapshot))).toEqual(before);
  });
});

describe('staff handling a dispute', () => {
  it('lists and shows disputes; takes one into review; rules it completed; both parties are told', async () => {
    const c = await client();
    const p = await provider();
    const orderId = await orderIn(c, 'in_progress', p);
    const id = (await open(orderId, c)).body.id;
    const start = await counters(c, p);

    const queue = await call('GET', `/api/v1/admin/disputes?status=open&order_id=${orderId}`, moderator.auth);
    expect(queue.status).toBe(200);
    expect(queue.body.data.map((d: { id: string }) => d.id)).toEqual([id]);
    const one = await call('GET', `/api/v1/admin/disputes/${id}`, admin.auth);
    expect(one.body).toMatchObject({
      id,
      status: 'open',
      order_status_before: 'in_progress',
      handled_by: null,
    });

    const reviewing = await call('POST', `/api/v1/admin/disputes/${id}/review`, moderator.auth);
    expect(reviewing.status).toBe(200);
    expect(reviewing.body).toMatchObject({ status: 'under_review', handled_by: moderator.user.id });
    const twice = await call('POST', `/api/v1/admin/disputes/${id}/review`, admin.auth);
    expect([twice.status, twice.body.code]).toEqual([409, 'dispute_is_under_review']);
    expect(
      (await call('GET', `/api/v1/admin/disputes?status=open&order_id=${orderId}`, moderator.auth)).body.data,
    ).toEqual([]);

    const resolved = await call('POST', `/api/v1/admin/disputes/${id}/resolve`, moderator.auth, {
      resolution: 'Работа выполнена, мастер устранил течь повторно',
      outcome: 'completed',
      refund: false,
    });
    expect(resolved.status).toBe(200);
    expect(resolved.body).toMatchObject({
      status: 'resolved',
      outcome: 'completed',
      refund: false,
      handled_by: moderator.user.id,
      resolved_at: expect.any(String),
    });
    const order = await orderRow(orderId);
    expect(order.status).toBe('completed');
    expect(order.completedAt).toBeInstanceOf(Date);
    expect(await counters(c, p)).toEqual({
      client: { completed: start.client.completed + 1, cancelled: start.client.cancelled },
      provider: start.provider + 1,
    });

    const resolvedEvents = (await eventsOf(orderId)).filter((e) => e.type === 'dispute_resolved');
    expect(resolvedEvents).toEqual([
      expect.objectContaining({ dispute_id: id, recipient_user_ids: [c.user.id, p.user.id] }),
    ]);

    // The parties see the status and the resolution, never the staff's own fields.
    for (const who of [c, p]) {
      const list = await call('GET', `/api/v1/orders/${orderId}/disputes`, who.auth);
      expect(list.status).toBe(200);
      expect(list.body.data).toEqual([
        expect.objectContaining({
          id,
          status: 'resolved',
          resolution: 'Работа выполнена, мастер устранил течь повторно',
        }),
      ]);
      for (const field of ['handled_by', 'order_status_before', 'outcome', 'refund', 'updated_at']) {
        expect(list.body.data[0]).not.toHaveProperty(field);
      }
    }

    const after = await snapshot(orderId);
    const again = await call('POST', `/api/v1/admin/disputes/${id}/close`, admin.auth, { resolution: 'нет' });
    expect([again.status, again.body.code]).toEqual([409, 'dispute_is_resolved']);
    expect(await snapshot(orderId)).toEqual(after);
  });

  it('rules a completed order cancelled with a refund: cancelled_at set, counters follow', async () => {
    const c = await client();
    const p = await provider();
    // Through the routes, so the confirm counted the work as completed for both parties.
    const orderId = await orderIn(c, 'completed', p);
    const id = (await open(orderId, p, { dispute_type: 'payment_dispute' })).body.id;
    const start = await counters(c, p);
    expect(start).toMatchObject({ client: { completed: 1 }, provider: 1 });
    const resolved = await call('POST', `/api/v1/admin/disputes/${id}/resolve`, admin.auth, {
      resolution: 'Работа не выполнена, деньги возвращаются клиенту',
      outcome: 'cancelled',
      refund: true,
    });
    expect(resolved.status).toBe(200);
    expect(resolved.body).toMatchObject({ status: 'resolved', outcome: 'cancelled', refund: true });
    const order = await orderRow(orderId);
    expect(order.status).toBe('cancelled');
    expect(order.cancelledAt).toBeInstanceOf(Date);
    expect(await counters(c, p)).toEqual({
      client: { completed: 0, cancelled: start.client.cancelled + 1 },
      provider: 0,
    });
    const history = await t.db
      .select()
      .from(orderStatusHistory)
      .where(eq(orderStatusHistory.orderId, orderId))
      .orderBy(asc(orderStatusHistory.id));
    expect(history.slice(-2).map((h) => [h.fromStatus, h.toStatus, h.actorId])).toEqual([
      ['completed', 'disputed', p.user.id],
      ['disputed', 'cancelled', admin.user.id],
    ]);
  });

  it('closing without a ruling sends the order back to where it was', async () => {
    const c = await client();
    const p = await provider();
    const orderId = await orderIn(c, 'in_progress', p);
    const id = (await open(orderId, c, { dispute_type: 'schedule_conflict' })).body.id;
    const closed = await call('POST', `/api/v1/admin/disputes/${id}/close`, moderator.auth, {
      resolution: 'Стороны договорились о новом времени',
    });
    expect(closed.status).toBe(200);
    expect(closed.body).toMatchObject({ status: 'closed', outcome: null, refund: null });
    expect((await orderRow(orderId)).status).toBe('in_progress');
    expect((await eventsOf(orderId)).filter((e) => e.type === 'dispute_resolved')).toEqual([
      expect.objectContaining({ dispute_id: id, recipient_user_ids: [c.user.id, p.user.id] }),
    ]);
    // A new dispute may be opened once the last one is over.
    expect((await open(orderId, p)).status).toBe(201);
  });

  it('closing gives work marked done a fresh confirmation window: the auto-confirm waits again', async () => {
    const c = await client();
    const p = await provider();
    const orderId = await orderIn(c, 'work_done', p);
    // Marked done 10 days ago: past the 3-day window, had the dispute not stopped the clock.
    const longAgo = new Date(Date.now() - 10 * DAY_MS);
    await t.db.update(orders).set({ workDoneAt: longAgo }).where(eq(orders.id, orderId));
    const id = (await open(orderId, c, { dispute_type: 'quality_issue' })).body.id;
    const closing = Date.now();
    const closed = await call('POST', `/api/v1/admin/disputes/${id}/close`, moderator.auth, {
      resolution: 'Мастер доделал, клиент проверит',
    });
    expect(closed.status).toBe(200);
    const back = await orderRow(orderId);
    expect(back.status).toBe('in_progress');
    expect(back.workDoneAt!.getTime()).toBeGreaterThanOrEqual(closing - 1000);

    await autoConfirmOrdersJob(t.app.services.orders).handle(
      {},
      { log: t.app.log, jobId: 'test', retryCount: 0 },
    );
    expect((await orderRow(orderId)).status).toBe('in_progress');
  });

  it('closing a dispute over a completed order leaves the time the work was done alone', async () => {
    const c = await client();
    const p = await provider();
    const orderId = await orderIn(c, 'completed', p);
    const before = await orderRow(orderId);
    const id = (await open(orderId, c, { dispute_type: 'quality_issue' })).body.id;
    const closed = await call('POST', `/api/v1/admin/disputes/${id}/close`, moderator.auth, {
      resolution: 'Претензия снята',
    });
    expect(closed.status).toBe(200);
    const after = await orderRow(orderId);
    expect(after.status).toBe('completed');
    expect(after.workDoneAt).toEqual(before.workDoneAt);
    expect(after.completedAt).toEqual(before.completedAt);
  });

  it('resolve and close at once: exactly one lands', async () => {
    const c = await client();
    const p = await provider();
    const orderId = await orderIn(c, 'in_progress', p);
    const id = (await open(orderId, c)).body.id;
    const answers = await Promise.all([
      call('POST', `/api/v1/admin/disputes/${id}/resolve`, moderator.auth, {
        resolution: 'Отменено',
        outcome: 'cancelled',
        refund: true,
      }),
      call('POST', `/api/v1/admin/disputes/${id}/close`, admin.auth, { resolution: 'Закрыто' }),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    const winner = answers.find((a) => a.status === 200)!.body;
    expect(answers.find((a) => a.status === 409)!.body.code).toBe(`dispute_is_${winner.status}`);
    expect((await orderRow(orderId)).status).toBe(winner.status === 'resolved' ? 'cancelled' : 'in_progress');
    expect((await eventsOf(orderId)).filter((e) => e.type === 'dispute_resolved')).toHaveLength(1);
  });

  it('staff cannot handle a dispute over their own order', async () => {
    const staffClient = await client('Айгуль Токтогулова', ['client', 'moderator']);
    const p = await provider();
    const orderId = await orderIn(staffClient, 'in_progress', p);
    const id = (await open(orderId, staffClient)).body.id;
    const before = await snapshot(orderId);
    for (const [action, payload] of [
      ['review', undefined],
      ['resolve', { resolution: 'В пользу клиента', outcome: 'cancelled', refund: true }],
      ['close', { resolution: 'Закрыто' }],
    ] as const) {
      const answer = await call('POST', `/api/v1/admin/disputes/${id}/${action}`, staffClient.auth, payload);
      expect([answer.status, answer.body.code]).toEqual([403, 'own_case']);
    }
    expect(await snapshot(orderId)).toEqual(before);
  });

  it('admin routes are for admins and moderators only; refusals change nothing', async () => {
    const c = await client();
    const p = await provider();
    const finance = await user(['finance']);
    const orderId = await orderIn(c, 'in_progress', p);
    const id = (await open(orderId, c)).body.id;
    const before = await snapshot(orderId);

    const routes: [method: 'GET' | 'POST', url: string, payload?: object][] = [
      ['GET', '/api/v1/admin/disputes'],
      ['GET', `/api/v1/admin/disputes/${id}`],
      ['POST', `/api/v1/admin/disputes/${id}/review`],
      [
        'POST',
        `/api/v1/admin/disputes/${id}/resolve`,
        { resolution: 'x', outcome: 'cancelled', refund: true },
      ],
      ['POST', `/api/v1/admin/disputes/${id}/close`, { resolution: 'x' }],
    ];
    for (const [method, url, payload] of routes) {
      for (const who of [c, p, finance]) {
        const answer = await call(method, url, who.auth, payload);
        expect([answer.status, answer.body.code], `${method} ${url}`).toEqual([403, 'forbidden']);
      }
      expect((await call(method, url, undefined, payload)).status).toBe(401);
    }
    expect(await snapshot(orderId)).toEqual(before);

    for (const [method, url, payload] of routes.slice(1)) {
      const answer = await call(method, url.replace(id, MISSING), moderator.auth, payload);
      expect([answer.status, answer.body.code], `${method} ${url}`).toEqual([404, 'dispute_not_found']);
    }
    const bad = await call('POST', `/api/v1/admin/disputes/${id}/resolve`, moderator.auth, {
      resolution: 'x',
      outcome: 'disputed',
      refund: true,
    });
    expect([bad.status, bad.body.code]).toEqual([400, 'validation_failed']);
    expect(await snapshot(orderId)).toEqual(before);
  });

  it('an order’s disputes are read by its parties and staff, nobody else', async () => {
    const c = await client();
    const p = await provider();
    const stranger = await user(['client', 'provider']);
    const orderId = await orderIn(c, 'in_progress', p);
    const id = (await open(orderId, c)).body.id;
    expect((await call('GET', `/api/v1/orders/${orderId}/disputes`, moderator.auth)).body.data).toEqual([
      expect.objectContaining({ id, status: 'open' }),
    ]);
    const refused = await call('GET', `/api/v1/orders/${orderId}/disputes`, stranger.auth);
    expect([refused.status, refused.body.code]).toEqual([404, 'order_not_found']);
    expect((await call('GET', `/api/v1/orders/${orderId}/disputes`)).status).toBe(401);
  });

  it('the admin list pages oldest first by default and filters by status', async () => {
    const c = await client();
    const p = await provider();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await open(await orderIn(c, 'in_progress', p), c)).body.id);
    }
    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { data: { id: string }[]; next_cursor: string | null } } =
        await call(
          'GET',
          `/api/v1/admin/disputes?status=open&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
          moderator.auth,
        );
      expect(page.status).toBe(200);
      all.push(...page.body.data.map((d) => d.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(all.filter((id) => ids.includes(id))).toEqual(ids);
    const newest = await call(
      'GET',
      '/api/v1/admin/disputes?status=open&sort=newest&limit=1',
      moderator.auth,
    );
    expect(newest.body.data[0].id).toBe(all[all.length - 1]);
  });
});
