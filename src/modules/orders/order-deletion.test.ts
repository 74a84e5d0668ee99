import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helper.ts';
import { systemActor } from '../../platform/actor.ts';
import { auditLog } from '../../platform/audit/schema.ts';
import { softDelete } from '../../platform/soft-delete.ts';
import { orderKit, type SignedIn } from './order-fixtures.ts';
import { bids, orderAddons, orderPhotos, orders } from './schema.ts';

let t: TestApp;
let k: ReturnType<typeof orderKit>;
let plumbing: { id: string; categoryId: string };
let bishkek: string;
let admin: SignedIn;
let moderator: SignedIn;

beforeAll(async () => {
  t = await createTestApp();
  k = orderKit(t);
  plumbing = await k.subcategory('plumbing');
  bishkek = await k.area('bishkek');
  admin = await k.user(['admin']);
  moderator = await k.user(['moderator']);
});
afterAll(() => t.close());

async function newOrder(who: SignedIn, extra: Record<string, unknown> = {}, subcategoryId = plumbing.id) {
  const made = await k.call('POST', '/api/v1/orders', who, {
    subcategory_id: subcategoryId,
    title: 'Починить розетку в спальне',
    description: 'Розетка искрит, нужно заменить и проверить проводку',
    service_area_id: bishkek,
    address: 'ул. Токтогула 120, кв. 8',
    publish: true,
    ...extra,
  });
  expect(made.status, JSON.stringify(made.body)).toBe(201);
  return made.body.id as string;
}

const liveness = async (id: string) => {
  const [row] = await t.db.select({ isDeleted: orders.isDeleted }).from(orders).where(eq(orders.id, id));
  return row!.isDeleted ? 'deleted' : 'live';
};

describe('deleting and restoring an order', () => {
  it('takes the order with its bids, add-ons and photos, and a restore brings back exactly those', async () => {
    const client = await k.user();
    const staying = await k.provider(plumbing.id, 'Мастер с заявкой');
    const leaving = await k.provider(plumbing.id, 'Мастер, что ушёл');
    const extra = await k.addon(plumbing.id, 30_000);
    const photo = await k.uploadPhoto(client);
    const id = await newOrder(client, {
      addons: [{ addon_id: extra.id, quantity: 1 }],
      photo_file_ids: [photo],
    });
    const keptBid = await k.pendingBid(id, staying);
    const earlierBid = await k.pendingBid(id, leaving);
    // A bid withdrawn and removed on its own before the order goes: not part of the order's deletion.
    await t.db.update(bids).set({ status: 'withdrawn' }).where(eq(bids.id, earlierBid));
    await softDelete(t.db, systemActor(), bids, [earlierBid]);

    const deleted = await k.call('DELETE', `/api/v1/orders/${id}`, client);
    expect(deleted.status).toBe(200);
    expect(deleted.body.counts).toEqual({ orders: 1, bids: 1, order_addons: 1, order_photos: 1 });
    expect((await k.call('GET', `/api/v1/orders/${id}`, client)).status).toBe(404);
    expect((await k.call('GET', `/api/v1/orders/${id}`, staying)).status).toBe(404);
    expect(
      (await k.call('POST', `/api/v1/orders/${id}/cancel`, client, { reason: 'Уже удалён' })).status,
    ).toBe(404);
    expect((await k.call('DELETE', `/api/v1/orders/${id}`, client)).status).toBe(404);

    expect((await k.call('POST', `/api/v1/admin/orders/${id}/restore`, client)).status).toBe(403);
    const restored = await k.call('POST', `/api/v1/admin/orders/${id}/restore`, moderator);
    expect(restored.status).toBe(200);
    expect(restored.body.counts).toEqual({ orders: 1, bids: 1, order_addons: 1, order_photos: 1 });

    const bidRows = await t.db.select().from(bids).where(eq(bids.orderId, id));
    expect(bidRows.find((b) => b.id === keptBid)).toMatchObject({ isDeleted: false, status: 'pending' });
    expect(bidRows.find((b) => b.id === earlierBid)).toMatchObject({ isDeleted: true, status: 'withdrawn' });
    const view = await k.call('GET', `/api/v1/orders/${id}`, client);
    expect(view.body).toMatchObject({
      status: 'bidding',
      addons: [{ addon_id: extra.id }],
      photos: [{ file_id: photo }],
    });

    const again = await k.call('POST', `/api/v1/admin/orders/${id}/restore`, moderator);
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
    const provider = await k.provider(plumbing.id);
    const stranger = await k.user();
    const finance = await k.user(['finance']);

    const agreed = await newOrder(client);
    await k.assign(agreed, provider);
    const refused = await k.call('DELETE', `/api/v1/orders/${agreed}`, client);
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('order_is_assigned');
    expect((await k.call('DELETE', `/api/v1/orders/${agreed}`, provider)).status).toBe(403);

    const accepted = await newOrder(client);
    await t.db.insert(bids).values({
      orderId: accepted,
      providerProfileId: provider.providerId,
      providerUserId: provider.user.id,
      amount: 300_000,
      status: 'accepted',
    });
    const blocked = await k.call('DELETE', `/api/v1/orders/${accepted}`, client);
    expect(blocked.status).toBe(409);
    expect(blocked.body.code).toBe('order_has_accepted_bid');

    const draft = await newOrder(client, { publish: false });
    expect((await k.call('DELETE', `/api/v1/orders/${draft}`, stranger)).status).toBe(404);
    const open = await newOrder(client);
    const notYours = await k.call('DELETE', `/api/v1/orders/${open}`, stranger);
    expect(notYours.status).toBe(403);
    expect(notYours.body.code).toBe('not_your_order');
    expect((await k.call('DELETE', `/api/v1/orders/${open}`, finance)).status).toBe(403);
    for (const id of [agreed, accepted, draft, open]) expect(await liveness(id)).toBe('live');

    expect((await k.call('DELETE', `/api/v1/orders/${agreed}`, admin)).status).toBe(200);
    expect(await liveness(agreed)).toBe('deleted');
    expect((await k.call('DELETE', `/api/v1/orders/${draft}`, client)).status).toBe(200);
    expect((await k.call('POST', `/api/v1/admin/orders/${draft}/restore`, finance)).status).toBe(403);
  });
});

describe('deleting a subcategory', () => {
  it('takes its orders still looking for a provider, not agreed ones; restoring it brings them back', async () => {
    const electrical = await k.subcategory('electrical');
    const client = await k.user();
    const provider = await k.provider(electrical.id);
    const photo = await k.uploadPhoto(client);
    const draft = await newOrder(client, { publish: false, photo_file_ids: [photo] }, electrical.id);
    const published = await newOrder(client, {}, electrical.id);
    const bidding = await newOrder(client, {}, electrical.id);
    const bid = await k.pendingBid(bidding, provider);
    const assigned = await newOrder(client, {}, electrical.id);
    await k.assign(assigned, provider);
    const open = [draft, published, bidding];

    const deleted = await k.call('DELETE', `/api/v1/admin/subcategories/${electrical.id}`, admin);
    expect(deleted.status).toBe(200);
    expect(deleted.body.counts).toMatchObject({
      service_subcategories: 1,
      orders: 3,
      bids: 1,
      order_photos: 1,
    });
    for (const id of open) {
      expect(await liveness(id)).toBe('deleted');
      expect((await k.call('GET', `/api/v1/orders/${id}`, client)).status).toBe(404);
    }
    expect(await liveness(assigned)).toBe('live');
    expect((await k.call('GET', `/api/v1/orders/${assigned}`, provider)).body.status).toBe('assigned');

    const orphan = await k.call('POST', `/api/v1/admin/orders/${draft}/restore`, admin);
    expect(orphan.status).toBe(409);
    expect(orphan.body.code).toBe('parent_deleted');

    const restored = await k.call('POST', `/api/v1/admin/subcategories/${electrical.id}/restore`, admin);
    expect(restored.status).toBe(200);
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
    expect((await k.call('GET', '/api/v1/me/orders', client)).body.data).toHaveLength(4);
  });
});
