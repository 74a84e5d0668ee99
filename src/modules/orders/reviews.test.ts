import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInUser } from '../../../test/factories.ts';
import { createTestApp, type TestApp } from '../../../test/helper.ts';
import { auditLog } from '../../platform/audit/schema.ts';
import { serviceAreas, serviceSubcategories } from '../core/schema.ts';
import { bids, type ORDER_STATUSES, orderAssignments, orderReviews, orders } from './schema.ts';

type SignedIn = Awaited<ReturnType<typeof signedInUser>>;
type Client = SignedIn & { clientProfileId: string };
type Provider = SignedIn & { providerId: string };

let t: TestApp;
let plumbing: { id: string; categoryId: string };
let bishkek: string;
let moderator: SignedIn;
let admin: SignedIn;

beforeAll(async () => {
  t = await createTestApp();
  const [sub] = await t.db
    .select({ id: serviceSubcategories.id, categoryId: serviceSubcategories.categoryId })
    .from(serviceSubcategories)
    .where(eq(serviceSubcategories.slug, 'plumbing'));
  plumbing = sub!;
  const [area] = await t.db
    .select({ id: serviceAreas.id })
    .from(serviceAreas)
    .where(eq(serviceAreas.slug, 'bishkek'));
  bishkek = area!.id;
  moderator = await signedInUser(t, ['moderator']);
  admin = await signedInUser(t, ['admin']);
});
afterAll(() => t.close());

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, who?: SignedIn, payload?: object) {
  const response = await t.app.inject({ method, url, headers: { ...who?.auth }, payload });
  return { status: response.statusCode, body: response.body ? response.json() : undefined };
}

async function client(name = 'Айгуль Токтогулова'): Promise<Client> {
  const who = await signedInUser(t, ['client'], name);
  const made = await call('POST', '/api/v1/me/client-profile', who, {});
  expect(made.status).toBe(201);
  return { ...who, clientProfileId: made.body.id };
}

async function provider(name = 'Бакыт Асанов'): Promise<Provider> {
  const who = await signedInUser(t, ['client'], name);
  const made = await call('POST', '/api/v1/me/provider-profile', who, {
    business_name: `${name} Сервис`,
    service_area_ids: [bishkek],
  });
  expect(made.status).toBe(201);
  const service = await call('POST', '/api/v1/me/services', who, {
    subcategory_id: plumbing.id,
    base_price: 300_000,
  });
  expect(service.status).toBe(201);
  return { ...who, providerId: made.body.id };
}

/**
 * An order agreed between a client and a provider, written straight to the tables (the order and bid routes
 * belong to other work): the order, the accepted bid and the assignment.
 */
async function agreedOrder(
  c: Client,
  p: Provider,
  status: (typeof ORDER_STATUSES)[number] = 'completed',
): Promise<string> {
  const now = new Date();
  const [order] = await t.db
    .insert(orders)
    .values({
      clientProfileId: c.clientProfileId,
      clientUserId: c.user.id,
      subcategoryId: plumbing.id,
      categoryId: plumbing.categoryId,
      serviceAreaId: bishkek,
      title: 'Течёт кран на кухне',
      description: 'Нужно заменить смеситель',
      status,
      finalPrice: 300_000,
      publishedAt: now,
      assignedAt: now,
      startedAt: status === 'assigned' ? null : now,
      completedAt: status === 'completed' ? now : null,
    })
    .returning();
  const [bid] = await t.db
    .insert(bids)
    .values({
      orderId: order!.id,
      providerProfileId: p.providerId,
      providerUserId: p.user.id,
      amount: 300_000,
      status: 'accepted',
      decidedAt: now,
    })
    .returning();
  await t.db.insert(orderAssignments).values({
    orderId: order!.id,
    bidId: bid!.id,
    providerProfileId: p.providerId,
    providerUserId: p.user.id,
    clientUserId: c.user.id,
  });
  return order!.id;
}

const review = (orderId: string, who: SignedIn | undefined, payload: object) =>
  call('POST', `/api/v1/orders/${orderId}/reviews`, who, payload);

async function queuedEvents(orderId: string) {
  const { rows } = await t.database.sql.query(
    `select data from pgboss.job where name = 'orders.event' and data->>'order_id' = $1 order by created_on`,
    [orderId],
  );
  return rows.map((r) => r.data as { type: string; recipient_user_ids: string[]; review_id?: string });
}

/** Everything a refused request must leave alone. */
async function snapshot(orderId: string, p: Provider, c: Client) {
  return {
    reviews: await t.db.select().from(orderReviews).where(eq(orderReviews.orderId, orderId)),
    assignment: await t.db.select().from(orderAssignments).where(eq(orderAssignments.orderId, orderId)),
    provider: (await call('GET', `/api/v1/providers/${p.providerId}`)).body,
    client: (await call('GET', '/api/v1/me/client-profile', c)).body,
    events: await queuedEvents(orderId),
  };
}

const providerRating = async (p: Provider) => {
  const { body } = await call('GET', `/api/v1/providers/${p.providerId}`);
  return { rating_avg: body.rating_avg, review_count: body.review_count };
};
const clientRating = async (c: Client) => {
  const { body } = await call('GET', '/api/v1/me/client-profile', c);
  return { rating_avg: body.rating_avg, review_count: body.review_count };
};

describe('rating after completion', () => {
  it('the client rates the provider and the provider rates the client, each in one transaction with the counts', async () => {
    const c = await client();
    const p = await provider();
    const orderId = await agreedOrder(c, p);

    const byClient = await review(orderId, c, { rating: 5, comment: '  Всё отлично, быстро  ' });
    expect(byClient.status).toBe(201);
    expect(byClient.body).toMatchObject({
      order_id: orderId,
      direction: 'client_to_provider',
      author_user_id: c.user.id,
      subject_user_id: p.user.id,
      rating: 5,
      comment: 'Всё отлично, быстро',
      is_deleted: false,
    });
    const [assignment] = await t.db
      .select()
      .from(orderAssignments)
      .where(eq(orderAssignments.orderId, orderId));
    expect(assignment!.clientRating).toBe(5);
    expect(await providerRating(p)).toEqual({ rating_avg: 5, review_count: 1 });

    const byProvider = await review(orderId, p, { rating: 4 });
    expect(byProvider.status).toBe(201);
    expect(byProvider.body).toMatchObject({
      direction: 'provider_to_client',
      author_user_id: p.user.id,
      subject_user_id: c.user.id,
      comment: null,
    });
    expect(await clientRating(c)).toEqual({ rating_avg: 4, review_count: 1 });
    expect(await providerRating(p)).toEqual({ rating_avg: 5, review_count: 1 });

    const events = await queuedEvents(orderId);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'review_received',
        review_id: byClient.body.id,
        recipient_user_ids: [p.user.id],
      }),
      expect.objectContaining({
        type: 'review_received',
        review_id: byProvider.body.id,
        recipient_user_ids: [c.user.id],
      }),
    ]);
    const audit = await t.db.select().from(auditLog).where(eq(auditLog.entityId, byClient.body.id));
    expect(audit.map((a) => [a.action, a.actorId])).toEqual([['create', c.user.id]]);
  });

  it('each side rates once: a second review is 409 and changes nothing', async () => {
    const c = await client();
    const p = await provider();
    const orderId = await agreedOrder(c, p);
    expect((await review(orderId, c, { rating: 3 })).status).toBe(201);
    expect((await review(orderId, p, { rating: 3 })).status).toBe(201);
    const before = await snapshot(orderId, p, c);
    for (const who of [c, p]) {
      const again = await review(orderId, who, { rating: 1 });
      expect(again.status).toBe(409);
      expect(again.body.code).toBe('review_already_exists');
    }
    expect(await snapshot(orderId, p, c)).toEqual(before);
  });

  it('two reviews sent at once: exactly one is written', async () => {
    const c = await client();
    const p = await provider();
    const orderId = await agreedOrder(c, p);
    const answers = await Promise.all([
      review(orderId, c, { rating: 5 }),
      review(orderId, c, { rating: 1 }),
      review(orderId, c, { rating: 3 }),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409]);
    for (const refused of answers.filter((a) => a.status === 409)) {
      expect(refused.body.code).toBe('review_already_exists');
    }
    const rows = await t.db.select().from(orderReviews).where(eq(orderReviews.orderId, orderId));
    expect(rows).toHaveLength(1);
    expect(await providerRating(p)).toEqual({ rating_avg: rows[0]!.rating, review_count: 1 });
    expect((await queuedEvents(orderId)).filter((e) => e.type === 'review_received')).toHaveLength(1);
  });

  it('only when the order is completed, only by its two parties; every refusal changes nothing', async () => {
    const c = await client();
    const p = await provider();
    const stranger = await signedInUser(t, ['client', 'provider']);
    const inProgress = await agreedOrder(c, p, 'in_progress');
    const completed = await agreedOrder(c, p, 'completed');
    const before = [await snapshot(inProgress, p, c), await snapshot(completed, p, c)];

    const cases: [string, SignedIn | undefined, object, number, string][] = [
      [inProgress, c, { rating: 5 }, 409, 'order_is_in_progress'],
      [inProgress, p, { rating: 5 }, 409, 'order_is_in_progress'],
      [completed, stranger, { rating: 5 }, 404, 'order_not_found'],
      [completed, moderator, { rating: 5 }, 403, 'not_a_party'],
      [completed, undefined, { rating: 5 }, 401, 'unauthorized'],
      [completed, c, { rating: 0 }, 400, 'validation_failed'],
      [completed, c, { rating: 6 }, 400, 'validation_failed'],
      [completed, c, { rating: 4.5 }, 400, 'validation_failed'],
      [completed, c, { comment: 'нет оценки' }, 400, 'validation_failed'],
      [completed, c, { rating: 5, author_user_id: stranger.user.id }, 400, 'validation_failed'],
      ['01930000-0000-7000-8000-000000000000', c, { rating: 5 }, 404, 'order_not_found'],
    ];
    for (const [orderId, who, payload, status, code] of cases) {
      const answer = await review(orderId, who, payload);
      expect(answer.status, `${code} ${JSON.stringify(payload)}`).toBe(status);
      expect(answer.body.code).toBe(code);
    }
    expect([await snapshot(inProgress, p, c), await snapshot(completed, p, c)]).toEqual(before);
  });
});

describe('averages and counts', () => {
  it('are exact after several reviews, after staff remove one and after they restore it', async () => {
    const c1 = await client('Айгуль Токтогулова');
    const c2 = await client('Нурлан Беков');
    const c3 = await client('Жаныл Осмонова');
    const p = await provider();
    const other = await provider('Эркин Садыков');

    const orders = [await agreedOrder(c1, p), await agreedOrder(c2, p), await agreedOrder(c3, p)];
    const ratings = [5, 4, 2];
    const written: string[] = [];
    for (const [i, orderId] of orders.entries()) {
      const answer = await review(orderId, [c1, c2, c3][i]!, { rating: ratings[i]! });
      expect(answer.status).toBe(201);
      written.push(answer.body.id);
    }
    expect(await providerRating(p)).toEqual({ rating_avg: 3.67, review_count: 3 });

    // Providers rate client 1 on two orders: 3 and 4.
    const second = await agreedOrder(c1, other);
    const byP = await review(orders[0]!, p, { rating: 3 });
    const byOther = await review(second, other, { rating: 4 });
    expect([byP.status, byOther.status]).toEqual([201, 201]);
    expect(await clientRating(c1)).toEqual({ rating_avg: 3.5, review_count: 2 });

    // Staff take the 2 down: 5 and 4 remain.
    const removed = await call('DELETE', `/api/v1/admin/reviews/${written[2]}`, moderator);
    expect(removed.status).toBe(204);
    expect(await providerRating(p)).toEqual({ rating_avg: 4.5, review_count: 2 });
    const [row] = await t.db.select().from(orderReviews).where(eq(orderReviews.id, written[2]!));
    expect(row).toMatchObject({ isDeleted: true });
    const [mirror] = await t.db
      .select()
      .from(orderAssignments)
      .where(eq(orderAssignments.orderId, orders[2]!));
    expect(mirror!.clientRating).toBeNull();
    const deleteAudit = await t.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.entityId, written[2]!), eq(auditLog.action, 'soft_delete')));
    expect(deleteAudit.map((a) => a.actorId)).toEqual([moderator.user.id]);

    // Removing it again is refused and counts nothing twice.
    const twice = await call('DELETE', `/api/v1/admin/reviews/${written[2]}`, admin);
    expect(twice.status).toBe(409);
    expect(twice.body.code).toBe('review_already_removed');
    expect(await providerRating(p)).toEqual({ rating_avg: 4.5, review_count: 2 });

    // The author cannot write a new one in its place.
    const replacement = await review(orders[2]!, c3, { rating: 5 });
    expect(replacement.status).toBe(409);
    expect(replacement.body.code).toBe('review_already_exists');

    // A review of the client taken down moves the client's numbers.
    expect((await call('DELETE', `/api/v1/admin/reviews/${byOther.body.id}`, admin)).status).toBe(204);
    expect(await clientRating(c1)).toEqual({ rating_avg: 3, review_count: 1 });

    const restored = await call('POST', `/api/v1/admin/reviews/${written[2]}/restore`, admin);
    expect(restored.status).toBe(200);
    expect(restored.body).toMatchObject({ id: written[2], rating: 2, is_deleted: false });
    expect(await providerRating(p)).toEqual({ rating_avg: 3.67, review_count: 3 });
    const [mirrorBack] = await t.db
      .select()
      .from(orderAssignments)
      .where(eq(orderAssignments.orderId, orders[2]!));
    expect(mirrorBack!.clientRating).toBe(2);

    const restoredAgain = await call('POST', `/api/v1/admin/reviews/${written[2]}/restore`, admin);
    expect(restoredAgain.status).toBe(409);
    expect(restoredAgain.body.code).toBe('not_deleted');
    expect(await providerRating(p)).toEqual({ rating_avg: 3.67, review_count: 3 });

    expect((await call('POST', `/api/v1/admin/reviews/${byOther.body.id}/restore`, moderator)).status).toBe(
      200,
    );
    expect(await clientRating(c1)).toEqual({ rating_avg: 3.5, review_count: 2 });
    // The other provider's numbers never moved.
    expect(await providerRating(other)).toEqual({ rating_avg: null, review_count: 0 });
  });
});

describe('reading reviews', () => {
  it('a provider’s public list: live client reviews, newest first, paged, authors by first name only', async () => {
    const p = await provider();
    const clients = [
      await client('Айгуль Токтогулова'),
      await client('Нурлан Беков'),
      await client('Жаныл Осмонова'),
    ];
    const ids: string[] = [];
    for (const [i, c] of clients.entries()) {
      const orderId = await agreedOrder(c, p);
      ids.push((await review(orderId, c, { rating: 3 + i, comment: `Отзыв ${i}` })).body.id);
      // The provider's review of the client is not part of the provider's list.
      expect((await review(orderId, p, { rating: 5 })).status).toBe(201);
    }
    expect((await call('DELETE', `/api/v1/admin/reviews/${ids[1]}`, moderator)).status).toBe(204);

    const first = await call('GET', `/api/v1/providers/${p.providerId}/reviews?limit=1`);
    expect(first.status).toBe(200);
    expect(first.body.data).toEqual([
      {
        id: ids[2],
        rating: 5,
        comment: 'Отзыв 2',
        author_name: 'Жаныл',
        subcategory_id: plumbing.id,
        created_at: expect.any(String),
      },
    ]);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const second = await call(
      'GET',
      `/api/v1/providers/${p.providerId}/reviews?limit=1&cursor=${first.body.next_cursor}`,
    );
    expect(second.body).toEqual({
      data: [expect.objectContaining({ id: ids[0], author_name: 'Айгуль' })],
      next_cursor: null,
    });
    const text = JSON.stringify([first.body, second.body]);
    for (const c of clients) {
      expect(text).not.toContain(c.email);
      expect(text).not.toContain(c.user.id);
    }
    expect(text).not.toContain('Токтогулова');

    expect((await call('GET', '/api/v1/providers/01930000-0000-7000-8000-000000000000/reviews')).status).toBe(
      404,
    );
    const badCursor = await call('GET', `/api/v1/providers/${p.providerId}/reviews?cursor=nonsense`);
    expect(badCursor.status).toBe(400);
    expect(badCursor.body.code).toBe('invalid_cursor');
  });

  it('an order’s reviews: its two parties see the live ones, staff also the removed ones, others nothing', async () => {
    const c = await client();
    const p = await provider();
    const stranger = await signedInUser(t);
    const orderId = await agreedOrder(c, p);
    const kept = (await review(orderId, c, { rating: 4 })).body.id;
    const taken = (await review(orderId, p, { rating: 1, comment: 'плохой клиент' })).body.id;
    expect((await call('DELETE', `/api/v1/admin/reviews/${taken}`, moderator)).status).toBe(204);

    for (const who of [c, p]) {
      const list = await call('GET', `/api/v1/orders/${orderId}/reviews`, who);
      expect(list.status).toBe(200);
      expect(list.body.data.map((r: { id: string }) => r.id)).toEqual([kept]);
    }
    const staffList = await call('GET', `/api/v1/orders/${orderId}/reviews`, moderator);
    expect(staffList.body.data.map((r: { id: string; is_deleted: boolean }) => [r.id, r.is_deleted])).toEqual(
      [
        [taken, true],
        [kept, false],
      ],
    );
    const refused = await call('GET', `/api/v1/orders/${orderId}/reviews`, stranger);
    expect(refused.status).toBe(404);
    expect(refused.body.code).toBe('order_not_found');
    expect((await call('GET', `/api/v1/orders/${orderId}/reviews`)).status).toBe(401);
  });
});

describe('staff moderation', () => {
  it('only admins and moderators remove and restore reviews; refusals change nothing', async () => {
    const c = await client();
    const p = await provider();
    const orderId = await agreedOrder(c, p);
    const id = (await review(orderId, c, { rating: 2 })).body.id;
    const finance = await signedInUser(t, ['finance']);
    const analyst = await signedInUser(t, ['analyst']);
    const before = await snapshot(orderId, p, c);

    for (const who of [c, p, finance, analyst]) {
      const removed = await call('DELETE', `/api/v1/admin/reviews/${id}`, who);
      expect(removed.status).toBe(403);
      expect(removed.body.code).toBe('forbidden');
    }
    expect((await call('DELETE', `/api/v1/admin/reviews/${id}`)).status).toBe(401);
    expect(await snapshot(orderId, p, c)).toEqual(before);

    expect((await call('DELETE', `/api/v1/admin/reviews/${id}`, admin)).status).toBe(204);
    const afterRemoval = await snapshot(orderId, p, c);
    for (const who of [c, p, finance]) {
      expect((await call('POST', `/api/v1/admin/reviews/${id}/restore`, who)).status).toBe(403);
    }
    expect(await snapshot(orderId, p, c)).toEqual(afterRemoval);

    const missing = '01930000-0000-7000-8000-000000000000';
    const notFound = await call('DELETE', `/api/v1/admin/reviews/${missing}`, admin);
    expect([notFound.status, notFound.body.code]).toEqual([404, 'review_not_found']);
    const notFoundRestore = await call('POST', `/api/v1/admin/reviews/${missing}/restore`, admin);
    expect([notFoundRestore.status, notFoundRestore.body.code]).toEqual([404, 'review_not_found']);
  });
});
