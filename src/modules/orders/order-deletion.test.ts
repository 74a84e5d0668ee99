import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, deliverQueuedEvents, type TestApp } from '../../../test/helper.ts';
import { orderFixtures, type SignedIn } from '../../../test/order-fixtures.ts';
import { systemActor } from '../../platform/actor.ts';
import { auditLog } from '../../platform/audit/schema.ts';
import { CATALOG_EVENTS, type CatalogEventType } from '../core/events.ts';
import { bids, orderAddons, orderPhotos, orders } from './schema.ts';

let t: TestApp;
const k = orderFixtures(() => t);
let admin: SignedIn;
let moderator: SignedIn;

beforeAll(async () => {
  t = await createTestApp();
  admin = await k.user(['admin']);
  moderator = await k.user(['moderator']);
});
afterAll(() => t.close());

/** The orders module hears what the catalog did: its jobs run, as a worker would run them. */
const hear = (types: readonly CatalogEventType[] = CATALOG_EVENTS) =>
  deliverQueuedEvents(t.app, 'orders', types);

/** The catalog's news of the order: what its client and bidders are told. */
const told = async (orderId: string) =>
  (await k.eventsOf(orderId))
    .filter((e) => e.type.endsWith('_by_catalog'))
    .map((e) => ({ type: e.type, recipient_user_ids: e.recipient_user_ids }));

const liveness = async (id: string) => {
  const [row] = await t.db.select({ isDeleted: orders.isDeleted }).from(orders).where(eq(orders.id, id));
  return row!.isDeleted ? 'deleted' : 'live';
};

describe('deleting and restoring an order', () => {
  it('takes the order with its bids, add-ons and photos, and a restore brings back exactly those', async () => {
    const client = await k.user();
    const staying = await k.provider('Мастер с заявкой');
    const leaving = await k.provider('Мастер, что ушёл');
    const extra = await k.addon((await k.sub('plumbing')).id, 30_000);
    const photo = await k.uploadPhoto(client);
    const id = await k.orderIn(client, 'published', undefined, {
      addons: [{ addon_id: extra.id, quantity: 1 }],
      photo_file_ids: [photo],
    });
    const keptBid = await k.placeBid(id, staying);
    const earlierBid = await k.placeBid(id, leaving);
    // A bid withdrawn and removed on its own before the order goes: not part of the order's deletion.
    await t.db.update(bids).set({ status: 'withdrawn' }).where(eq(bids.id, earlierBid));
    await t.app.services.softDeletes.softDelete(t.db, systemActor(), bids, [earlierBid]);

    const deleted = await k.call('DELETE', `/api/v1/orders/${id}`, client.auth);
    expect(deleted.status).toBe(200);
    expect(deleted.body.counts).toEqual({ orders: 1, bids: 1, order_addons: 1, order_photos: 1 });
    expect((await k.call('GET', `/api/v1/orders/${id}`, client.auth)).status).toBe(404);
    expect((await k.call('GET', `/api/v1/orders/${id}`, staying.auth)).status).toBe(404);
    expect(
      (await k.call('POST', `/api/v1/orders/${id}/cancel`, client.auth, { reason: 'Уже удалён' })).status,
    ).toBe(404);
    expect((await k.call('DELETE', `/api/v1/orders/${id}`, client.auth)).status).toBe(404);

    expect((await k.call('POST', `/api/v1/admin/orders/${id}/restore`, client.auth)).status).toBe(403);
    const restored = await k.call('POST', `/api/v1/admin/orders/${id}/restore`, moderator.auth);
    expect(restored.status).toBe(200);
    expect(restored.body.counts).toEqual({ orders: 1, bids: 1, order_addons: 1, order_photos: 1 });

    const bidRows = await t.db.select().from(bids).where(eq(bids.orderId, id));
    expect(bidRows.find((b) => b.id === keptBid)).toMatchObject({ isDeleted: false, status: 'pending' });
    expect(bidRows.find((b) => b.id === earlierBid)).toMatchObject({ isDeleted: true, status: 'withdrawn' });
    const view = await k.call('GET', `/api/v1/orders/${id}`, client.auth);
    expect(view.body).toMatchObject({
      status: 'bidding',
      addons: [{ addon_id: extra.id }],
      photos: [{ file_id: photo }],
    });

    const again = await k.call('POST', `/api/v1/admin/orders/${id}/restore`, moderator.auth);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('not_deleted');
    const audit = await t.db
      .select({ action: auditLog.action })
      .from(auditLog)
      .where(eq(auditLog.entityId, id));
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['soft_delete', 'restore']));
  });

  it('the client may not delete agreed work or an order with an accepted bid; admins may; others may not', async () => {
    const client = await k.user();
    const provider = await k.provider();
    const stranger = await k.user();
    const finance = await k.user(['finance']);

    const agreed = await k.orderIn(client, 'assigned', provider);
    const refused = await k.call('DELETE', `/api/v1/orders/${agreed}`, client.auth);
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('order_is_assigned');
    expect((await k.call('DELETE', `/api/v1/orders/${agreed}`, provider.auth)).status).toBe(403);

    const accepted = await k.orderIn(client, 'published');
    await t.db.insert(bids).values({
      orderId: accepted,
      providerProfileId: provider.providerId,
      providerUserId: provider.user.id,
      amount: 300_000,
      status: 'accepted',
    });
    const blocked = await k.call('DELETE', `/api/v1/orders/${accepted}`, client.auth);
    expect(blocked.status).toBe(409);
    expect(blocked.body.code).toBe('order_has_accepted_bid');

    const draft = await k.orderIn(client, 'draft');
    expect((await k.call('DELETE', `/api/v1/orders/${draft}`, stranger.auth)).status).toBe(404);
    const open = await k.orderIn(client, 'published');
    const notYours = await k.call('DELETE', `/api/v1/orders/${open}`, stranger.auth);
    expect(notYours.status).toBe(403);
    expect(notYours.body.code).toBe('not_your_order');
    expect((await k.call('DELETE', `/api/v1/orders/${open}`, finance.auth)).status).toBe(403);
    for (const id of [agreed, accepted, draft, open]) expect(await liveness(id)).toBe('live');

    // Not even staff take down a disputed order: its dispute could never be settled.
    const disputed = await k.orderIn(client, 'in_progress', provider);
    const opened = await k.call('POST', `/api/v1/orders/${disputed}/disputes`, client.auth, {
      dispute_type: 'quality_issue',
      description: 'Кран снова течёт на следующий день',
    });
    expect(opened.status).toBe(201);
    const heldBack = await k.call('DELETE', `/api/v1/orders/${disputed}`, admin.auth);
    expect([heldBack.status, heldBack.body.code]).toEqual([409, 'order_is_disputed']);
    // Those who may not delete it at all hear that, not the order's state.
    for (const who of [provider, finance]) {
      const refusedParty = await k.call('DELETE', `/api/v1/orders/${disputed}`, who.auth);
      expect([refusedParty.status, refusedParty.body.code]).toEqual([403, 'not_your_order']);
    }
    expect(await liveness(disputed)).toBe('live');

    // Staff cannot read a draft, but take one down like any order.
    const staffDraft = await k.orderIn(client, 'draft');
    expect((await k.call('GET', `/api/v1/orders/${staffDraft}`, admin.auth)).status).toBe(404);
    expect((await k.call('DELETE', `/api/v1/orders/${staffDraft}`, admin.auth)).status).toBe(200);
    expect(await liveness(staffDraft)).toBe('deleted');

    expect((await k.call('DELETE', `/api/v1/orders/${agreed}`, admin.auth)).status).toBe(200);
    expect(await liveness(agreed)).toBe('deleted');
    expect((await k.call('DELETE', `/api/v1/orders/${draft}`, client.auth)).status).toBe(200);
    expect((await k.call('POST', `/api/v1/admin/orders/${draft}/restore`, finance.auth)).status).toBe(403);
  });
});

describe('deleting a subcategory', () => {
  it('takes its orders still looking for a provider, not agreed ones; restoring it brings them back', async () => {
    const electrical = await k.sub('electrical');
    const client = await k.user();
    const provider = await k.provider(undefined, { slugs: ['electrical'] });
    const photo = await k.uploadPhoto(client);
    const inElectrical = { subcategory_id: electrical.id };
    const draft = await k.orderIn(client, 'draft', undefined, { ...inElectrical, photo_file_ids: [photo] });
    const published = await k.orderIn(client, 'published', undefined, inElectrical);
    const bidding = await k.orderIn(client, 'published', undefined, inElectrical);
    const bid = await k.placeBid(bidding, provider);
    const assigned = await k.orderIn(client, 'assigned', provider, inElectrical);
    const open = [draft, published, bidding];

    const deleted = await k.call('DELETE', `/api/v1/admin/subcategories/${electrical.id}`, admin.auth);
    expect(deleted.status).toBe(200);
    // What the catalog took; the orders module takes its own rows when it hears of it.
    expect(deleted.body.counts).toMatchObject({ service_subcategories: 1 });
    expect(deleted.body.counts.orders).toBeUndefined();
    expect(await liveness(bidding)).toBe('live');
    expect(await hear()).toBe(1);
    for (const id of open) {
      expect(await liveness(id)).toBe('deleted');
      expect((await k.call('GET', `/api/v1/orders/${id}`, client.auth)).status).toBe(404);
    }
    const [takenBid] = await t.db.select().from(bids).where(eq(bids.id, bid));
    expect(takenBid).toMatchObject({ isDeleted: true, deletionId: deleted.body.deletion_id });
    const [takenPhoto] = await t.db.select().from(orderPhotos).where(eq(orderPhotos.orderId, draft));
    expect(takenPhoto?.isDeleted).toBe(true);
    expect(await liveness(assigned)).toBe('live');
    // The client and the provider who bid are told; no one hears of agreed work, which goes on.
    expect(await told(bidding)).toEqual([
      { type: 'order_withdrawn_by_catalog', recipient_user_ids: [client.user.id, provider.user.id] },
    ]);
    expect(await told(draft)).toEqual([
      { type: 'order_withdrawn_by_catalog', recipient_user_ids: [client.user.id] },
    ]);
    expect(await told(assigned)).toEqual([]);
    expect((await k.call('GET', `/api/v1/orders/${assigned}`, provider.auth)).body.status).toBe('assigned');

    const orphan = await k.call('POST', `/api/v1/admin/orders/${draft}/restore`, admin.auth);
    expect(orphan.status).toBe(409);
    expect(orphan.body.code).toBe('parent_deleted');

    const restored = await k.call('POST', `/api/v1/admin/subcategories/${electrical.id}/restore`, admin.auth);
    expect(restored.status).toBe(200);
    expect(await hear()).toBe(1);
    for (const id of open) expect(await liveness(id)).toBe('live');
    const [bidRow] = await t.db.select().from(bids).where(eq(bids.id, bid));
    expect(bidRow).toMatchObject({ isDeleted: false, status: 'pending' });
    const photos = await t.db
      .select()
      .from(orderPhotos)
      .where(and(eq(orderPhotos.orderId, draft), eq(orderPhotos.isDeleted, false)));
    expect(photos).toHaveLength(1);
    const addons = await t.db.select().from(orderAddons).where(eq(orderAddons.orderId, draft));
    expect(addons).toEqual([]);
    expect((await k.call('GET', '/api/v1/me/orders', client.auth)).body.data).toHaveLength(4);
    expect(await told(bidding)).toEqual([
      { type: 'order_withdrawn_by_catalog', recipient_user_ids: [client.user.id, provider.user.id] },
      { type: 'order_restored_by_catalog', recipient_user_ids: [client.user.id, provider.user.id] },
    ]);
  });
});

describe('deleting a category', () => {
  it('takes its subcategories and their open orders with their bids; restoring it brings back exactly those', async () => {
    const english = await k.sub('english');
    const math = await k.sub('math');
    expect(math.categoryId).toBe(english.categoryId);
    const client = await k.user();
    const tutor = await k.provider('Репетитор', { slugs: ['english', 'math'] });
    const published = await k.orderIn(client, 'published', undefined, { subcategory_id: english.id });
    const bidding = await k.orderIn(client, 'published', undefined, { subcategory_id: math.id });
    const bid = await k.placeBid(bidding, tutor, 300_000);
    const assigned = await k.orderIn(client, 'assigned', tutor, { subcategory_id: english.id });
    const elsewhere = await k.orderIn(client, 'published');

    const deleted = await k.call('DELETE', `/api/v1/admin/categories/${english.categoryId}`, admin.auth);
    expect(deleted.status).toBe(200);
    expect(deleted.body.counts).toMatchObject({ service_categories: 1, service_subcategories: 2 });
    await hear();
    for (const id of [published, bidding]) {
      expect(await liveness(id)).toBe('deleted');
      expect((await k.call('GET', `/api/v1/orders/${id}`, client.auth)).status).toBe(404);
    }
    const [gone] = await t.db.select().from(bids).where(eq(bids.id, bid));
    expect(gone).toMatchObject({ isDeleted: true });
    // Agreed work stays, and so does everything outside the category.
    expect(await liveness(assigned)).toBe('live');
    expect(await liveness(elsewhere)).toBe('live');

    const restored = await k.call(
      'POST',
      `/api/v1/admin/categories/${english.categoryId}/restore`,
      admin.auth,
    );
    expect(restored.status).toBe(200);
    await hear();
    for (const id of [published, bidding]) expect(await liveness(id)).toBe('live');
    const [back] = await t.db.select().from(bids).where(eq(bids.id, bid));
    expect(back).toMatchObject({ isDeleted: false, status: 'pending' });
    const feed = await k.call(
      'GET',
      '/api/v1/orders/feed',
      (await k.provider('Ещё репетитор', { slugs: ['math'] })).auth,
    );
    expect(feed.body.data.map((o: { id: string }) => o.id)).toContain(bidding);
  });
});

describe('a subcategory deleted on its own, then its category', () => {
  it('keeps each deletion’s orders with it: the category’s restore leaves the subcategory’s, its own brings them back', async () => {
    const yoga = await k.sub('yoga');
    const trainer = await k.sub('personal-trainer');
    const client = await k.user();
    const coach = await k.provider('Тренер', { slugs: ['yoga', 'personal-trainer'] });
    const inYoga = await k.orderIn(client, 'published', undefined, { subcategory_id: yoga.id });
    const yogaBid = await k.placeBid(inYoga, coach);
    const withTrainer = await k.orderIn(client, 'published', undefined, { subcategory_id: trainer.id });

    expect((await k.call('DELETE', `/api/v1/admin/subcategories/${yoga.id}`, admin.auth)).status).toBe(200);
    expect((await k.call('DELETE', `/api/v1/admin/categories/${yoga.categoryId}`, admin.auth)).status).toBe(
      200,
    );
    await hear();
    expect([await liveness(inYoga), await liveness(withTrainer)]).toEqual(['deleted', 'deleted']);

    const category = await k.call('POST', `/api/v1/admin/categories/${yoga.categoryId}/restore`, admin.auth);
    expect(category.status).toBe(200);
    await hear();
    expect([await liveness(inYoga), await liveness(withTrainer)]).toEqual(['deleted', 'live']);
    expect((await k.call('POST', `/api/v1/admin/orders/${inYoga}/restore`, admin.auth)).body.code).toBe(
      'parent_deleted',
    );

    const own = await k.call('POST', `/api/v1/admin/subcategories/${yoga.id}/restore`, admin.auth);
    expect(own.status).toBe(200);
    await hear();
    expect(await liveness(inYoga)).toBe('live');
    const [bidRow] = await t.db.select().from(bids).where(eq(bids.id, yogaBid));
    expect(bidRow).toMatchObject({ isDeleted: false, status: 'pending' });
  });
});

describe('the catalog’s events heard in another order than they happened', () => {
  it('a category without subcategories takes nothing, and its events are handled', async () => {
    const made = await k.call('POST', '/api/v1/admin/categories', admin.auth, {
      slug: `empty-${Date.now()}`,
      name: { ru: 'Пусто' },
    });
    expect(made.status).toBe(201);
    expect((await k.call('DELETE', `/api/v1/admin/categories/${made.body.id}`, admin.auth)).status).toBe(200);
    const back = await k.call('POST', `/api/v1/admin/categories/${made.body.id}/restore`, admin.auth);
    expect(back.status).toBe(200);
    expect(await hear()).toBe(2);
  });

  it('a restore heard before its delete leaves the orders live', async () => {
    const furniture = await k.sub('furniture');
    const client = await k.user();
    const order = await k.orderIn(client, 'published', undefined, { subcategory_id: furniture.id });
    expect((await k.call('DELETE', `/api/v1/admin/subcategories/${furniture.id}`, admin.auth)).status).toBe(
      200,
    );
    const back = await k.call('POST', `/api/v1/admin/subcategories/${furniture.id}/restore`, admin.auth);
    expect(back.status).toBe(200);

    expect(await hear(['subcategory_restored'])).toBe(1);
    expect(await hear(['subcategory_deleted'])).toBe(1);
    expect(await liveness(order)).toBe('live');
    expect(await told(order)).toEqual([]);
  });

  it('a restore heard after the next delete leaves the orders with that delete, and its restore brings them back', async () => {
    const interpreting = await k.sub('interpreting');
    const client = await k.user();
    const linguist = await k.provider('Переводчик', { slugs: ['interpreting'] });
    const order = await k.orderIn(client, 'published', undefined, { subcategory_id: interpreting.id });
    const bid = await k.placeBid(order, linguist);
    const url = `/api/v1/admin/subcategories/${interpreting.id}`;
    expect((await k.call('DELETE', url, admin.auth)).status).toBe(200);
    expect(await hear()).toBe(1);
    expect((await k.call('POST', `${url}/restore`, admin.auth)).status).toBe(200);
    const again = await k.call('DELETE', url, admin.auth);
    expect(again.status).toBe(200);

    // The second delete first: the order is still the first one's, and stays deleted.
    expect(await hear(['subcategory_deleted'])).toBe(1);
    expect(await hear(['subcategory_restored'])).toBe(1);
    const [row] = await t.db.select().from(orders).where(eq(orders.id, order));
    expect(row).toMatchObject({ isDeleted: true, deletionId: again.body.deletion_id });
    const [bidRow] = await t.db.select().from(bids).where(eq(bids.id, bid));
    expect(bidRow).toMatchObject({ isDeleted: true, deletionId: again.body.deletion_id });

    expect((await k.call('POST', `${url}/restore`, admin.auth)).status).toBe(200);
    expect(await hear()).toBe(1);
    expect(await liveness(order)).toBe('live');
    const [bidBack] = await t.db.select().from(bids).where(eq(bids.id, bid));
    expect(bidBack).toMatchObject({ isDeleted: false, status: 'pending' });
  });
});
