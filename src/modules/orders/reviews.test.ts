import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helper.ts';
import { type Client, orderFixtures, type Provider, type SignedIn } from '../../../test/order-fixtures.ts';
import { auditLog } from '../../platform/audit/schema.ts';
import { orderAssignments, orderReviews } from './schema.ts';

let t: TestApp;
const { call, sub, user, client, provider, orderIn, insertAgreedOrder, eventsOf } = orderFixtures(() => t);
let moderator: SignedIn;
let admin: SignedIn;

beforeAll(async () => {
  t = await createTestApp();
  moderator = await user(['moderator']);
  admin = await user(['admin']);
});
afterAll(() => t.close());

const review = (orderId: string, who: SignedIn | undefined, payload: object) =>
  call('POST', `/api/v1/orders/${orderId}/reviews`, who?.auth, payload);

/** Everything a refused request must leave alone. */
async function snapshot(orderId: string, p: Provider, c: Client) {
  return {
    reviews: await t.db.select().from(orderReviews).where(eq(orderReviews.orderId, orderId)),
    assignment: await t.db.select().from(orderAssignments).where(eq(orderAssignments.orderId, orderId)),
    provider: (await call('GET', `/api/v1/providers/${p.providerId}`)).body,
    client: (await call('GET', '/api/v1/me/client-profile', c.auth)).body,
    events: await eventsOf(orderId),
  };
}

const providerRating = async (p: Provider) => {
  const { body } = await call('GET', `/api/v1/providers/${p.providerId}`);
  return { rating_avg: body.rating_avg, review_count: body.review_count };
};
const clientRating = async (c: Client) => {
  const { body } = await call('GET', '/api/v1/me/client-profile', c.auth);
  return { rating_avg: body.rating_avg, review_count: body.review_count };
};

describe('rating after completion', () => {
  it('the client rates the provider and the provider rates the client, each in one transaction with the counts', async () => {
    const c = await client();
    const p = await provider();
    // Written to the tables: the order's whole event queue is checked below.
    const orderId = await insertAgreedOrder(c, p);

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

    const events = await eventsOf(orderId);
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
    const orderId = await orderIn(c, 'completed', p);
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
    const orderId = await orderIn(c, 'completed', p);
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
    expect((await eventsOf(orderId)).filter((e) => e.type === 'review_received')).toHaveLength(1);
  });

  it('only when the order is completed, only by its two parties; every refusal changes nothing', async () => {
    const c = await client();
    const p = await provider();
    const stranger = await user(['client', 'provider']);
    const inProgress = await orderIn(c, 'in_progress', p);
    const completed = await orderIn(c, 'completed', p);
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

    const orders = [
      await orderIn(c1, 'completed', p),
      await orderIn(c2, 'completed', p),
      await orderIn(c3, 'completed', p),
    ];
    const ratings = [5, 4, 2];
    const written: string[] = [];
    for (const [i, orderId] of orders.entries()) {
      const answer = await review(orderId, [c1, c2, c3][i]!, { rating: ratings[i]! });
      expect(answer.status).toBe(201);
      written.push(answer.body.id);
    }
    expect(await providerRating(p)).toEqual({ rating_avg: 3.67, review_count: 3 });

    // Providers rate client 1 on two orders: 3 and 4.
    const second = await orderIn(c1, 'completed', other);
    const byP = await review(orders[0]!, p, { rating: 3 });
    const byOther = await review(second, other, { rating: 4 });
    expect([byP.status, byOther.status]).toEqual([201, 201]);
    expect(await clientRating(c1)).toEqual({ rating_avg: 3.5, review_count: 2 });

    // Staff take the 2 down: 5 and 4 remain.
    const removed = await call('DELETE', `/api/v1/admin/reviews/${written[2]}`, moderator.auth);
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
    const twice = await call('DELETE', `/api/v1/admin/reviews/${written[2]}`, admin.auth);
    expect(twice.status).toBe(409);
    expect(twice.body.code).toBe('review_already_removed');
    expect(await providerRating(p)).toEqual({ rating_avg: 4.5, review_count: 2 });

    // The author cannot write a new one in its place.
    const replacement = await review(orders[2]!, c3, { rating: 5 });
    expect(replacement.status).toBe(409);
    expect(replacement.body.code).toBe('review_already_exists');

    // A review of the client taken down moves the client's numbers.
    expect((await call('DELETE', `/api/v1/admin/reviews/${byOther.body.id}`, admin.auth)).status).toBe(204);
    expect(await clientRating(c1)).toEqual({ rating_avg: 3, review_count: 1 });

    const restored = await call('POST', `/api/v1/admin/reviews/${written[2]}/restore`, admin.auth);
    expect(restored.status).toBe(200);
    expect(restored.body).toMatchObject({ id: written[2], rating: 2, is_deleted: false });
    expect(await providerRating(p)).toEqual({ rating_avg: 3.67, review_count: 3 });
    const [mirrorBack] = await t.db
      .select()
      .from(orderAssignments)
      .where(eq(orderAssignments.orderId, orders[2]!));
    expect(mirrorBack!.clientRating).toBe(2);

    const restoredAgain = await call('POST', `/api/v1/admin/reviews/${written[2]}/restore`, admin.auth);
    expect(restoredAgain.status).toBe(409);
    expect(restoredAgain.body.code).toBe('not_deleted');
    expect(await providerRating(p)).toEqual({ rating_avg: 3.67, review_count: 3 });

    expect(
      (await call('POST', `/api/v1/admin/reviews/${byOther.body.id}/restore`, moderator.auth)).status,
    ).toBe(200);
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
      const orderId = await orderIn(c, 'completed', p);
      ids.push((await review(orderId, c, { rating: 3 + i, comment: `Отзыв ${i}` })).body.id);
      // The provider's review of the client is not part of the provider's list.
      expect((await review(orderId, p, { rating: 5 })).status).toBe(201);
    }
    expect((await call('DELETE', `/api/v1/admin/reviews/${ids[1]}`, moderator.auth)).status).toBe(204);

    const first = await call('GET', `/api/v1/providers/${p.providerId}/reviews?limit=1`);
    expect(first.status).toBe(200);
    expect(first.body.data).toEqual([
      {
        id: ids[2],
        rating: 5,
        comment: 'Отзыв 2',
        author_name: 'Жаныл',
        subcategory_id: (await sub('plumbing')).id,
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
    const stranger = await user();
    const orderId = await orderIn(c, 'completed', p);
    const kept = (await review(orderId, c, { rating: 4 })).body.id;
    const taken = (await review(orderId, p, { rating: 1, comment: 'плохой клиент' })).body.id;
    expect((await call('DELETE', `/api/v1/admin/reviews/${taken}`, moderator.auth)).status).toBe(204);

    for (const who of [c, p]) {
      const list = await call('GET', `/api/v1/orders/${orderId}/reviews`, who.auth);
      expect(list.status).toBe(200);
      expect(list.body.data.map((r: { id: string }) => r.id)).toEqual([kept]);
    }
    const staffList = await call('GET', `/api/v1/orders/${orderId}/reviews`, moderator.auth);
    expect(staffList.body.data.map((r: { id: string; is_deleted: boolean }) => [r.id, r.is_deleted])).toEqual(
      [
        [taken, true],
        [kept, false],
      ],
    );
    const refused = await call('GET', `/api/v1/orders/${orderId}/reviews`, stranger.auth);
    expect(refused.status).toBe(404);
    expect(refused.body.code).toBe('order_not_found');
    expect((await call('GET', `/api/v1/orders/${orderId}/reviews`)).status).toBe(401);
  });
});

describe('staff moderation', () => {
  it('only admins and moderators remove and restore reviews; refusals change nothing', async () => {
    const c = await client();
    const p = await provider();
    const orderId = await orderIn(c, 'completed', p);
    const id = (await review(orderId, c, { rating: 2 })).body.id;
    const finance = await user(['finance']);
    const analyst = await user(['analyst']);
    const before = await snapshot(orderId, p, c);

    for (const who of [c, p, finance, analyst]) {
      const removed = await call('DELETE', `/api/v1/admin/reviews/${id}`, who.auth);
      expect(removed.status).toBe(403);
      expect(removed.body.code).toBe('forbidden');
    }
    expect((await call('DELETE', `/api/v1/admin/reviews/${id}`)).status).toBe(401);
    expect(await snapshot(orderId, p, c)).toEqual(before);

    expect((await call('DELETE', `/api/v1/admin/reviews/${id}`, admin.auth)).status).toBe(204);
    const afterRemoval = await snapshot(orderId, p, c);
    for (const who of [c, p, finance]) {
      expect((await call('POST', `/api/v1/admin/reviews/${id}/restore`, who.auth)).status).toBe(403);
    }
    expect(await snapshot(orderId, p, c)).toEqual(afterRemoval);

    const missing = '01930000-0000-7000-8000-000000000000';
    const notFound = await call('DELETE', `/api/v1/admin/reviews/${missing}`, admin.auth);
    expect([notFound.status, notFound.body.code]).toEqual([404, 'review_not_found']);
    const notFoundRestore = await call('POST', `/api/v1/admin/reviews/${missing}/restore`, admin.auth);
    expect([notFoundRestore.status, notFoundRestore.body.code]).toEqual([404, 'review_not_found']);
  });
});

describe('a review of an order a dispute ruling cancelled', () => {
  /** A completed order disputed by its client and ruled by staff; the ruling's answer. */
  async function rule(orderId: string, c: Client, outcome: 'cancelled' | 'completed') {
    const opened = await call('POST', `/api/v1/orders/${orderId}/disputes`, c.auth, {
      dispute_type: 'quality_issue',
      description: 'Кран снова течёт после ремонта',
    });
    expect(opened.status).toBe(201);
    const ruled = await call('POST', `/api/v1/admin/disputes/${opened.body.id}/resolve`, moderator.auth, {
      resolution: 'Работа не выполнена, заказ отменён',
      outcome,
      refund: outcome === 'cancelled',
    });
    expect(ruled.status, JSON.stringify(ruled.body)).toBe(200);
  }

  it('is hidden from the provider’s public reviews, average and count, and from the client’s; staff still see it, flagged', async () => {
    const [c, other] = [await client('Айгуль'), await client('Другая')];
    const p = await provider('Мастер Отменённый');
    const ruledOut = await orderIn(c, 'completed', p);
    const kept = await orderIn(other, 'completed', p);
    expect((await review(ruledOut, c, { rating: 5, comment: 'Сначала казалось отлично' })).status).toBe(201);
    expect((await review(ruledOut, p, { rating: 2 })).status).toBe(201);
    expect((await review(kept, other, { rating: 3 })).status).toBe(201);
    expect(await providerRating(p)).toEqual({ rating_avg: 4, review_count: 2 });
    expect(await clientRating(c)).toEqual({ rating_avg: 2, review_count: 1 });

    await rule(ruledOut, c, 'cancelled');

    expect(await providerRating(p)).toEqual({ rating_avg: 3, review_count: 1 });
    expect(await clientRating(c)).toEqual({ rating_avg: null, review_count: 0 });
    const listed = await call('GET', `/api/v1/providers/${p.providerId}/reviews`);
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((r: { rating: number }) => r.rating)).toEqual([3]);
    // The parties see none of it; staff see both, with why they are hidden.
    for (const party of [c, p]) {
      const theirs = await call('GET', `/api/v1/orders/${ruledOut}/reviews`, party.auth);
      expect(theirs.status).toBe(200);
      expect(theirs.body.data).toEqual([]);
    }
    const staff = await call('GET', `/api/v1/orders/${ruledOut}/reviews`, moderator.auth);
    expect(staff.body.data).toHaveLength(2);
    expect(staff.body.data).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          rating: 5,
          comment: 'Сначала казалось отлично',
          is_deleted: false,
          hidden_reason: 'order_cancelled_by_ruling',
        }),
        expect.objectContaining({ rating: 2, hidden_reason: 'order_cancelled_by_ruling' }),
      ]),
    );
    const [clientsReview] = await t.db
      .select()
      .from(orderReviews)
      .where(and(eq(orderReviews.orderId, ruledOut), eq(orderReviews.direction, 'client_to_provider')));
    const [assignment] = await t.db
      .select()
      .from(orderAssignments)
      .where(eq(orderAssignments.orderId, ruledOut));
    expect(assignment?.clientRating).toBeNull();
    const trail = await t.db.select().from(auditLog).where(eq(auditLog.entityId, clientsReview!.id));
    expect(trail.at(-1)).toMatchObject({ action: 'update', actorId: moderator.user.id });

    // Staff removing and restoring a hidden review moves nothing: it is out of the average already.
    expect((await call('DELETE', `/api/v1/admin/reviews/${clientsReview!.id}`, moderator.auth)).status).toBe(
      204,
    );
    expect(await providerRating(p)).toEqual({ rating_avg: 3, review_count: 1 });
    const restored = await call('POST', `/api/v1/admin/reviews/${clientsReview!.id}/restore`, moderator.auth);
    expect(restored.status).toBe(200);
    expect(restored.body).toMatchObject({ is_deleted: false, hidden_reason: 'order_cancelled_by_ruling' });
    expect(await providerRating(p)).toEqual({ rating_avg: 3, review_count: 1 });
    expect((await call('GET', `/api/v1/providers/${p.providerId}/reviews`)).body.data).toHaveLength(1);
  });

  it('a removed review stays out once its order is ruled cancelled, and a ruling that completes keeps reviews shown', async () => {
    const c = await client('Асель');
    const p = await provider('Мастер Оставшийся');
    const removedFirst = await orderIn(c, 'completed', p);
    const upheld = await orderIn(c, 'completed', p);
    const removed = await review(removedFirst, c, { rating: 1 });
    expect((await review(upheld, c, { rating: 4 })).status).toBe(201);
    expect((await call('DELETE', `/api/v1/admin/reviews/${removed.body.id}`, moderator.auth)).status).toBe(
      204,
    );
    expect(await providerRating(p)).toEqual({ rating_avg: 4, review_count: 1 });

    await rule(removedFirst, c, 'cancelled');
    await rule(upheld, c, 'completed');

    expect(await providerRating(p)).toEqual({ rating_avg: 4, review_count: 1 });
    expect((await call('GET', `/api/v1/providers/${p.providerId}/reviews`)).body.data).toMatchObject([
      { rating: 4 },
    ]);
    const shown = await call('GET', `/api/v1/orders/${upheld}/reviews`, c.auth);
    expect(shown.body.data).toMatchObject([{ rating: 4, hidden_reason: null }]);
  });
});
