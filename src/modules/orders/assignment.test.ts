import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helper.ts';
import { orderFixtures, PNG } from '../../../test/order-fixtures.ts';
import { auditLog } from '../../platform/audit/schema.ts';
import { type OrderStatus, orderAssignments, orders } from './schema.ts';

let t: TestApp;
const { call, sub, user, client, provider, uploadPhoto, newOrder, agree, insertOrder, snapshot } =
  orderFixtures(() => t);

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

/**
 * An order with an accepted bid: its client, the assigned provider and the ids. The order is written to the
 * table, for a start date further ahead than the create route allows; the bid and the accept go through
 * the routes.
 */
async function assigned(options: { title?: string } = {}) {
  const owner = await client('Клиентка Нургуль');
  const o = await insertOrder(owner, { title: options.title, serviceDate: '2030-07-15' });
  const p = await provider('Мастер Эрлан');
  const bidId = await agree(o.id, owner, p, { amount: 90_000 });
  return { owner, provider: p, order: o, bidId };
}

async function setStatus(orderId: string, status: OrderStatus) {
  await t.db.update(orders).set({ status }).where(eq(orders.id, orderId));
}

describe('GET /orders/{id}/assignment', () => {
  it('the parties see the agreed work and each other’s contacts; moderators both; others 404', async () => {
    const { owner, provider: p, order: o, bidId } = await assigned();

    const forClient = await call('GET', `/api/v1/orders/${o.id}/assignment`, owner.auth);
    expect(forClient.status).toBe(200);
    expect(forClient.body).toMatchObject({
      order_id: o.id,
      my_role: 'client',
      start_date: '2030-07-15',
      bid: { id: bidId, amount: 90_000, status: 'accepted' },
      order: { id: o.id, status: 'assigned', final_price: 90_000, currency: 'KGS' },
      provider: { id: p.providerId, business_name: 'Мастер Эрлан' },
      provider_contact: { full_name: 'Мастер Эрлан Owner', email: p.email },
      client_contact: null,
      progress_notes: [],
      completion_notes: null,
      completion_photo_file_ids: [],
    });

    const forProvider = await call('GET', `/api/v1/orders/${o.id}/assignment`, p.auth);
    expect(forProvider.body).toMatchObject({
      my_role: 'provider',
      client_contact: { full_name: 'Клиентка Нургуль', email: owner.email },
      provider_contact: null,
    });

    const moderator = await call(
      'GET',
      `/api/v1/orders/${o.id}/assignment`,
      (await user(['moderator'])).auth,
    );
    expect(moderator.body).toMatchObject({
      my_role: 'staff',
      client_contact: { email: owner.email },
      provider_contact: { email: p.email },
    });
    const analyst = await call('GET', `/api/v1/orders/${o.id}/assignment`, (await user(['analyst'])).auth);
    expect(analyst.body).toMatchObject({ my_role: 'staff', client_contact: null, provider_contact: null });

    for (const who of [await provider('Посторонний мастер'), await client('Посторонний клиент')]) {
      const answer = await call('GET', `/api/v1/orders/${o.id}/assignment`, who.auth);
      expect(answer.status).toBe(404);
      expect(answer.body.code).toBe('assignment_not_found');
      expect(JSON.stringify(answer.body)).not.toContain(owner.email);
    }
    expect((await call('GET', `/api/v1/orders/${crypto.randomUUID()}/assignment`, owner.auth)).status).toBe(
      404,
    );
  });

  it('an order without an accepted bid has no assignment, even for its client', async () => {
    const owner = await client();
    const o = await newOrder(owner, { publish: true });
    const answer = await call('GET', `/api/v1/orders/${o.id}/assignment`, owner.auth);
    expect(answer.status).toBe(404);
    expect(answer.body.code).toBe('assignment_not_found');
  });
});

describe('progress notes', () => {
  it('the assigned provider adds notes while the work is on; they are kept oldest first and audited', async () => {
    const { owner, provider: p, order: o } = await assigned();
    const first = await call('POST', `/api/v1/orders/${o.id}/assignment/notes`, p.auth, {
      text: '  Купил смеситель  ',
    });
    expect(first.status).toBe(201);
    expect(first.body.progress_notes).toEqual([{ at: expect.any(String), text: 'Купил смеситель' }]);
    await setStatus(o.id, 'in_progress');
    await call('POST', `/api/v1/orders/${o.id}/assignment/notes`, p.auth, { text: 'Иштин жарымы бүттү' });

    const seen = await call('GET', `/api/v1/orders/${o.id}/assignment`, owner.auth);
    expect(seen.body.progress_notes.map((n: { text: string }) => n.text)).toEqual([
      'Купил смеситель',
      'Иштин жарымы бүттү',
    ]);
    const [assignment] = await t.db.select().from(orderAssignments).where(eq(orderAssignments.orderId, o.id));
    const audit = await t.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.entityId, assignment!.id), eq(auditLog.action, 'update')));
    expect(audit).toHaveLength(2);
    expect(audit[0]?.changes).toMatchObject({ progress_note_count: { before: 0, after: 1 } });
  });

  it('refuses the client, other providers, staff, bad bodies and finished orders, changing nothing', async () => {
    const { owner, provider: p, order: o } = await assigned();
    const before = await snapshot(o.id);
    const url = `/api/v1/orders/${o.id}/assignment/notes`;
    for (const [who, payload, status, code] of [
      [owner, { text: 'Я клиент' }, 403, 'assigned_provider_only'],
      [await user(['admin']), { text: 'Я админ' }, 403, 'assigned_provider_only'],
      [await provider('Чужой мастер'), { text: 'Я чужой' }, 404, 'assignment_not_found'],
      [await client('Чужой клиент'), { text: 'Я чужой' }, 404, 'assignment_not_found'],
      [p, { text: '   ' }, 400, 'validation_failed'],
      [p, { text: '' }, 400, 'validation_failed'],
      [p, { text: 'ok', at: '2020-01-01T00:00:00Z' }, 400, 'validation_failed'],
      [p, {}, 400, 'validation_failed'],
    ] as const) {
      const answer = await call('POST', url, who.auth, payload);
      expect(answer.status, JSON.stringify(payload)).toBe(status);
      expect(answer.body.code).toBe(code);
    }
    expect(await snapshot(o.id)).toBe(before);

    for (const status of ['completed', 'cancelled', 'disputed'] as const) {
      await setStatus(o.id, status);
      const closed = await snapshot(o.id);
      const answer = await call('POST', url, p.auth, { text: 'Поздно' });
      expect(answer.status).toBe(409);
      expect(answer.body.code).toBe(`order_is_${status}`);
      expect(await snapshot(o.id)).toBe(closed);
    }
  });
});

describe('PATCH /orders/{id}/assignment', () => {
  it('the assigned provider sets completion notes and their own order photos; the parties can view them', async () => {
    const { owner, provider: p, order: o } = await assigned();
    await setStatus(o.id, 'in_progress');
    const photos = [await uploadPhoto(p), await uploadPhoto(p)];
    const patched = await call('PATCH', `/api/v1/orders/${o.id}/assignment`, p.auth, {
      completion_notes: 'Смеситель заменён, протечек нет',
      completion_photo_file_ids: photos,
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      completion_notes: 'Смеситель заменён, протечек нет',
      completion_photo_file_ids: photos,
    });
    const [assignment] = await t.db.select().from(orderAssignments).where(eq(orderAssignments.orderId, o.id));
    const audit = await t.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.entityId, assignment!.id), eq(auditLog.action, 'update')));
    expect(audit[0]?.changes).toHaveProperty('completion_notes');

    // The client downloads a completion photo; strangers and files not on the assignment get 404.
    const photo = await t.app.inject({
      url: `/api/v1/orders/${o.id}/assignment/photos/${photos[0]}`,
      headers: owner.auth,
    });
    expect(photo.statusCode).toBe(200);
    expect(photo.headers['content-type']).toBe('image/png');
    expect(photo.rawPayload.equals(PNG)).toBe(true);
    const stranger = await client('Любопытный');
    const forStranger = await t.app.inject({
      url: `/api/v1/orders/${o.id}/assignment/photos/${photos[0]}`,
      headers: stranger.auth,
    });
    expect(forStranger.statusCode).toBe(404);
    const other = await uploadPhoto(p);
    const notListed = await t.app.inject({
      url: `/api/v1/orders/${o.id}/assignment/photos/${other}`,
      headers: owner.auth,
    });
    expect(notListed.statusCode).toBe(404);

    // Clearing: notes to null, photos to none.
    const cleared = await call('PATCH', `/api/v1/orders/${o.id}/assignment`, p.auth, {
      completion_notes: null,
      completion_photo_file_ids: [],
    });
    expect(cleared.body).toMatchObject({ completion_notes: null, completion_photo_file_ids: [] });
  });

  it('refuses others, files that are not the provider’s order photos, and mass assignment, changing nothing', async () => {
    const { owner, provider: p, order: o } = await assigned();
    const url = `/api/v1/orders/${o.id}/assignment`;
    const theirs = await uploadPhoto(owner);
    const profilePhoto = await uploadPhoto(p, 'profile_photo');
    const before = await snapshot(o.id);
    for (const [who, payload, status, code] of [
      [owner, { completion_notes: 'Я клиент' }, 403, 'assigned_provider_only'],
      [await provider('Чужой'), { completion_notes: 'x' }, 404, 'assignment_not_found'],
      [p, { completion_photo_file_ids: [theirs] }, 422, 'invalid_file'],
      [p, { completion_photo_file_ids: [profilePhoto] }, 422, 'invalid_file'],
      [p, { completion_photo_file_ids: [crypto.randomUUID()] }, 422, 'invalid_file'],
      [p, { client_rating: 5 }, 400, 'validation_failed'],
      [p, { progress_notes: [] }, 400, 'validation_failed'],
      [p, { bid_id: crypto.randomUUID() }, 400, 'validation_failed'],
      [p, {}, 400, 'validation_failed'],
    ] as const) {
      const answer = await call('PATCH', url, who.auth, payload);
      expect(answer.status, JSON.stringify(payload)).toBe(status);
      expect(answer.body.code).toBe(code);
    }
    expect(await snapshot(o.id)).toBe(before);

    await setStatus(o.id, 'completed');
    const late = await call('PATCH', url, p.auth, { completion_notes: 'Поздно' });
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('order_is_completed');
  });
});

describe('GET /me/assignments', () => {
  it('lists my agreed work as provider and as client, newest first, by role and status, page by page', async () => {
    const first = await assigned({ title: 'Первая работа' });
    const second = await assigned({ title: 'Вторая работа' });
    // The first job's provider also orders something as a client.
    await call('POST', '/api/v1/me/client-profile', first.provider.auth, {});
    const own = await newOrder(first.provider, {
      title: 'Мой заказ',
      subcategory_id: (await sub('furniture')).id,
      publish: true,
    });
    const carpenter = await provider('Столяр', { slugs: ['furniture'] });
    const bid = await call('POST', `/api/v1/orders/${own.id}/bids`, carpenter.auth, { amount: 50_000 });
    const accept = { amount: 50_000 };
    expect(
      (await call('POST', `/api/v1/bids/${bid.body.id}/accept`, first.provider.auth, accept)).status,
    ).toBe(201);

    const mine = await call('GET', '/api/v1/me/assignments', first.provider.auth);
    expect(mine.status).toBe(200);
    expect(
      mine.body.data.map((a: { my_role: string; order: { title: string } }) => [a.my_role, a.order.title]),
    ).toEqual([
      ['client', 'Мой заказ'],
      ['provider', 'Первая работа'],
    ]);
    expect(mine.body.data[1]).toMatchObject({
      order: { status: 'assigned', final_price: 90_000 },
      progress_note_count: 0,
      start_date: '2030-07-15',
    });
    const asProvider = await call('GET', '/api/v1/me/assignments?role=provider', first.provider.auth);
    expect(asProvider.body.data.map((a: { order: { title: string } }) => a.order.title)).toEqual([
      'Первая работа',
    ]);
    const page1 = await call('GET', '/api/v1/me/assignments?limit=1', first.provider.auth);
    expect(page1.body.data).toHaveLength(1);
    const page2 = await call(
      'GET',
      `/api/v1/me/assignments?limit=1&cursor=${page1.body.next_cursor}`,
      first.provider.auth,
    );
    expect(page2.body).toMatchObject({ data: [{ order: { title: 'Первая работа' } }], next_cursor: null });

    await setStatus(first.order.id, 'in_progress');
    const working = await call('GET', '/api/v1/me/assignments?status=in_progress', first.provider.auth);
    expect(working.body.data.map((a: { order: { id: string } }) => a.order.id)).toEqual([first.order.id]);

    // Nobody sees anyone else's.
    const theirs = await call('GET', '/api/v1/me/assignments', second.owner.auth);
    expect(theirs.body.data.map((a: { order: { title: string } }) => a.order.title)).toEqual([
      'Вторая работа',
    ]);
    expect((await call('GET', '/api/v1/me/assignments', (await client()).auth)).body.data).toEqual([]);
  });
});
