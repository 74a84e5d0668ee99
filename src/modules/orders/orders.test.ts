import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helper.ts';
import { bishkekDate, orderFixtures, PNG } from '../../../test/order-fixtures.ts';
import { auditLog } from '../../platform/audit/schema.ts';
import { repriceAddon } from '../core/catalog-fixtures.ts';
import { orderAddons, orderPhotos, orderStatusHistory, orders } from './schema.ts';

let t: TestApp;
const k = orderFixtures(() => t);
let plumbing: { id: string; categoryId: string };
let cleaning: { id: string; categoryId: string };
let osh: string;

beforeAll(async () => {
  t = await createTestApp();
  plumbing = await k.sub('plumbing');
  cleaning = await k.sub('general-cleaning');
  osh = await k.area('osh');
});
afterAll(() => t.close());

const ordersOf = (userId: string) => t.db.select().from(orders).where(eq(orders.clientUserId, userId));

describe('creating an order', () => {
  it('makes a draft with add-ons and photos, the address and location encrypted, and counts it for the client', async () => {
    const client = await k.user(['client'], 'Айгуль Токтогулова');
    const repair = await k.addon(plumbing.id, 50_000);
    const parts = await k.addon(plumbing.id, 10_000, 'per_unit');
    const [front, back] = [await k.uploadPhoto(client), await k.uploadPhoto(client)];

    const order = await k.newOrder(client, {
      addons: [
        { addon_id: repair.id, quantity: 1 },
        { addon_id: parts.id, quantity: 3 },
      ],
      photo_file_ids: [front, back],
      primary_photo_id: back,
      location: { lat: 42.8746, lng: 74.5698 },
    });
    expect(order).toMatchObject({
      status: 'draft',
      viewer_role: 'client',
      client_user_id: client.user.id,
      subcategory_id: plumbing.id,
      category_id: plumbing.categoryId,
      address: 'ул. Киевская 77, кв. 5',
      location: { lat: 42.8746, lng: 74.5698 },
      urgency: 'high',
      budget_min: 100_000,
      budget_max: 300_000,
      currency: 'KGS',
      final_price: null,
      bid_count: 0,
      published_at: null,
      assigned_provider: null,
    });
    expect(order.addons).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          addon_id: repair.id,
          quantity: 1,
          unit_price: 50_000,
          price_type: 'fixed',
        }),
        expect.objectContaining({
          addon_id: parts.id,
          quantity: 3,
          unit_price: 10_000,
          price_type: 'per_unit',
        }),
      ]),
    );
    expect(order.photos).toMatchObject([
      { file_id: front, is_primary: false, sort_order: 0 },
      { file_id: back, is_primary: true, sort_order: 1 },
    ]);

    const [row] = await t.db.select().from(orders).where(eq(orders.id, order.id));
    expect(JSON.stringify(row)).not.toContain('Киевская');
    expect(JSON.stringify(row)).not.toContain('42.87');
    const history = await t.db
      .select()
      .from(orderStatusHistory)
      .where(eq(orderStatusHistory.orderId, order.id));
    expect(history).toMatchObject([{ fromStatus: null, toStatus: 'draft', actorId: client.user.id }]);
    const audit = await t.db.select().from(auditLog).where(eq(auditLog.entityId, order.id));
    expect(audit.map((a) => a.action)).toEqual(['create']);
    expect(JSON.stringify(audit)).not.toContain('Киевская');
    expect(await k.eventsOf(order.id)).toEqual([]);

    const profile = await k.call('GET', '/api/v1/me/client-profile', client.auth);
    expect(profile.body).toMatchObject({ orders_total: 1, orders_completed: 0, orders_cancelled: 0 });
  });

  it('with publish: true publishes at once and queues the event in the same transaction', async () => {
    const client = await k.user();
    const order = await k.newOrder(client, { publish: true });
    expect(order.status).toBe('published');
    expect(order.published_at).not.toBeNull();
    expect(await k.eventsOf(order.id)).toMatchObject([
      { type: 'order_status_changed', to_status: 'published', recipient_user_ids: [] },
    ]);
    const history = await t.db
      .select({ from: orderStatusHistory.fromStatus, to: orderStatusHistory.toStatus })
      .from(orderStatusHistory)
      .where(eq(orderStatusHistory.orderId, order.id))
      .orderBy(orderStatusHistory.id);
    expect(history).toEqual([
      { from: null, to: 'draft' },
      { from: 'draft', to: 'published' },
    ]);
  });

  it('answers a retry with the same Idempotency-Key with the first order, and makes one', async () => {
    const client = await k.user();
    const headers = { 'idempotency-key': 'order-create-retry-0001' };
    const first = await k.call('POST', '/api/v1/orders', { ...client.auth, ...headers }, await k.orderBody());
    const again = await k.call('POST', '/api/v1/orders', { ...client.auth, ...headers }, await k.orderBody());
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(first.body.id);
    expect(await ordersOf(client.user.id)).toHaveLength(1);
    expect((await k.call('GET', '/api/v1/me/client-profile', client.auth)).body.orders_total).toBe(1);
  });

  it('refuses bad input with a problem naming the field, and writes nothing', async () => {
    const client = await k.user();
    const stranger = await k.user();
    const foreignPhoto = await k.uploadPhoto(stranger);
    const profilePhoto = await k.uploadPhoto(client, 'profile_photo');
    const ownPhoto = await k.uploadPhoto(client);
    const cleaningAddon = await k.addon(cleaning.id, 20_000);
    const plumbingAddon = await k.addon(plumbing.id, 20_000);
    const unknown = '01930000-0000-7000-8000-000000000000';
    const cases: [Record<string, unknown>, number, string, string?][] = [
      [{ subcategory_id: unknown }, 422, 'subcategory_not_found', 'subcategory_id'],
      [{ service_area_id: unknown }, 422, 'service_area_not_found', 'service_area_id'],
      [{ service_date: bishkekDate(-1) }, 422, 'service_date_in_past', 'service_date'],
      [{ service_date: bishkekDate(400) }, 422, 'service_date_too_far', 'service_date'],
      [{ service_date: '2030-02-30' }, 400, 'validation_failed'],
      [{ time_from: '14:00', time_to: '10:00' }, 422, 'invalid_time_range', 'time_to'],
      [{ time_from: '25:00' }, 400, 'validation_failed'],
      [{ budget_min: 100 }, 422, 'budget_out_of_range', 'budget_min'],
      [{ budget_max: 20_000_000 }, 422, 'budget_out_of_range', 'budget_max'],
      [{ budget_min: 300_000, budget_max: 200_000 }, 422, 'invalid_budget_range', 'budget_min'],
      [
        { addons: [{ addon_id: cleaningAddon.id, quantity: 1 }] },
        422,
        'addon_not_found',
        'addons.0.addon_id',
      ],
      [
        {
          addons: [
            { addon_id: plumbingAddon.id, quantity: 1 },
            { addon_id: plumbingAddon.id, quantity: 2 },
          ],
        },
        422,
        'duplicate_addon',
        'addons.1.addon_id',
      ],
      [{ photo_file_ids: [ownPhoto, foreignPhoto] }, 422, 'invalid_file', 'photo_file_ids.1'],
      [{ photo_file_ids: [profilePhoto] }, 422, 'invalid_file', 'photo_file_ids.0'],
      [{ photo_file_ids: [ownPhoto], primary_photo_id: foreignPhoto }, 422, 'invalid_primary_photo'],
      [{ status: 'completed' }, 400, 'validation_failed'],
      [{ final_price: 100_000 }, 400, 'validation_failed'],
      [{ client_user_id: stranger.user.id }, 400, 'validation_failed'],
      [{ client_id: stranger.user.id }, 400, 'validation_failed'],
      [{ bid_count: 5 }, 400, 'validation_failed'],
      [{ title: undefined }, 400, 'validation_failed'],
      [{ urgency: 'yesterday' }, 400, 'validation_failed'],
    ];
    for (const [overrides, status, code, field] of cases) {
      const answer = await k.call('POST', '/api/v1/orders', client.auth, await k.orderBody(overrides));
      expect(answer.status, JSON.stringify(overrides)).toBe(status);
      expect(answer.body.code, JSON.stringify(overrides)).toBe(code);
      if (field) expect(answer.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    }
    expect(await ordersOf(client.user.id)).toEqual([]);
    expect((await k.call('GET', '/api/v1/me/client-profile', client.auth)).status).toBe(404);
  });

  it('needs a signed-in user', async () => {
    expect((await k.call('POST', '/api/v1/orders', undefined, await k.orderBody())).status).toBe(401);
  });
});

describe('reading an order', () => {
  it('shows the client everything; others see a published order without address, location or contacts, and no draft', async () => {
    const client = await k.user();
    const other = await k.user(['provider']);
    const analyst = await k.user(['analyst']);
    const order = await k.newOrder(client, { location: { lat: 40.51, lng: 72.8 } });

    expect((await k.call('GET', `/api/v1/orders/${order.id}`, other.auth)).status).toBe(404);
    expect((await k.call('GET', `/api/v1/orders/${order.id}`)).status).toBe(401);
    // A draft is its client's alone: staff get 404 too, for the order, its history and its bids.
    for (const path of ['', '/history', '/bids']) {
      expect((await k.call('GET', `/api/v1/orders/${order.id}${path}`, analyst.auth)).status).toBe(404);
    }
    expect((await k.call('GET', `/api/v1/orders/${order.id}`, client.auth)).body.viewer_role).toBe('client');

    expect((await k.call('POST', `/api/v1/orders/${order.id}/publish`, client.auth)).status).toBe(200);
    const staffView = await k.call('GET', `/api/v1/orders/${order.id}`, analyst.auth);
    expect(staffView.body).toMatchObject({ viewer_role: 'staff', address: 'ул. Киевская 77, кв. 5' });
    const seen = await k.call('GET', `/api/v1/orders/${order.id}`, other.auth);
    expect(seen.status).toBe(200);
    expect(seen.body).toMatchObject({ status: 'published', viewer_role: 'other', title: order.title });
    // Who posted it stays hidden from bidders, as in the feed; staff see it.
    expect(seen.body.client_user_id).toBeNull();
    expect(staffView.body.client_user_id).toBe(client.user.id);
    for (const key of ['address', 'location', 'client_contact', 'provider_contact', 'assigned_provider']) {
      expect(seen.body).not.toHaveProperty(key);
    }
    expect(seen.raw.body).not.toContain('Киевская');
    expect(seen.raw.body).not.toContain('40.51');
  });

  it('after assignment shows the provider the address and the client’s contacts; other providers lose sight of it', async () => {
    const client = await k.user();
    const chosen = await k.provider('Мастер Азамат');
    const otherProvider = await k.provider('Мастер Нурлан');
    const moderator = await k.user(['moderator']);
    const analyst = await k.user(['analyst']);
    const order = await k.newOrder(client, { publish: true });

    const before = await k.call('GET', `/api/v1/orders/${order.id}`, chosen.auth);
    expect(before.body).not.toHaveProperty('client_contact');
    await k.agree(order.id, client, chosen);

    const providerView = await k.call('GET', `/api/v1/orders/${order.id}`, chosen.auth);
    expect(providerView.body).toMatchObject({
      status: 'assigned',
      viewer_role: 'assigned_provider',
      address: 'ул. Киевская 77, кв. 5',
      final_price: 500_000,
      client_contact: { email: client.email },
      assigned_provider: { provider_user_id: chosen.user.id, provider_profile_id: chosen.providerId },
    });
    expect(providerView.body).not.toHaveProperty('provider_contact');

    const clientView = await k.call('GET', `/api/v1/orders/${order.id}`, client.auth);
    expect(clientView.body.provider_contact).toMatchObject({ email: chosen.email });
    expect(clientView.body).not.toHaveProperty('client_contact');

    expect((await k.call('GET', `/api/v1/orders/${order.id}`, otherProvider.auth)).status).toBe(404);
    expect((await k.call('GET', `/api/v1/orders/${order.id}`, moderator.auth)).body).toMatchObject({
      client_contact: { email: client.email },
      provider_contact: { email: chosen.email },
    });
    const analystView = await k.call('GET', `/api/v1/orders/${order.id}`, analyst.auth);
    expect(analystView.body.address).toBe('ул. Киевская 77, кв. 5');
    expect(analystView.body).not.toHaveProperty('client_contact');
  });

  it('serves an order’s photos to whoever may see the order', async () => {
    const client = await k.user();
    const other = await k.user();
    const file = await k.uploadPhoto(client);
    const order = await k.newOrder(client, { photo_file_ids: [file] });
    const photoUrl = `/api/v1/orders/${order.id}/photos/${order.photos[0].id}`;

    const own = await k.call('GET', photoUrl, client.auth);
    expect(own.status).toBe(200);
    expect(own.raw.headers['content-type']).toBe('image/png');
    expect(own.raw.rawPayload.equals(PNG)).toBe(true);
    expect((await k.call('GET', photoUrl, other.auth)).status).toBe(404);
    await k.call('POST', `/api/v1/orders/${order.id}/publish`, client.auth);
    expect((await k.call('GET', photoUrl, other.auth)).status).toBe(200);
    const wrong = `/api/v1/orders/${order.id}/photos/01930000-0000-7000-8000-000000000000`;
    expect((await k.call('GET', wrong, client.auth)).status).toBe(404);
  });
});

describe('editing an order', () => {
  it('changes fields, add-ons and photos; add-ons already on the order keep their price', async () => {
    const client = await k.user();
    const kept = await k.addon(plumbing.id, 40_000);
    const dropped = await k.addon(plumbing.id, 15_000);
    const added = await k.addon(plumbing.id, 25_000);
    const [p1, p2, p3] = [
      await k.uploadPhoto(client),
      await k.uploadPhoto(client),
      await k.uploadPhoto(client),
    ];
    const order = await k.newOrder(client, {
      addons: [
        { addon_id: kept.id, quantity: 1 },
        { addon_id: dropped.id, quantity: 1 },
      ],
      photo_file_ids: [p1, p2],
      location: { lat: 42.87, lng: 74.59 },
      publish: true,
    });
    await repriceAddon(t.db, kept.id, 99_000);

    const patched = await k.call('PATCH', `/api/v1/orders/${order.id}`, client.auth, {
      title: 'Течёт кран и бачок',
      budget_max: 400_000,
      location: null,
      service_date: null,
      addons: [
        { addon_id: kept.id, quantity: 2 },
        { addon_id: added.id, quantity: 1 },
      ],
      photo_file_ids: [p2, p3],
      primary_photo_id: p3,
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body).toMatchObject({
      status: 'published',
      title: 'Течёт кран и бачок',
      budget_min: 100_000,
      budget_max: 400_000,
      location: null,
      service_date: null,
      address: 'ул. Киевская 77, кв. 5',
    });
    expect(patched.body.addons).toHaveLength(2);
    expect(patched.body.addons).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ addon_id: kept.id, quantity: 2, unit_price: 40_000 }),
        expect.objectContaining({ addon_id: added.id, quantity: 1, unit_price: 25_000 }),
      ]),
    );
    expect(patched.body.photos).toMatchObject([
      { file_id: p2, is_primary: false, sort_order: 0 },
      { file_id: p3, is_primary: true, sort_order: 1 },
    ]);

    const droppedRows = await t.db
      .select()
      .from(orderAddons)
      .where(and(eq(orderAddons.orderId, order.id), eq(orderAddons.addonId, dropped.id)));
    expect(droppedRows).toMatchObject([{ isDeleted: true }]);
    const photoRows = await t.db.select().from(orderPhotos).where(eq(orderPhotos.orderId, order.id));
    expect(photoRows.find((p) => p.fileId === p1)?.isDeleted).toBe(true);

    const audit = await t.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.entityId, order.id), eq(auditLog.action, 'update')));
    expect(audit.some((a) => 'title' in a.changes)).toBe(true);

    const primaryOnly = await k.call('PATCH', `/api/v1/orders/${order.id}`, client.auth, {
      primary_photo_id: p2,
    });
    expect(primaryOnly.body.photos).toMatchObject([
      { file_id: p2, is_primary: true },
      { file_id: p3, is_primary: false },
    ]);
  });

  it('refuses fields the client does not own (400), bad values (422), and edits once the work is agreed (409)', async () => {
    const client = await k.user();
    const provider = await k.provider();
    const order = await k.newOrder(client, { publish: true });
    const url = `/api/v1/orders/${order.id}`;
    const cases: [Record<string, unknown>, number, string][] = [
      [{ status: 'completed' }, 400, 'validation_failed'],
      [{ final_price: 1 }, 400, 'validation_failed'],
      [{ client_user_id: provider.user.id }, 400, 'validation_failed'],
      [{ bid_count: 0 }, 400, 'validation_failed'],
      [{ subcategory_id: cleaning.id }, 400, 'validation_failed'],
      [{ published_at: new Date().toISOString() }, 400, 'validation_failed'],
      [{}, 400, 'validation_failed'],
      [{ budget_max: 50_000 }, 422, 'invalid_budget_range'],
      [{ budget_min: 1 }, 422, 'budget_out_of_range'],
      [{ time_from: '15:00' }, 422, 'invalid_time_range'],
      [{ service_date: bishkekDate(-3) }, 422, 'service_date_in_past'],
      [{ service_area_id: '01930000-0000-7000-8000-000000000000' }, 422, 'service_area_not_found'],
    ];
    for (const [payload, status, code] of cases) {
      const answer = await k.call('PATCH', url, client.auth, payload);
      expect(answer.status, JSON.stringify(payload)).toBe(status);
      expect(answer.body.code, JSON.stringify(payload)).toBe(code);
    }
    expect((await k.call('PATCH', url, client.auth, { service_area_id: osh })).body.service_area_id).toBe(
      osh,
    );

    await k.agree(order.id, client, provider);
    const late = await k.call('PATCH', url, client.auth, { title: 'Новое название заказа' });
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('order_is_assigned');
    const [row] = await t.db.select().from(orders).where(eq(orders.id, order.id));
    expect(row).toMatchObject({ title: order.title, status: 'assigned', finalPrice: 500_000 });
  });

  it('lets only the client edit: 404 to those who cannot see the order, 403 to those who can', async () => {
    const client = await k.user();
    const other = await k.user();
    const moderator = await k.user(['moderator']);
    const provider = await k.provider();
    const draft = await k.newOrder(client);
    const edit = { title: 'Чужой заказ изменён' };

    expect((await k.call('PATCH', `/api/v1/orders/${draft.id}`, other.auth, edit)).status).toBe(404);
    const published = await k.newOrder(client, { publish: true });
    const forbidden = await k.call('PATCH', `/api/v1/orders/${published.id}`, other.auth, edit);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.code).toBe('not_your_order');
    expect((await k.call('PATCH', `/api/v1/orders/${published.id}`, moderator.auth, edit)).status).toBe(403);
    await k.agree(published.id, client, provider);
    expect((await k.call('PATCH', `/api/v1/orders/${published.id}`, provider.auth, edit)).status).toBe(403);

    const rows = await t.db
      .select({ title: orders.title })
      .from(orders)
      .where(eq(orders.clientUserId, client.user.id));
    expect(rows.every((r) => r.title === draft.title)).toBe(true);
  });
});

describe('lists', () => {
  it('/me/orders: only mine, newest first, by status, in pages, with bid counts and the primary photo', async () => {
    const client = await k.user();
    const other = await k.user();
    const provider = await k.provider();
    const photo = await k.uploadPhoto(client);
    const first = await k.newOrder(client, { photo_file_ids: [photo] });
    const second = await k.newOrder(client, { publish: true });
    const third = await k.newOrder(client);
    await k.newOrder(other);
    await k.placeBid(second.id, provider);

    const page1 = await k.call('GET', '/api/v1/me/orders?limit=2', client.auth);
    expect(page1.status).toBe(200);
    expect(page1.body.data.map((o: { id: string }) => o.id)).toEqual([third.id, second.id]);
    expect(page1.body.data[1]).toMatchObject({ status: 'bidding', bid_count: 1 });
    expect(page1.body.data[0]).not.toHaveProperty('address');
    const page2 = await k.call(
      'GET',
      `/api/v1/me/orders?limit=2&cursor=${page1.body.next_cursor}`,
      client.auth,
    );
    expect(page2.body.data.map((o: { id: string }) => o.id)).toEqual([first.id]);
    expect(page2.body.data[0].primary_photo_file_id).toBe(photo);
    expect(page2.body.next_cursor).toBeNull();

    const bidding = await k.call('GET', '/api/v1/me/orders?status=bidding', client.auth);
    expect(bidding.body.data.map((o: { id: string }) => o.id)).toEqual([second.id]);
    const several = await k.call('GET', '/api/v1/me/orders?status=draft&status=bidding', client.auth);
    expect(several.body.data).toHaveLength(3);

    await k.call('DELETE', `/api/v1/orders/${third.id}`, client.auth);
    expect((await k.call('GET', '/api/v1/me/orders', client.auth)).body.data).toHaveLength(2);
    const bad = await k.call('GET', '/api/v1/me/orders?cursor=not-a-cursor', client.auth);
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('invalid_cursor');
  });

  it('/admin/orders: staff filter by status, client and deletion; everyone else gets 403', async () => {
    const client = await k.user();
    const finance = await k.user(['finance']);
    const provider = await k.provider();
    await k.newOrder(client); // a draft
    const published = await k.newOrder(client, { publish: true });
    const gone = await k.newOrder(client, { publish: true });
    expect((await k.call('DELETE', `/api/v1/orders/${gone.id}`, client.auth)).status).toBe(200);
    const goneDraft = await k.newOrder(client);
    expect((await k.call('DELETE', `/api/v1/orders/${goneDraft.id}`, client.auth)).status).toBe(200);

    // Drafts are their client's alone: never listed, live or deleted.
    const mine = await k.call('GET', `/api/v1/admin/orders?client_id=${client.user.id}`, finance.auth);
    expect(mine.status).toBe(200);
    expect(mine.body.data.map((o: { id: string }) => o.id)).toEqual([published.id]);
    const drafts = await k.call(
      'GET',
      `/api/v1/admin/orders?client_id=${client.user.id}&status=draft`,
      finance.auth,
    );
    expect(drafts.body.data).toEqual([]);
    const onlyPublished = await k.call(
      'GET',
      `/api/v1/admin/orders?client_id=${client.user.id}&status=published`,
      finance.auth,
    );
    expect(onlyPublished.body.data.map((o: { id: string }) => o.id)).toEqual([published.id]);
    const deleted = await k.call(
      'GET',
      `/api/v1/admin/orders?client_id=${client.user.id}&deleted=true`,
      finance.auth,
    );
    expect(deleted.body.data).toMatchObject([{ id: gone.id, is_deleted: true }]);

    for (const who of [client, provider]) {
      const refused = await k.call('GET', '/api/v1/admin/orders', who.auth);
      expect(refused.status).toBe(403);
    }
  });
});
