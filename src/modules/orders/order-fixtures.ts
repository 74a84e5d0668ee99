/** Shared by the order tests: catalog ids, callers, photos, orders and agreed work made for a test. */
import { and, eq, sql } from 'drizzle-orm';
import { expect } from 'vitest';
import { signedInUser } from '../../../test/factories.ts';
import type { TestApp } from '../../../test/helper.ts';
import type { Role } from '../../platform/actor.ts';
import { serviceAddons, serviceAreas, serviceSubcategories } from '../core/schema.ts';
import { bids, type OrderStatus, orderAssignments, orders } from './schema.ts';

export type SignedIn = Awaited<ReturnType<typeof signedInUser>>;
export type Provider = SignedIn & { providerId: string };
type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** A 1x1 PNG: a real image the upload route accepts. */
export const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

/** Today plus `days` as YYYY-MM-DD, in Bishkek. */
export function bishkekDate(days = 0) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Bishkek' }).format(
    new Date(Date.now() + days * 86_400_000),
  );
}

export function orderKit(t: TestApp) {
  async function call(
    method: Method,
    url: string,
    who?: SignedIn,
    payload?: object,
    headers: Record<string, string> = {},
  ) {
    const response = await t.app.inject({ method, url, headers: { ...who?.auth, ...headers }, payload });
    return {
      status: response.statusCode,
      body:
        response.body && String(response.headers['content-type']).includes('json')
          ? response.json()
          : undefined,
      raw: response,
    };
  }

  async function subcategory(slug: string) {
    const [row] = await t.db
      .select({ id: serviceSubcategories.id, categoryId: serviceSubcategories.categoryId })
      .from(serviceSubcategories)
      .where(eq(serviceSubcategories.slug, slug));
    return row!;
  }

  async function area(slug: string) {
    const [row] = await t.db
      .select({ id: serviceAreas.id })
      .from(serviceAreas)
      .where(eq(serviceAreas.slug, slug));
    return row!.id;
  }

  async function addon(subcategoryId: string, price: number, priceType: 'fixed' | 'per_unit' = 'fixed') {
    const [row] = await t.db
      .insert(serviceAddons)
      .values({ subcategoryId, name: { ru: 'Доп. услуга', en: 'Extra' }, price, priceType })
      .returning();
    return row!;
  }

  const user = (roles: Role[] = ['client'], name?: string) => signedInUser(t, roles, name);

  async function provider(subcategoryId: string, name = 'Бакыт Асанов'): Promise<Provider> {
    const who = await signedInUser(t, ['client'], name);
    const made = await call('POST', '/api/v1/me/provider-profile', who, { business_name: `${name} Сервис` });
    expect(made.status).toBe(201);
    const service = await call('POST', '/api/v1/me/services', who, {
      subcategory_id: subcategoryId,
      base_price: 300_000,
    });
    expect(service.status).toBe(201);
    return { ...who, providerId: made.body.id };
  }

  async function uploadPhoto(who: SignedIn, purpose = 'order_photo') {
    const response = await t.app.inject({
      method: 'POST',
      url: `/api/v1/files?purpose=${purpose}`,
      headers: { ...who.auth, 'content-type': 'image/png' },
      payload: PNG,
    });
    expect(response.statusCode).toBe(201);
    return response.json().id as string;
  }

  /** A bid, accepted, and the assignment, written straight to the tables; the order becomes `status`. */
  async function assign(orderId: string, p: Provider, status: OrderStatus = 'assigned', amount = 500_000) {
    const [order] = await t.db.select().from(orders).where(eq(orders.id, orderId));
    const [bid] = await t.db
      .insert(bids)
      .values({
        orderId,
        providerProfileId: p.providerId,
        providerUserId: p.user.id,
        amount,
        status: 'accepted',
        decidedAt: new Date(),
      })
      .returning();
    await t.db.insert(orderAssignments).values({
      orderId,
      bidId: bid!.id,
      providerProfileId: p.providerId,
      providerUserId: p.user.id,
      clientUserId: order!.clientUserId,
    });
    await t.db
      .update(orders)
      .set({ status, finalPrice: amount, assignedAt: new Date(), bidCount: sql`${orders.bidCount} + 1` })
      .where(eq(orders.id, orderId));
    return bid!.id;
  }

  /** A pending bid written straight to the table (the order moves to bidding). */
  async function pendingBid(orderId: string, p: Provider, amount = 400_000) {
    const [bid] = await t.db
      .insert(bids)
      .values({ orderId, providerProfileId: p.providerId, providerUserId: p.user.id, amount })
      .returning();
    await t.db
      .update(orders)
      .set({ status: 'bidding', bidCount: sql`${orders.bidCount} + 1` })
      .where(and(eq(orders.id, orderId), eq(orders.status, 'published')));
    return bid!.id;
  }

  /** The `orders.event` jobs queued for an order, oldest first. */
  async function eventsOf(orderId: string) {
    const { rows } = await t.database.sql.query(
      "select data from pgboss.job where name = 'orders.event' and data->>'order_id' = $1 order by created_on, id",
      [orderId],
    );
    return rows.map((r) => r.data as { type: string; recipient_user_ids: string[]; to_status?: string });
  }

  return { call, subcategory, area, addon, user, provider, uploadPhoto, assign, pendingBid, eventsOf };
}
