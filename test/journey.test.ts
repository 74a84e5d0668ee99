import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helper.ts';
import { caller } from './http.ts';

/**
 * A client and a provider from sign-up to both reviews, through the public API only: no factory, no table
 * written or read by the test. Each step asserts what each of them sees.
 */
let t: TestApp;
const call = caller(() => t);

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Two days ahead, as YYYY-MM-DD in Bishkek: a service date the create route accepts. */
const serviceDate = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Bishkek' }).format(
  new Date(Date.now() + 2 * 86_400_000),
);

async function signUp(email: string, fullName: string) {
  const answer = await call('POST', '/api/v1/auth/register', undefined, {
    email,
    password: 'a long enough journey password',
    full_name: fullName,
    device_name: 'journey phone',
  });
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  expect(answer.body.user).toMatchObject({ full_name: fullName, roles: ['client'] });
  return answer.body as { access_token: string; refresh_token: string; user: { id: string } };
}

describe('a client and a provider, from sign-up to both reviews', () => {
  it('walks the whole marketplace through the public API', async () => {
    // The catalog as anyone sees it.
    const categories = await call('GET', '/api/v1/categories');
    expect(categories.status).toBe(200);
    const plumbing = (categories.body.data as { subcategories: { id: string; slug: string }[] }[])
      .flatMap((c) => c.subcategories)
      .find((s) => s.slug === 'plumbing');
    expect(plumbing).toBeTruthy();
    const areas = await call('GET', '/api/v1/service-areas');
    const bishkek = (areas.body.data as { id: string; slug: string }[]).find((a) => a.slug === 'bishkek');
    expect(bishkek).toBeTruthy();

    // Sign-up.
    const aigul = await signUp(`aigul.${Date.now()}@example.kg`, 'Айгуль Токтогулова');
    const bakytSignUp = await signUp(`bakyt.${Date.now()}@example.kg`, 'Бакыт Асанов');
    const client = bearer(aigul.access_token);
    expect((await call('GET', '/api/v1/me', client)).body).toMatchObject({ id: aigul.user.id });

    // Profiles.
    const profile = await call('PATCH', '/api/v1/me/profile', client, {
      bio: 'Живу в Бишкеке',
      service_area_id: bishkek!.id,
    });
    expect(profile.status).toBe(200);
    expect(profile.body).toMatchObject({
      full_name: 'Айгуль Токтогулова',
      service_area_id: bishkek!.id,
      has_client_profile: false,
    });
    const clientProfile = await call('POST', '/api/v1/me/client-profile', client, {});
    expect(clientProfile.status).toBe(201);
    expect(clientProfile.body).toMatchObject({ orders_total: 0, rating_avg: null, review_count: 0 });

    const providerProfile = await call(
      'POST',
      '/api/v1/me/provider-profile',
      bearer(bakytSignUp.access_token),
      {
        business_name: 'Сантехник Бакыт',
        description: 'Опытный мастер, 10 лет',
        experience_years: 10,
        service_area_ids: [bishkek!.id],
      },
    );
    expect(providerProfile.status, JSON.stringify(providerProfile.body)).toBe(201);
    const providerId = providerProfile.body.id as string;
    // The provider role is carried by fresh tokens.
    const refreshed = await call('POST', '/api/v1/auth/refresh', undefined, {
      refresh_token: bakytSignUp.refresh_token,
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.user.roles).toEqual(expect.arrayContaining(['client', 'provider']));
    const provider = bearer(refreshed.body.access_token);

    // The provider offers a service, and shows in the directory with it.
    const service = await call('POST', '/api/v1/me/services', provider, {
      subcategory_id: plumbing!.id,
      base_price: 150_000,
      description: 'Замена смесителей и труб',
    });
    expect(service.status, JSON.stringify(service.body)).toBe(201);
    const card = await call('GET', `/api/v1/providers/${providerId}`);
    expect(card.status).toBe(200);
    expect(card.body).toMatchObject({
      business_name: 'Сантехник Бакыт',
      rating_avg: null,
      review_count: 0,
      orders_completed: 0,
      min_price: 150_000,
      services: [{ id: service.body.id, subcategory_id: plumbing!.id, base_price: 150_000 }],
    });

    // The client posts a draft: the provider's feed does not show it.
    const draft = await call('POST', '/api/v1/orders', client, {
      subcategory_id: plumbing!.id,
      title: 'Течёт кран на кухне',
      description: 'Нужно заменить смеситель, кран течёт уже неделю',
      service_area_id: bishkek!.id,
      address: 'ул. Киевская 77, кв. 5',
      service_date: serviceDate,
      time_from: '10:00',
      time_to: '14:00',
      urgency: 'high',
      budget_min: 100_000,
      budget_max: 300_000,
    });
    expect(draft.status, JSON.stringify(draft.body)).toBe(201);
    expect(draft.body).toMatchObject({ status: 'draft', viewer_role: 'client', bid_count: 0 });
    const orderId = draft.body.id as string;
    const feedIds = async () =>
      ((await call('GET', '/api/v1/orders/feed', provider)).body.data as { id: string }[]).map((o) => o.id);
    expect(await feedIds()).not.toContain(orderId);

    // Published, it is in the feed, without the address.
    const published = await call('POST', `/api/v1/orders/${orderId}/publish`, client);
    expect(published.status).toBe(200);
    expect(published.body.status).toBe('published');
    const feed = await call('GET', '/api/v1/orders/feed', provider);
    expect(feed.status).toBe(200);
    expect(feed.body.data).toEqual([
      expect.objectContaining({
        id: orderId,
        status: 'published',
        bid_count: 0,
        title: 'Течёт кран на кухне',
      }),
    ]);
    expect(feed.body.data[0]).not.toHaveProperty('address');
    const seenByProvider = await call('GET', `/api/v1/orders/${orderId}`, provider);
    expect(seenByProvider.body).toMatchObject({ viewer_role: 'other', status: 'published' });
    expect(seenByProvider.body.address ?? null).toBeNull();

    // The provider bids; the client sees the bid with the provider's card.
    const bid = await call('POST', `/api/v1/orders/${orderId}/bids`, provider, {
      amount: 200_000,
      message: 'Приеду завтра утром',
    });
    expect(bid.status, JSON.stringify(bid.body)).toBe(201);
    expect(bid.body).toMatchObject({ order_id: orderId, provider_profile_id: providerId, status: 'pending' });
    const bidsSeen = await call('GET', `/api/v1/orders/${orderId}/bids`, client);
    expect(bidsSeen.status).toBe(200);
    expect(bidsSeen.body.data).toEqual([
      expect.objectContaining({
        id: bid.body.id,
        amount: 200_000,
        status: 'pending',
        provider: expect.objectContaining({ id: providerId, business_name: 'Сантехник Бакыт' }),
      }),
    ]);
    expect((await call('GET', `/api/v1/orders/${orderId}`, client)).body).toMatchObject({
      status: 'bidding',
      bid_count: 1,
    });
    const myBids = await call('GET', '/api/v1/me/bids', provider);
    expect(myBids.body.data).toEqual([
      expect.objectContaining({
        id: bid.body.id,
        status: 'pending',
        order: expect.objectContaining({ id: orderId }),
      }),
    ]);

    // The client accepts: the provider is assigned, sees the address and the client's contact.
    const accepted = await call('POST', `/api/v1/bids/${bid.body.id}/accept`, client, { amount: 200_000 });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(201);
    const assigned = await call('GET', `/api/v1/orders/${orderId}`, provider);
    expect(assigned.body).toMatchObject({
      status: 'assigned',
      viewer_role: 'assigned_provider',
      final_price: 200_000,
      address: 'ул. Киевская 77, кв. 5',
      assigned_provider: { provider_profile_id: providerId, bid_id: bid.body.id },
    });
    expect(assigned.body.client_contact).toBeTruthy();
    // Assigned, the provider is a party: their bid's order names its client.
    expect((await call('GET', '/api/v1/me/bids', provider)).body.data[0]).toMatchObject({
      status: 'accepted',
      order: { id: orderId, status: 'assigned', client_user_id: aigul.user.id },
    });
    expect(await feedIds()).not.toContain(orderId);

    // The provider starts and marks the work done; the client cannot review before confirming.
    const started = await call('POST', `/api/v1/orders/${orderId}/start`, provider);
    expect(started.status).toBe(200);
    expect(started.body.status).toBe('in_progress');
    const done = await call('POST', `/api/v1/orders/${orderId}/complete`, provider, {
      completion_notes: 'Смеситель заменён',
    });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    const awaiting = await call('GET', `/api/v1/orders/${orderId}`, client);
    expect(awaiting.body.assigned_provider).toMatchObject({ completion_notes: 'Смеситель заменён' });
    const early = await call('POST', `/api/v1/orders/${orderId}/reviews`, client, { rating: 5 });
    expect(early.status).toBe(409);
    expect(early.body.code).toBe(`order_is_${awaiting.body.status}`);

    // The client confirms.
    const confirmed = await call('POST', `/api/v1/orders/${orderId}/confirm`, client);
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.status).toBe('completed');
    expect((await call('GET', '/api/v1/me/orders', client)).body.data).toEqual([
      expect.objectContaining({ id: orderId, status: 'completed', final_price: 200_000 }),
    ]);

    // Both review each other, once.
    const byClient = await call('POST', `/api/v1/orders/${orderId}/reviews`, client, {
      rating: 5,
      comment: 'Быстро и аккуратно',
    });
    expect(byClient.status, JSON.stringify(byClient.body)).toBe(201);
    expect(byClient.body).toMatchObject({
      direction: 'client_to_provider',
      author_user_id: aigul.user.id,
      subject_user_id: bakytSignUp.user.id,
    });
    const byProvider = await call('POST', `/api/v1/orders/${orderId}/reviews`, provider, { rating: 4 });
    expect(byProvider.status).toBe(201);
    expect(byProvider.body).toMatchObject({
      direction: 'provider_to_client',
      subject_user_id: aigul.user.id,
    });
    const again = await call('POST', `/api/v1/orders/${orderId}/reviews`, client, { rating: 1 });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('review_already_exists');
    const orderReviews = await call('GET', `/api/v1/orders/${orderId}/reviews`, provider);
    expect((orderReviews.body.data as { direction: string }[]).map((r) => r.direction).sort()).toEqual([
      'client_to_provider',
      'provider_to_client',
    ]);

    // The provider's public profile shows the review and the average; the client's profile their rating.
    const publicCard = await call('GET', `/api/v1/providers/${providerId}`);
    expect(publicCard.body).toMatchObject({ rating_avg: 5, review_count: 1, orders_completed: 1 });
    const publicReviews = await call('GET', `/api/v1/providers/${providerId}/reviews`);
    expect(publicReviews.status).toBe(200);
    expect(publicReviews.body.data).toEqual([
      expect.objectContaining({
        rating: 5,
        comment: 'Быстро и аккуратно',
        author_name: 'Айгуль',
        subcategory_id: plumbing!.id,
      }),
    ]);
    expect(JSON.stringify(publicReviews.body)).not.toContain('Токтогулова');
    expect((await call('GET', '/api/v1/me/client-profile', client)).body).toMatchObject({
      rating_avg: 4,
      review_count: 1,
      orders_total: 1,
      orders_completed: 1,
    });
    expect((await call('GET', '/api/v1/me/provider-profile', provider)).body).toMatchObject({
      rating_avg: 5,
      review_count: 1,
      orders_completed: 1,
    });
  }, 60_000);
});
