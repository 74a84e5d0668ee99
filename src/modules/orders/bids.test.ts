import { and, eq } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helper.ts';
import { type Client, orderFixtures, type Provider } from '../../../test/order-fixtures.ts';
import { raceInOrder } from '../../../test/races.ts';
import { auditLog } from '../../platform/audit/schema.ts';
import { diffFields } from '../../platform/audit/service.ts';
import { bidView } from './bid-views.ts';
import { bids, orderAssignments, orderStatusHistory } from './schema.ts';

let t: TestApp;
const { call, user, client, provider, newOrder, orderIn, insertOrder, orderRow, eventsOf, snapshot } =
  orderFixtures(() => t);

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const bidBody = (amount = 80_000) => ({
  amount,
  message: 'Сделаю сегодня, свой инструмент',
  estimated_duration_hours: 2,
  is_negotiable: true,
});

async function bidsOf(orderId: string) {
  return t.db.select().from(bids).where(eq(bids.orderId, orderId)).orderBy(bids.id);
}

describe('POST /orders/{id}/bids', () => {
  it('a provider bids: the first bid moves the order to bidding and counts; the client is told', async () => {
    const owner = await client();
    // Written to the table: the order's whole history and its status events are checked below.
    const o = await insertOrder(owner);
    const p = await provider('Сантехник Бакыт');

    const made = await call('POST', `/api/v1/orders/${o.id}/bids`, p.auth, bidBody());
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({
      order_id: o.id,
      provider_profile_id: p.providerId,
      amount: 80_000,
      currency: 'KGS',
      status: 'pending',
      is_negotiable: true,
      estimated_duration_hours: 2,
      decided_at: null,
    });
    // The answer is the bid as stored, though the statement returns only what the database decided.
    const [stored] = await bidsOf(o.id);
    expect(made.body).toEqual(bidView(stored!));
    const after = await orderRow(o.id);
    expect(after).toMatchObject({ status: 'bidding', bidCount: 1 });
    const history = await t.db.select().from(orderStatusHistory).where(eq(orderStatusHistory.orderId, o.id));
    expect(history).toMatchObject([{ fromStatus: 'published', toStatus: 'bidding', actorId: p.user.id }]);
    const audit = await t.db.select().from(auditLog).where(eq(auditLog.entityId, made.body.id));
    expect(audit.map((a) => a.action)).toEqual(['create']);
    expect(await eventsOf(o.id)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          type: 'bid_received',
          recipient_user_ids: [owner.user.id],
          bid_id: made.body.id,
        }),
        expect.objectContaining({ type: 'order_status_changed', to_status: 'bidding' }),
      ]),
    );

    // A second provider's bid leaves the order bidding and counts too.
    const q = await provider('Сантехник Азамат');
    const bare = await call('POST', `/api/v1/orders/${o.id}/bids`, q.auth, { amount: 90_000 });
    expect(bare.status).toBe(201);
    const second = (await bidsOf(o.id)).find((b) => b.id === bare.body.id);
    expect(bare.body).toEqual(bidView(second!));
    expect(bare.body).toMatchObject({ message: null, estimated_duration_hours: null, is_negotiable: false });
    expect(await orderRow(o.id)).toMatchObject({ status: 'bidding', bidCount: 2 });
    expect((await eventsOf(o.id)).filter((e) => e.type === 'bid_received')).toHaveLength(2);
    expect((await eventsOf(o.id)).filter((e) => e.type === 'order_status_changed')).toHaveLength(1);
  });

  it('one live bid per provider: a second is 409 bid_already_exists; after withdrawing, a new one is fine', async () => {
    const o = await newOrder(await client(), { publish: true });
    const p = await provider('Повторщик');
    const first = await call('POST', `/api/v1/orders/${o.id}/bids`, p.auth, bidBody());
    expect(first.status).toBe(201);
    const again = await call('POST', `/api/v1/orders/${o.id}/bids`, p.auth, bidBody(70_000));
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('bid_already_exists');
    expect(again.headers['content-type']).toContain('application/problem+json');

    expect((await call('POST', `/api/v1/bids/${first.body.id}/withdraw`, p.auth)).status).toBe(200);
    const renewed = await call('POST', `/api/v1/orders/${o.id}/bids`, p.auth, bidBody(70_000));
    expect(renewed.status).toBe(201);
    expect((await bidsOf(o.id)).map((b) => b.status)).toEqual(['withdrawn', 'pending']);
    expect((await orderRow(o.id)).bidCount).toBe(1);
  });

  it('a retried bid with the same Idempotency-Key gets the first answer, not a conflict', async () => {
    const o = await newOrder(await client(), { publish: true });
    const p = await provider('Мобильный');
    const send = () =>
      t.app.inject({
        method: 'POST',
        url: `/api/v1/orders/${o.id}/bids`,
        headers: { ...p.auth, 'idempotency-key': `bid-retry-${o.id}` },
        payload: bidBody(),
      });
    const first = await send();
    const retry = await send();
    expect(first.statusCode).toBe(201);
    expect(retry.statusCode).toBe(201);
    expect(retry.json().id).toBe(first.json().id);
    expect(await bidsOf(o.id)).toHaveLength(1);
    expect((await orderRow(o.id)).bidCount).toBe(1);
  });

  it('two bids of one provider at once: one 201, one 409, one row', async () => {
    for (let round = 0; round < 3; round++) {
      const o = await newOrder(await client(), { publish: true });
      const p = await provider(`Двойной ${round}`);
      const answers = await Promise.all(
        [80_000, 90_000].map((amount) =>
          call('POST', `/api/v1/orders/${o.id}/bids`, p.auth, bidBody(amount)),
        ),
      );
      expect(answers.map((a) => a.status).sort()).toEqual([201, 409]);
      expect(answers.find((a) => a.status === 409)?.body.code).toBe('bid_already_exists');
      expect(await bidsOf(o.id)).toHaveLength(1);
      expect((await orderRow(o.id)).bidCount).toBe(1);
    }
  });

  it('bids of several providers at once on a published order: each lands and counts, one move to bidding', async () => {
    const owner = await client();
    const o = await newOrder(owner, { publish: true });
    const bidders = await Promise.all([1, 2, 3, 4, 5].map((i) => provider(`Толпа ${i}`)));
    const answers = await Promise.all(
      bidders.map((p, i) => call('POST', `/api/v1/orders/${o.id}/bids`, p.auth, bidBody(80_000 + i))),
    );
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201, 201]);
    expect(await bidsOf(o.id)).toHaveLength(5);
    expect(await orderRow(o.id)).toMatchObject({ status: 'bidding', bidCount: 5 });
    const history = await t.db.select().from(orderStatusHistory).where(eq(orderStatusHistory.orderId, o.id));
    expect(history.filter((h) => h.toStatus === 'bidding')).toHaveLength(1);
    const events = await eventsOf(o.id);
    expect(events.filter((e) => e.type === 'bid_received')).toHaveLength(5);
    expect(events.filter((e) => e.to_status === 'bidding')).toHaveLength(1);
  });

  it.each([
    ['bid', 'it lands, and the accept turns it down'],
    ['accept', 'the bid is 409 order_is_assigned'],
  ] as const)('a bid racing an accept, the %s first: %s', async (first, _outcome) => {
    const race = await raceInOrder({
      async setup(attempt) {
        const owner = await client();
        const o = await newOrder(owner, { publish: true });
        const early = await provider(`Первый ${first} ${attempt}`);
        const firstBid = (await call('POST', `/api/v1/orders/${o.id}/bids`, early.auth, bidBody())).body;
        return { owner, o, firstBid, late: await provider(`Догоняющий ${first} ${attempt}`) };
      },
      a: (s) =>
        call('POST', `/api/v1/bids/${s.firstBid.id}/accept`, s.owner.auth, { amount: s.firstBid.amount }),
      b: (s) => call('POST', `/api/v1/orders/${s.o.id}/bids`, s.late.auth, bidBody(70_000)),
      first: first === 'accept' ? 'a' : 'b',
      landed: (_, bid) => (bid.status === 201) === (first === 'bid'),
    });
    const { a: accept, b: bid } = race;
    expect(accept.status).toBe(201);
    const rows = await bidsOf(race.state.o.id);
    if (first === 'bid') {
      expect(rows.find((r) => r.id === bid.body.id)).toMatchObject({
        status: 'rejected',
        rejectReason: 'another bid was accepted',
      });
      expect(rows).toHaveLength(2);
    } else {
      expect([bid.status, bid.body.code]).toEqual([409, 'order_is_assigned']);
      expect(rows).toHaveLength(1);
    }
    expect(rows.filter((r) => r.status === 'pending')).toEqual([]);
  });

  it('audits the bid as made and the order as it changed, with the request id', async () => {
    const o = await insertOrder(await client());
    const p = await provider('Проверяемый');
    const made = await t.app.inject({
      method: 'POST',
      url: `/api/v1/orders/${o.id}/bids`,
      headers: { ...p.auth, 'x-request-id': `bid-audit-${o.id}` },
      payload: bidBody(),
    });
    expect(made.statusCode).toBe(201);
    const bid = made.json();
    const [row] = await bidsOf(o.id);
    const [created] = await t.db.select().from(auditLog).where(eq(auditLog.entityId, bid.id));
    expect(created).toMatchObject({
      action: 'create',
      entity: 'bids',
      actorId: p.user.id,
      requestId: `bid-audit-${o.id}`,
      changes: diffFields(null, row),
    });
    expect(created?.changes).toMatchObject({
      amount: { before: null, after: 80_000 },
      created_at: { before: null, after: bid.created_at },
    });
    const [opened] = await t.db.select().from(auditLog).where(eq(auditLog.entityId, o.id));
    expect(opened).toMatchObject({
      action: 'update',
      entity: 'orders',
      actorId: p.user.id,
      requestId: `bid-audit-${o.id}`,
      changes: {
        status: { before: 'published', after: 'bidding' },
        bid_count: { before: 0, after: 1 },
      },
    });
    expect(Object.keys(opened!.changes).sort()).toEqual(['bid_count', 'status']);
  });

  it('refuses clients, providers of other subcategories, own orders and closed orders, changing nothing', async () => {
    const owner = await client();
    const o = await newOrder(owner, { publish: true });
    const before = await snapshot(o.id);

    const plainClient = await client('Просто клиент');
    const painter = await provider('Маляр', { slugs: ['furniture'] });
    // The order's client is a provider in the same subcategory too.
    const ownerAsProvider = await provider('Хозяин');
    const own = await newOrder(ownerAsProvider, { publish: true });
    const ownBefore = await snapshot(own.id);

    for (const [who, orderId, status, code] of [
      [plainClient, o.id, 403, 'provider_profile_required'],
      [painter, o.id, 403, 'subcategory_not_offered'],
      [ownerAsProvider, own.id, 403, 'own_order'],
    ] as const) {
      const answer = await call('POST', `/api/v1/orders/${orderId}/bids`, who.auth, bidBody());
      expect(answer.status, code).toBe(status);
      expect(answer.body.code).toBe(code);
    }
    expect(await snapshot(o.id)).toBe(before);
    expect(await snapshot(own.id)).toBe(ownBefore);

    const p = await provider('Опоздавший');
    const agreed = await provider('Исполнитель');
    for (const [status, code, http] of [
      ['draft', 'order_not_found', 404],
      ['assigned', 'order_is_assigned', 409],
      ['cancelled', 'order_is_cancelled', 409],
      ['completed', 'order_is_completed', 409],
    ] as const) {
      const closed = await orderIn(owner, status, agreed);
      const closedBefore = await snapshot(closed);
      const answer = await call('POST', `/api/v1/orders/${closed}/bids`, p.auth, bidBody());
      expect(answer.status, status).toBe(http);
      expect(answer.body.code).toBe(code);
      expect(await snapshot(closed)).toBe(closedBefore);
    }
    const missing = await call('POST', `/api/v1/orders/${crypto.randomUUID()}/bids`, p.auth, bidBody());
    expect(missing.status).toBe(404);
    expect((await call('POST', `/api/v1/orders/${o.id}/bids`, undefined, bidBody())).status).toBe(401);
  });

  it('validates the body: amount within the category range, no status or unknown fields', async () => {
    const o = await newOrder(await client(), { publish: true });
    const before = await snapshot(o.id);
    const p = await provider('Валидатор');
    for (const [payload, status, code] of [
      [{ amount: 100 }, 422, 'amount_out_of_range'],
      [{ amount: 20_000_000 }, 422, 'amount_out_of_range'],
      [{ amount: 0 }, 400, 'validation_failed'],
      [{ amount: 1.5 }, 400, 'validation_failed'],
      [{ amount: '80000' }, 400, 'validation_failed'],
      [{ amount: 80_000, status: 'accepted' }, 400, 'validation_failed'],
      [{ amount: 80_000, provider_profile_id: p.providerId }, 400, 'validation_failed'],
      [{ message: 'без суммы' }, 400, 'validation_failed'],
    ] as const) {
      const answer = await call('POST', `/api/v1/orders/${o.id}/bids`, p.auth, payload);
      expect(answer.status, JSON.stringify(payload)).toBe(status);
      expect(answer.body.code).toBe(code);
    }
    expect(await snapshot(o.id)).toBe(before);
  });
});

describe('changing, withdrawing and rejecting a bid', () => {
  it('the provider changes their pending bid; nobody else can, and status cannot be set', async () => {
    const o = await newOrder(await client(), { publish: true });
    const p = await provider('Правщик');
    const bid = (await call('POST', `/api/v1/orders/${o.id}/bids`, p.auth, bidBody())).body;

    const changed = await call('PATCH', `/api/v1/bids/${bid.id}`, p.auth, {
      amount: 75_000,
      message: null,
      is_negotiable: false,
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      amount: 75_000,
      message: null,
      is_negotiable: false,
      status: 'pending',
    });
    const audit = await t.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.entityId, bid.id), eq(auditLog.action, 'update')));
    expect(audit[0]?.changes).toMatchObject({ amount: { before: 80_000, after: 75_000 } });

    const before = await snapshot(o.id);
    const other = await provider('Чужой');
    const owner = await user();
    for (const [who, method, url, payload, status, code] of [
      [other, 'PATCH', `/api/v1/bids/${bid.id}`, { amount: 60_000 }, 404, 'bid_not_found'],
      [other, 'POST', `/api/v1/bids/${bid.id}/withdraw`, undefined, 404, 'bid_not_found'],
      [owner, 'PATCH', `/api/v1/bids/${bid.id}`, { amount: 60_000 }, 404, 'bid_not_found'],
      [p, 'PATCH', `/api/v1/bids/${bid.id}`, { status: 'accepted' }, 400, 'validation_failed'],
      [p, 'PATCH', `/api/v1/bids/${bid.id}`, {}, 400, 'validation_failed'],
      [p, 'PATCH', `/api/v1/bids/${bid.id}`, { amount: 10 }, 422, 'amount_out_of_range'],
    ] as const) {
      const answer = await call(method, url, who.auth, payload);
      expect(answer.status, `${method} ${JSON.stringify(payload)}`).toBe(status);
      expect(answer.body.code).toBe(code);
    }
    expect(await snapshot(o.id)).toBe(before);
  });

  it('withdrawing: only a pending bid, once; the count goes down; the client is told', async () => {
    const owner = await client();
    const o = await newOrder(owner, { publish: true });
    const p = await provider('Уходящий');
    const bid = (await call('POST', `/api/v1/orders/${o.id}/bids`, p.auth, bidBody())).body;
    expect((await orderRow(o.id)).bidCount).toBe(1);
    const withdrawn = await call('POST', `/api/v1/bids/${bid.id}/withdraw`, p.auth);
    expect(withdrawn.status).toBe(200);
    expect(withdrawn.body.status).toBe('withdrawn');
    expect(await orderRow(o.id)).toMatchObject({ bidCount: 0, status: 'bidding' });
    expect(await eventsOf(o.id)).toContainEqual({
      type: 'bid_withdrawn',
      order_id: o.id,
      bid_id: bid.id,
      recipient_user_ids: [owner.user.id],
    });

    const before = await snapshot(o.id);
    const again = await call('POST', `/api/v1/bids/${bid.id}/withdraw`, p.auth);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('bid_is_withdrawn');
    const edit = await call('PATCH', `/api/v1/bids/${bid.id}`, p.auth, { amount: 90_000 });
    expect(edit.body.code).toBe('bid_is_withdrawn');
    expect(await snapshot(o.id)).toBe(before);
  });

  it('the order’s client rejects a pending bid with a reason; the provider is told; nobody else may', async () => {
    const owner = await client();
    const o = await newOrder(owner, { publish: true });
    const p = await provider('Отвергнутый');
    const bid = (await call('POST', `/api/v1/orders/${o.id}/bids`, p.auth, bidBody())).body;

    const before = await snapshot(o.id);
    const otherClient = await client('Чужой клиент');
    const staff = await user(['moderator']);
    for (const who of [otherClient, p, staff]) {
      const answer = await call('POST', `/api/v1/bids/${bid.id}/reject`, who.auth, {});
      expect(answer.status).toBe(404);
      expect(answer.body.code).toBe('bid_not_found');
    }
    const mass = await call('POST', `/api/v1/bids/${bid.id}/reject`, owner.auth, { status: 'accepted' });
    expect(mass.status).toBe(400);
    expect(await snapshot(o.id)).toBe(before);

    const rejected = await call('POST', `/api/v1/bids/${bid.id}/reject`, owner.auth, {
      reason: 'Слишком дорого',
    });
    expect(rejected.status).toBe(200);
    expect(rejected.body).toMatchObject({ status: 'rejected', reject_reason: 'Слишком дорого' });
    expect(rejected.body.decided_at).toBeTruthy();
    expect(await eventsOf(o.id)).toContainEqual(
      expect.objectContaining({ type: 'bid_rejected', recipient_user_ids: [p.user.id], bid_id: bid.id }),
    );
    const twice = await call('POST', `/api/v1/bids/${bid.id}/reject`, owner.auth, {});
    expect(twice.status).toBe(409);
    expect(twice.body.code).toBe('bid_is_rejected');
    // Rejected is final for that provider on this order (DOMAIN.md: once per order; only a withdrawn bid
    // leaves room for another): a new bid is 409 and changes nothing.
    const before2 = await snapshot(o.id);
    const again = await call('POST', `/api/v1/orders/${o.id}/bids`, p.auth, bidBody(60_000));
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('bid_rejected');
    expect(await snapshot(o.id)).toBe(before2);
    // Another provider still may.
    const other = await provider('Другой мастер');
    expect((await call('POST', `/api/v1/orders/${o.id}/bids`, other.auth, bidBody(60_000))).status).toBe(201);
  });
});

describe('POST /bids/{id}/accept', () => {
  it('accepts one bid, rejects the other pending ones, assigns the order and tells everyone', async () => {
    const owner = await client('Айгуль');
    // Written to the table: a service date further ahead than the create route allows.
    const o = await insertOrder(owner, { serviceDate: '2030-06-01' });
    const [a, b, c] = [await provider('Первый'), await provider('Второй'), await provider('Третий')];
    const bidA = (await call('POST', `/api/v1/orders/${o.id}/bids`, a.auth, bidBody(80_000))).body;
    const bidB = (await call('POST', `/api/v1/orders/${o.id}/bids`, b.auth, bidBody(90_000))).body;
    const bidC = (await call('POST', `/api/v1/orders/${o.id}/bids`, c.auth, bidBody(70_000))).body;
    expect((await call('POST', `/api/v1/bids/${bidC.id}/withdraw`, c.auth)).status).toBe(200);

    const accepted = await call('POST', `/api/v1/bids/${bidA.id}/accept`, owner.auth, { amount: 80_000 });
    expect(accepted.status).toBe(201);
    expect(accepted.body).toMatchObject({
      order_id: o.id,
      my_role: 'client',
      start_date: '2030-06-01',
      bid: { id: bidA.id, status: 'accepted', amount: 80_000 },
      order: { status: 'assigned', final_price: 80_000 },
      provider: { id: a.providerId, business_name: 'Первый' },
      provider_contact: { full_name: 'Первый Owner', email: a.email },
      client_contact: null,
      progress_notes: [],
    });

    const rows = await bidsOf(o.id);
    expect(Object.fromEntries(rows.map((r) => [r.id, r.status]))).toEqual({
      [bidA.id]: 'accepted',
      [bidB.id]: 'rejected',
      [bidC.id]: 'withdrawn',
    });
    const after = await orderRow(o.id);
    expect(after).toMatchObject({ status: 'assigned', finalPrice: 80_000 });
    expect(after.assignedAt).toBeInstanceOf(Date);
    const assignments = await t.db.select().from(orderAssignments).where(eq(orderAssignments.orderId, o.id));
    expect(assignments).toMatchObject([
      { bidId: bidA.id, providerUserId: a.user.id, clientUserId: owner.user.id, startDate: '2030-06-01' },
    ]);

    const events = await eventsOf(o.id);
    expect(events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'bid_accepted', recipient_user_ids: [a.user.id], bid_id: bidA.id }),
        expect.objectContaining({ type: 'bid_rejected', recipient_user_ids: [b.user.id], bid_id: bidB.id }),
        expect.objectContaining({
          type: 'order_assigned',
          recipient_user_ids: [owner.user.id, a.user.id],
        }),
        expect.objectContaining({ type: 'order_status_changed', to_status: 'assigned' }),
      ]),
    );
    // The withdrawn bid's provider hears nothing.
    expect(events.filter((e) => e.recipient_user_ids.includes(c.user.id))).toEqual([]);

    // The assigned provider now sees the client's contact card.
    const seen = await call('GET', `/api/v1/orders/${o.id}/assignment`, a.auth);
    expect(seen.status).toBe(200);
    expect(seen.body).toMatchObject({
      my_role: 'provider',
      client_contact: { full_name: 'Айгуль', email: owner.email },
      provider_contact: null,
    });

    // Nothing more can happen to the bids of an assigned order.
    const before = await snapshot(o.id);
    const late = await provider('Поздний');
    for (const [who, method, url, payload, status, code] of [
      [owner, 'POST', `/api/v1/bids/${bidB.id}/accept`, { amount: 90_000 }, 409, 'order_is_assigned'],
      [owner, 'POST', `/api/v1/bids/${bidA.id}/accept`, { amount: 80_000 }, 409, 'order_is_assigned'],
      [owner, 'POST', `/api/v1/bids/${bidB.id}/reject`, {}, 409, 'order_is_assigned'],
      [late, 'POST', `/api/v1/orders/${o.id}/bids`, bidBody(), 409, 'order_is_assigned'],
      [a, 'POST', `/api/v1/bids/${bidA.id}/withdraw`, undefined, 409, 'bid_is_accepted'],
      [a, 'PATCH', `/api/v1/bids/${bidA.id}`, { amount: 99_000 }, 409, 'bid_is_accepted'],
    ] as const) {
      const answer = await call(method, url, who.auth, payload);
      expect(answer.status, url).toBe(status);
      expect(answer.body.code).toBe(code);
    }
    expect(await snapshot(o.id)).toBe(before);
  });

  it('only the order’s client accepts: others get 404 and nothing changes', async () => {
    const owner = await client();
    const o = await newOrder(owner, { publish: true });
    const p = await provider('Ждущий');
    const bid = (await call('POST', `/api/v1/orders/${o.id}/bids`, p.auth, bidBody())).body;
    const before = await snapshot(o.id);
    for (const who of [await client('Посторонний'), p, await user(['admin'])]) {
      const answer = await call('POST', `/api/v1/bids/${bid.id}/accept`, who.auth, { amount: bid.amount });
      expect(answer.status).toBe(404);
      expect(answer.body.code).toBe('bid_not_found');
    }
    expect(
      (await call('POST', `/api/v1/bids/${crypto.randomUUID()}/accept`, owner.auth, { amount: bid.amount }))
        .status,
    ).toBe(404);
    expect(await snapshot(o.id)).toBe(before);
  });

  it('concurrent accepts (two bids, and one bid twice) give one 201 and one accepted bid, five rounds', async () => {
    const results: number[][] = [];
    for (let round = 0; round < 5; round++) {
      const owner = await client(`Спешащий ${round}`);
      const o = await newOrder(owner, { publish: true });
      const p1 = await provider(`Гонщик A${round}`);
      const p2 = await provider(`Гонщик B${round}`);
      const b1 = (await call('POST', `/api/v1/orders/${o.id}/bids`, p1.auth, bidBody(80_000))).body;
      const b2 = (await call('POST', `/api/v1/orders/${o.id}/bids`, p2.auth, bidBody(85_000))).body;

      const answers = await Promise.all(
        [b1, b2, b1, b2].map((b) =>
          call('POST', `/api/v1/bids/${b.id}/accept`, owner.auth, { amount: b.amount }),
        ),
      );
      const statuses = answers.map((a) => a.status);
      results.push(statuses);
      expect(
        statuses.filter((s) => s === 201),
        JSON.stringify(statuses),
      ).toHaveLength(1);
      expect(statuses.filter((s) => s === 409)).toHaveLength(3);
      for (const refused of answers.filter((a) => a.status === 409)) {
        expect(['order_is_assigned', 'bid_is_accepted', 'bid_is_rejected']).toContain(refused.body.code);
      }

      const rows = await bidsOf(o.id);
      const winner = answers.find((a) => a.status === 201)!.body.bid.id as string;
      expect(rows.filter((r) => r.status === 'accepted').map((r) => r.id)).toEqual([winner]);
      expect(rows.filter((r) => r.status === 'rejected')).toHaveLength(1);
      const assignments = await t.db
        .select()
        .from(orderAssignments)
        .where(eq(orderAssignments.orderId, o.id));
      expect(assignments).toHaveLength(1);
      expect(assignments[0]?.bidId).toBe(winner);
      const after = await orderRow(o.id);
      expect(after.status).toBe('assigned');
      expect(after.finalPrice).toBe(rows.find((r) => r.id === winner)?.amount);
      const events = await eventsOf(o.id);
      expect(events.filter((e) => e.type === 'bid_accepted')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'order_assigned')).toHaveLength(1);
    }
    expect(results).toHaveLength(5);
  });

  it('accepts only at the amount the client saw: a changed bid is 409 bid_changed, no body is 400', async () => {
    const owner = await client();
    const o = await newOrder(owner, { publish: true });
    const p = await provider('Передумавший о цене');
    const bid = (await call('POST', `/api/v1/orders/${o.id}/bids`, p.auth, bidBody(80_000))).body;
    expect((await call('PATCH', `/api/v1/bids/${bid.id}`, p.auth, { amount: 95_000 })).status).toBe(200);
    const before = await snapshot(o.id);

    const stale = await call('POST', `/api/v1/bids/${bid.id}/accept`, owner.auth, { amount: 80_000 });
    expect(stale.status).toBe(409);
    expect(stale.body.code).toBe('bid_changed');
    const bare = await call('POST', `/api/v1/bids/${bid.id}/accept`, owner.auth);
    expect(bare.status).toBe(400);
    expect(await snapshot(o.id)).toBe(before);

    const fresh = await call('POST', `/api/v1/bids/${bid.id}/accept`, owner.auth, { amount: 95_000 });
    expect(fresh.status).toBe(201);
    expect(fresh.body.order).toMatchObject({ status: 'assigned', final_price: 95_000 });
  });

  it.each([
    ['accept', 'assigned at the price sent, and the change is 409 bid_is_accepted'],
    ['change', 'the accept is 409 bid_changed, and the bid waits at the new price'],
  ] as const)('an accept racing a price change, the %s first: %s', async (first, _outcome) => {
    const race = await raceInOrder({
      async setup(attempt) {
        const owner = await client();
        const o = await newOrder(owner, { publish: true });
        const p = await provider(`Торгующийся ${first} ${attempt}`);
        const bid = (await call('POST', `/api/v1/orders/${o.id}/bids`, p.auth, bidBody(80_000))).body;
        return { owner, o, p, bid };
      },
      a: (s) => call('POST', `/api/v1/bids/${s.bid.id}/accept`, s.owner.auth, { amount: 80_000 }),
      b: (s) => call('PATCH', `/api/v1/bids/${s.bid.id}`, s.p.auth, { amount: 120_000 }),
      first: first === 'accept' ? 'a' : 'b',
      landed: (accept) => (accept.status === 201) === (first === 'accept'),
    });
    const { a: accept, b: change } = race;
    const order = await orderRow(race.state.o.id);
    if (first === 'accept') {
      expect([change.status, change.body.code]).toEqual([409, 'bid_is_accepted']);
      expect(order).toMatchObject({ status: 'assigned', finalPrice: 80_000 });
      expect((await bidsOf(race.state.o.id))[0]).toMatchObject({ status: 'accepted', amount: 80_000 });
    } else {
      expect([accept.status, accept.body.code, change.status]).toEqual([409, 'bid_changed', 200]);
      expect(order).toMatchObject({ status: 'bidding', finalPrice: null });
      expect((await bidsOf(race.state.o.id))[0]).toMatchObject({ status: 'pending', amount: 120_000 });
    }
  });

  it.each([
    ['accept', 'assigned, and the withdraw is 409'],
    ['withdraw', 'withdrawn, and the accept is 409'],
  ] as const)('an accept racing a withdraw of the same bid, the %s first: %s', async (first, _outcome) => {
    const race = await raceInOrder({
      async setup(attempt) {
        const owner = await client();
        const o = await newOrder(owner, { publish: true });
        const p = await provider(`Передумавший ${first} ${attempt}`);
        const bid = (await call('POST', `/api/v1/orders/${o.id}/bids`, p.auth, bidBody())).body;
        return { owner, o, p, bid };
      },
      a: (s) => call('POST', `/api/v1/bids/${s.bid.id}/accept`, s.owner.auth, { amount: s.bid.amount }),
      b: (s) => call('POST', `/api/v1/bids/${s.bid.id}/withdraw`, s.p.auth),
      first: first === 'accept' ? 'a' : 'b',
      landed: (accept) => (accept.status === 201) === (first === 'accept'),
    });
    const { a: accept, b: withdraw } = race;
    const orderId = race.state.o.id;
    const [row] = await bidsOf(orderId);
    const assignments = await t.db
      .select()
      .from(orderAssignments)
      .where(eq(orderAssignments.orderId, orderId));
    if (first === 'accept') {
      expect(accept.status).toBe(201);
      expect([withdraw.status, withdraw.body.code]).toEqual([409, 'bid_is_accepted']);
      expect(row?.status).toBe('accepted');
      expect(assignments).toHaveLength(1);
      expect((await orderRow(orderId)).status).toBe('assigned');
    } else {
      expect(withdraw.status).toBe(200);
      expect([accept.status, accept.body.code]).toEqual([409, 'bid_is_withdrawn']);
      expect(row?.status).toBe('withdrawn');
      expect(assignments).toHaveLength(0);
      expect((await orderRow(orderId)).status).toBe('bidding');
    }
  });
});

describe('a provider who can no longer take the work', () => {
  const block = async (p: Provider, action: 'block' | 'unblock' = 'block') => {
    const answer = await call(
      'POST',
      `/api/v1/admin/users/${p.user.id}/${action}`,
      (await user(['moderator'])).auth,
    );
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer;
  };
  const close = async (p: Provider) =>
    expect((await call('POST', '/api/v1/me/close', p.auth, p.reauth)).status).toBe(204);
  const erase = async (p: Provider) =>
    expect((await call('POST', '/api/v1/me/erase', p.auth, { confirm: 'ERASE', ...p.reauth })).status).toBe(
      204,
    );

  /** The order's bids as its client lists them, by provider profile id. */
  async function listed(orderId: string, owner: Client) {
    const answer = await call('GET', `/api/v1/orders/${orderId}/bids`, owner.auth);
    expect(answer.status).toBe(200);
    return new Map<string, Record<string, unknown>>(
      answer.body.data.map((b: Record<string, unknown>) => [b.provider_profile_id, b]),
    );
  }

  it.each([
    ['blocked by staff', block, 'blocked'],
    ['who closed their account', close, 'closed'],
    ['who erased their account', erase, 'closed'],
  ] as const)(
    'a provider %s: their pending bid is 409 provider_unavailable, and the client’s list says why',
    async (_, leave, reason) => {
      const owner = await client();
      const o = await newOrder(owner, { publish: true });
      const [gone, staying] = [await provider('Ушедший'), await provider('Оставшийся')];
      const goneBid = (await call('POST', `/api/v1/orders/${o.id}/bids`, gone.auth, bidBody(80_000))).body;
      const stayingBid = (await call('POST', `/api/v1/orders/${o.id}/bids`, staying.auth, bidBody(90_000)))
        .body;
      let bids = await listed(o.id, owner);
      expect(bids.get(gone.providerId)).toMatchObject({
        provider_available: true,
        provider_unavailable_reason: null,
      });

      await leave(gone);
      bids = await listed(o.id, owner);
      expect(bids.get(gone.providerId)).toMatchObject({
        id: goneBid.id,
        status: 'pending',
        provider: null,
        provider_available: false,
        provider_unavailable_reason: reason,
      });
      expect(bids.get(staying.providerId)).toMatchObject({
        provider_available: true,
        provider_unavailable_reason: null,
        provider: { id: staying.providerId },
      });

      const before = await snapshot(o.id);
      const refused = await call('POST', `/api/v1/bids/${goneBid.id}/accept`, owner.auth, { amount: 80_000 });
      expect(refused.status).toBe(409);
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(refused.body.code).toBe('provider_unavailable');
      expect(await snapshot(o.id)).toBe(before);

      // The others' bids are not held up by it.
      const accepted = await call('POST', `/api/v1/bids/${stayingBid.id}/accept`, owner.auth, {
        amount: 90_000,
      });
      expect(accepted.status).toBe(201);
      expect((await orderRow(o.id)).status).toBe('assigned');
    },
  );

  it('an unblocked provider’s pending bid can be accepted again', async () => {
    const owner = await client();
    const o = await newOrder(owner, { publish: true });
    const p = await provider('Вернувшийся');
    const bid = (await call('POST', `/api/v1/orders/${o.id}/bids`, p.auth, bidBody())).body;
    await block(p);
    expect(
      (await call('POST', `/api/v1/bids/${bid.id}/accept`, owner.auth, { amount: bid.amount })).status,
    ).toBe(409);
    await block(p, 'unblock');
    expect((await listed(o.id, owner)).get(p.providerId)).toMatchObject({ provider_available: true });
    expect(
      (await call('POST', `/api/v1/bids/${bid.id}/accept`, owner.auth, { amount: bid.amount })).status,
    ).toBe(201);
  });

  describe.runIf(process.env.DATABASE_URL)('on PostgreSQL, with a connection the test holds', () => {
    /** Waits until `count` statements of this database wait for a lock; false after two seconds. */
    async function lockWaiters(count: number) {
      for (let i = 0; i < 200; i++) {
        const { rows } = await t.database.sql.query(
          `select count(*)::int as n from pg_stat_activity
           where datname = current_database() and wait_event_type = 'Lock'`,
        );
        if ((rows[0] as { n: number }).n >= count) return true;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return false;
    }

    /** A connection of the test's own, outside the app's pool. */
    const connect = async () => {
      const held = new pg.Client({ connectionString: t.database.url });
      await held.connect();
      return Object.assign(held, { release: () => void held.end() });
    };

    it('a block that commits while the accept waits for it is seen: 409, nothing changes', async () => {
      const owner = await client();
      const o = await newOrder(owner, { publish: true });
      const p = await provider('Блок первым');
      const bid = (await call('POST', `/api/v1/orders/${o.id}/bids`, p.auth, bidBody())).body;
      const before = await snapshot(o.id);
      const held = await connect();
      try {
        await held.query('begin');
        await held.query(`update users set status = 'blocked' where id = $1`, [p.user.id]);
        const accept = call('POST', `/api/v1/bids/${bid.id}/accept`, owner.auth, { amount: bid.amount });
        expect(await lockWaiters(1)).toBe(true);
        await held.query('commit');
        const answer = await accept;
        expect([answer.status, answer.body.code]).toEqual([409, 'provider_unavailable']);
      } finally {
        await held.query('rollback').catch(() => {});
        held.release();
      }
      expect(await snapshot(o.id)).toBe(before);
    });

    it('a block that comes while the accept is under way waits for it, and then lands', async () => {
      const owner = await client();
      const o = await newOrder(owner, { publish: true });
      const p = await provider('Принят первым');
      const other = await provider('Второй на заказ');
      const bid = (await call('POST', `/api/v1/orders/${o.id}/bids`, p.auth, bidBody())).body;
      const otherBid = (await call('POST', `/api/v1/orders/${o.id}/bids`, other.auth, bidBody(90_000))).body;
      const moderator = await user(['moderator']);
      const held = await connect();
      let blockDone = false;
      try {
        // The accept stops at rejecting the other bid, once it holds the order and the provider's account.
        await held.query('begin');
        await held.query('select 1 from bids where id = $1 for update', [otherBid.id]);
        const accept = call('POST', `/api/v1/bids/${bid.id}/accept`, owner.auth, { amount: bid.amount });
        expect(await lockWaiters(1)).toBe(true);
        const blocking = call('POST', `/api/v1/admin/users/${p.user.id}/block`, moderator.auth).then((a) => {
          blockDone = true;
          return a;
        });
        expect(await lockWaiters(2)).toBe(true);
        expect(blockDone).toBe(false);
        await held.query('commit');
        expect((await accept).status).toBe(201);
        expect((await blocking).status).toBe(200);
      } finally {
        await held.query('rollback').catch(() => {});
        held.release();
      }
      const rows = await bidsOf(o.id);
      expect(rows.find((r) => r.id === bid.id)?.status).toBe('accepted');
      expect((await orderRow(o.id)).status).toBe('assigned');
      const account = await call('GET', `/api/v1/admin/users/${p.user.id}`, moderator.auth);
      expect(account.body.status).toBe('blocked');
    });
  });
});

describe('GET /orders/{id}/bids and /me/bids', () => {
  it('the client sees every bid with the provider’s card; a bidder only their own; others 404', async () => {
    const owner = await client();
    const o = await newOrder(owner, { publish: true });
    const providers = [await provider('Дорогой'), await provider('Дешёвый'), await provider('Средний')];
    const amounts = [120_000, 60_000, 90_000];
    for (const [i, p] of providers.entries()) {
      expect((await call('POST', `/api/v1/orders/${o.id}/bids`, p.auth, bidBody(amounts[i]))).status).toBe(
        201,
      );
    }

    const all = await call('GET', `/api/v1/orders/${o.id}/bids`, owner.auth);
    expect(all.status).toBe(200);
    expect(all.body.data).toHaveLength(3);
    expect(all.body.data[0]).toMatchObject({ amount: 90_000, provider: { business_name: 'Средний' } });
    expect(JSON.stringify(all.body)).not.toMatch(/email|phone|provider_user_id/);

    // Cheapest first, two at a time.
    const first = await call('GET', `/api/v1/orders/${o.id}/bids?sort=amount&limit=2`, owner.auth);
    expect(first.body.data.map((b: { amount: number }) => b.amount)).toEqual([60_000, 90_000]);
    const second = await call(
      'GET',
      `/api/v1/orders/${o.id}/bids?sort=amount&limit=2&cursor=${first.body.next_cursor}`,
      owner.auth,
    );
    expect(second.body).toMatchObject({ data: [{ amount: 120_000 }], next_cursor: null });
    const wrongCursor = await call(
      'GET',
      `/api/v1/orders/${o.id}/bids?cursor=${first.body.next_cursor}`,
      owner.auth,
    );
    expect(wrongCursor.status).toBe(400);

    const own = await call('GET', `/api/v1/orders/${o.id}/bids`, providers[1]!.auth);
    expect(own.status).toBe(200);
    expect(own.body.data).toHaveLength(1);
    expect(own.body.data[0]).toMatchObject({ amount: 60_000, provider: { id: providers[1]!.providerId } });

    const staff = await call('GET', `/api/v1/orders/${o.id}/bids`, (await user(['moderator'])).auth);
    expect(staff.body.data).toHaveLength(3);
    for (const who of [await provider('Не торговался'), await client('Зевака')]) {
      expect((await call('GET', `/api/v1/orders/${o.id}/bids`, who.auth)).status).toBe(404);
    }
  });

  it('my bids: newest first, by status, page by page, with the order’s title and status', async () => {
    const p = await provider('Активный');
    const owner = await client();
    const orders = [];
    for (const title of ['Первый заказ', 'Второй заказ', 'Третий заказ']) {
      const o = await newOrder(owner, { title, publish: true });
      orders.push(o);
      expect((await call('POST', `/api/v1/orders/${o.id}/bids`, p.auth, bidBody())).status).toBe(201);
    }
    const mine = (await call('GET', '/api/v1/me/bids?limit=2', p.auth)).body;
    expect(mine.data.map((b: { order: { title: string } }) => b.order.title)).toEqual([
      'Третий заказ',
      'Второй заказ',
    ]);
    // The order as every list shows it; its client's id only to the parties, which a bidder is not yet.
    expect(mine.data[0].order).toMatchObject({
      status: 'bidding',
      id: orders[2]!.id,
      title: 'Третий заказ',
      bid_count: 1,
      is_deleted: false,
      client_user_id: null,
    });
    const rest = (await call('GET', `/api/v1/me/bids?limit=2&cursor=${mine.next_cursor}`, p.auth)).body;
    expect(rest).toMatchObject({ data: [{ order: { title: 'Первый заказ' } }], next_cursor: null });

    const firstBid = rest.data[0].id as string;
    await call('POST', `/api/v1/bids/${firstBid}/withdraw`, p.auth);
    const withdrawn = (await call('GET', '/api/v1/me/bids?status=withdrawn', p.auth)).body;
    expect(withdrawn.data.map((b: { id: string }) => b.id)).toEqual([firstBid]);
    // Someone else's list is their own.
    expect((await call('GET', '/api/v1/me/bids', owner.auth)).body.data).toEqual([]);
  });
});

describe('rate limit on bids', () => {
  it('31st bid request in a minute from one user is 429; another user is not held back', async () => {
    const p = await provider('Спамер');
    const unknown = crypto.randomUUID();
    for (let i = 0; i < 30; i++) {
      const answer = await call('POST', `/api/v1/orders/${unknown}/bids`, p.auth, bidBody());
      expect(answer.status).toBe(404);
    }
    const limited = await call('POST', `/api/v1/orders/${unknown}/bids`, p.auth, bidBody());
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);

    const other = await provider('Честный');
    const o = await newOrder(await client(), { publish: true });
    expect((await call('POST', `/api/v1/orders/${o.id}/bids`, other.auth, bidBody())).status).toBe(201);
  });
});
