/**
 * The fixtures of every orders test: catalog ids, `call()`, signed-in users, clients, providers and staff,
 * uploads, orders in any state, and readers for the rows and queued events a test asserts.
 *
 * Orders are made through the routes (`newOrder`, `placeBid`, `agree`, `orderIn`: POST /orders, publish,
 * bids, accept, start, complete, confirm, cancel). The `insert*` makers write straight to the tables and
 * leave no status history, audit or queued event; a test uses them only when it
 * - checks an order's whole status history or event queue (a route walk would add its own steps to it),
 * - needs what the routes refuse or cannot reach in a test's time: a service date years ahead, a
 *   description shorter than the create route allows, work completed days ago, a status without the
 *   steps that lead to it.
 */
import { eq, sql } from 'drizzle-orm';
import { validate, version } from 'uuid';
import { expect } from 'vitest';
import { makeAddon, type SeededCatalog, seededCatalog } from '../src/modules/core/catalog-fixtures.ts';
import type { OrderEvent } from '../src/modules/orders/events.ts';
import {
  bids,
  type OrderStatus,
  orderAssignments,
  orderStatusHistory,
  orders,
  type URGENCIES,
} from '../src/modules/orders/schema.ts';
import type { Role } from '../src/platform/actor.ts';
import { signedInUser } from './factories.ts';
import { queuedEvents, type TestApp } from './helper.ts';
import { caller } from './http.ts';

export type SignedIn = Awaited<ReturnType<typeof signedInUser>>;
export type Client = SignedIn & { clientProfileId: string };
export type Provider = SignedIn & { providerId: string };
/** How far `agree` takes agreed work: `work_done` is in progress with the work marked done. */
export type AgreedState = 'assigned' | 'in_progress' | 'work_done' | 'completed';
/** The states `orderIn` reaches through the routes. */
export type OrderState = 'draft' | 'published' | 'bidding' | 'cancelled' | AgreedState;

/** A 1x1 PNG: a real image the upload route accepts. */
export const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);
/** A minimal PDF: evidence the upload route accepts. */
export const PDF = Buffer.from(
  '%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n',
);
/** An id nothing has. */
export const MISSING = '01930000-0000-7000-8000-000000000000';

/** Today plus `days` as YYYY-MM-DD, in Bishkek. */
export function bishkekDate(days = 0) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Bishkek' }).format(
    new Date(Date.now() + days * 86_400_000),
  );
}

/** The fixtures for the app of one test file; the app is made in `beforeAll`, so it is passed as a getter. */
export function orderFixtures(app: () => TestApp) {
  const call = caller(app);

  // The catalog is seeded and read once per test file.
  let seeded: SeededCatalog | undefined;
  const catalog = async () => {
    seeded ??= await seededCatalog(app().db);
    return seeded;
  };

  /** A seeded subcategory by slug, with its category. */
  async function sub(slug: string) {
    const found = (await catalog()).subcategories.find((s) => s.slug === slug);
    if (!found) throw new Error(`no subcategory ${slug}`);
    return found;
  }

  /** A seeded service area's id by slug. */
  async function area(slug: string) {
    const found = (await catalog()).areas.find((a) => a.slug === slug);
    if (!found) throw new Error(`no area ${slug}`);
    return found.id;
  }

  /** A new add-on of a subcategory. */
  const addon = (subcategoryId: string, price: number, priceType: 'fixed' | 'per_unit' = 'fixed') =>
    makeAddon(app().db, subcategoryId, price, priceType);

  /** A signed-in user with these roles and no profile yet: staff, or a client before the first order. */
  const user = (roles: Role[] = ['client'], name?: string) => signedInUser(app(), roles, name);

  /** A signed-in user with a client profile. */
  async function client(name = 'Айгуль Токтогулова', roles: Role[] = ['client']): Promise<Client> {
    const who = await signedInUser(app(), roles, name);
    const made = await call('POST', '/api/v1/me/client-profile', who.auth, {});
    expect(made.status).toBe(201);
    return { ...who, clientProfileId: made.body.id as string };
  }

  /**
   * A provider (their account is named `<name> Owner`) offering services in these subcategories (plumbing
   * unless told) and working in these areas (none: anywhere); staff too when `roles` adds a staff role.
   */
  async function provider(
    name = 'Бакыт Асанов',
    options: { slugs?: string[]; areas?: string[]; price?: number; roles?: Role[] } = {},
  ): Promise<Provider> {
    const who = await signedInUser(app(), ['client', 'provider', ...(options.roles ?? [])], `${name} Owner`);
    const areaIds = await Promise.all((options.areas ?? []).map(area));
    const created = await call('POST', '/api/v1/me/provider-profile', who.auth, {
      business_name: name,
      description: `${name}: опытный мастер`,
      service_area_ids: areaIds,
    });
    expect(created.status).toBe(201);
    for (const slug of options.slugs ?? ['plumbing']) {
      const made = await call('POST', '/api/v1/me/services', who.auth, {
        subcategory_id: (await sub(slug)).id,
        base_price: options.price ?? 100_000,
      });
      expect(made.status).toBe(201);
    }
    return { ...who, providerId: created.body.id as string };
  }

  /** Uploads a file as `who`; its id. */
  async function upload(who: SignedIn, purpose: string, contentType: string, payload: Buffer) {
    const response = await app().app.inject({
      method: 'POST',
      url: `/api/v1/files?purpose=${purpose}`,
      headers: { ...who.auth, 'content-type': contentType },
      payload,
    });
    expect(response.statusCode).toBe(201);
    return response.json().id as string;
  }

  const uploadPhoto = (who: SignedIn, purpose = 'order_photo') => upload(who, purpose, 'image/png', PNG);
  const uploadPdf = (who: SignedIn, purpose = 'dispute_evidence') =>
    upload(who, purpose, 'application/pdf', PDF);

  // Through the routes.

  /** The body of POST /orders: a plumbing job in Bishkek the day after tomorrow, changed by `overrides`. */
  async function orderBody(overrides: Record<string, unknown> = {}) {
    return {
      subcategory_id: (await sub('plumbing')).id,
      title: 'Течёт кран на кухне',
      description: 'Нужно заменить смеситель, кран течёт уже неделю',
      service_area_id: await area('bishkek'),
      address: 'ул. Киевская 77, кв. 5',
      service_date: bishkekDate(2),
      time_from: '10:00',
      time_to: '14:00',
      urgency: 'high',
      budget_min: 100_000,
      budget_max: 300_000,
      ...overrides,
    };
  }

  /** POST /orders: a draft, or published with `publish: true`; the order as answered. */
  async function newOrder(owner: SignedIn, overrides: Record<string, unknown> = {}) {
    const made = await call('POST', '/api/v1/orders', owner.auth, await orderBody(overrides));
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    return made.body;
  }

  /** POST /orders/{id}/bids: a pending bid; its id. */
  async function placeBid(orderId: string, p: Provider, amount = 500_000) {
    const made = await call('POST', `/api/v1/orders/${orderId}/bids`, p.auth, { amount });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    return made.body.id as string;
  }

  /** One order action (start, complete, confirm, cancel, …) that must succeed. */
  async function act(orderId: string, action: string, who: SignedIn, payload?: object) {
    const answer = await call('POST', `/api/v1/orders/${orderId}/${action}`, who.auth, payload);
    expect(answer.status, `${action} ${JSON.stringify(answer.body)}`).toBe(200);
    return answer.body;
  }

  /**
   * Agreed work on an open order: the provider bids, the client accepts, and then, as far as `state`, the
   * provider starts and marks the work done and the client confirms. The accepted bid's id.
   */
  async function agree(
    orderId: string,
    owner: SignedIn,
    p: Provider,
    options: { state?: AgreedState; amount?: number } = {},
  ) {
    const state = options.state ?? 'assigned';
    const amount = options.amount ?? 500_000;
    const bidId = await placeBid(orderId, p, amount);
    const accepted = await call('POST', `/api/v1/bids/${bidId}/accept`, owner.auth, { amount });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(201);
    if (state === 'assigned') return bidId;
    await act(orderId, 'start', p);
    if (state === 'in_progress') return bidId;
    await act(orderId, 'complete', p);
    if (state === 'work_done') return bidId;
    await act(orderId, 'confirm', owner);
    return bidId;
  }

  /**
   * A new order (`newOrder`'s body, changed by `overrides`) taken to `state` through the routes: `p` bids on
   * it (bidding) or is agreed with (assigned and on); a cancelled order with `p` is agreed first, and the
   * client cancels it. Its id.
   */
  async function orderIn(
    owner: SignedIn,
    state: OrderState,
    p?: Provider,
    overrides: Record<string, unknown> = {},
  ): Promise<string> {
    const { id } = await newOrder(owner, { ...overrides, publish: state !== 'draft' });
    if (state === 'draft' || state === 'published') return id;
    if (state === 'cancelled') {
      if (p) await agree(id, owner, p);
      await act(id, 'cancel', owner, { reason: 'Планы изменились' });
      return id;
    }
    if (!p) throw new Error(`orderIn: a ${state} order needs a provider`);
    if (state === 'bidding') await placeBid(id, p);
    else await agree(id, owner, p, { state });
    return id;
  }

  // Straight to the tables.

  /** An order in any status and with any values, written straight to the table; published unless told. */
  async function insertOrder(
    owner: SignedIn,
    options: {
      slug?: string;
      area?: string;
      status?: OrderStatus;
      title?: string;
      description?: string;
      urgency?: (typeof URGENCIES)[number];
      budgetMin?: number | null;
      budgetMax?: number | null;
      serviceDate?: string | null;
    } = {},
  ) {
    const subcategory = await sub(options.slug ?? 'plumbing');
    const profile = (await call('GET', '/api/v1/me/client-profile', owner.auth)).body as { id?: string };
    if (!profile.id) throw new Error('insertOrder: the owner has no client profile');
    const status = options.status ?? 'published';
    const [row] = await app()
      .db.insert(orders)
      .values({
        clientProfileId: profile.id,
        clientUserId: owner.user.id,
        subcategoryId: subcategory.id,
        categoryId: subcategory.categoryId,
        title: options.title ?? 'Течёт кран на кухне',
        description: options.description ?? 'Нужно заменить смеситель, материалы есть',
        serviceAreaId: await area(options.area ?? 'bishkek'),
        serviceDate: options.serviceDate === undefined ? '2030-05-20' : options.serviceDate,
        urgency: options.urgency ?? 'medium',
        budgetMin: options.budgetMin === undefined ? 50_000 : options.budgetMin,
        budgetMax: options.budgetMax === undefined ? 150_000 : options.budgetMax,
        status,
        publishedAt: status === 'draft' ? null : new Date(),
      })
      .returning();
    return row!;
  }

  /** A pending bid written straight to the table; a published order moves to bidding. Its id. */
  async function insertBid(orderId: string, p: Provider, amount = 400_000) {
    const [bid] = await app()
      .db.insert(bids)
      .values({ orderId, providerProfileId: p.providerId, providerUserId: p.user.id, amount })
      .returning();
    await app()
      .db.update(orders)
      .set({
        status: sql`case when ${orders.status} = 'published' then 'bidding' else ${orders.status} end`,
        bidCount: sql`${orders.bidCount} + 1`,
      })
      .where(eq(orders.id, orderId));
    return bid!.id;
  }

  /**
   * An accepted bid and the assignment written straight to the tables; the order becomes `status`, with
   * the times that go with it (`completedAt` for work completed some time ago). The bid's id.
   */
  async function insertAgreement(
    orderId: string,
    p: Provider,
    options: { status?: OrderStatus; amount?: number; completedAt?: Date | null } = {},
  ) {
    const status = options.status ?? 'assigned';
    const amount = options.amount ?? 500_000;
    const now = new Date();
    const completedAt =
      options.completedAt === undefined && status === 'completed' ? now : options.completedAt;
    const [order] = await app().db.select().from(orders).where(eq(orders.id, orderId));
    const [bid] = await app()
      .db.insert(bids)
      .values({
        orderId,
        providerProfileId: p.providerId,
        providerUserId: p.user.id,
        amount,
        status: 'accepted',
        decidedAt: now,
      })
      .returning();
    await app().db.insert(orderAssignments).values({
      orderId,
      bidId: bid!.id,
      providerProfileId: p.providerId,
      providerUserId: p.user.id,
      clientUserId: order!.clientUserId,
    });
    await app()
      .db.update(orders)
      .set({
        status,
        finalPrice: amount,
        assignedAt: now,
        startedAt: status === 'assigned' ? null : now,
        completedAt: completedAt ?? null,
        bidCount: sql`${orders.bidCount} + 1`,
      })
      .where(eq(orders.id, orderId));
    return bid!.id;
  }

  /** An order agreed with `p` (or, without one, still open) in `status`, all written to the tables; its id. */
  async function insertAgreedOrder(
    owner: SignedIn,
    p: Provider | null,
    status: OrderStatus = 'completed',
    completedAt?: Date | null,
  ) {
    const order = await insertOrder(owner, { status: p ? 'published' : status });
    if (p) await insertAgreement(order.id, p, { status, completedAt });
    return order.id;
  }

  // Reading.

  async function orderRow(id: string) {
    const [row] = await app().db.select().from(orders).where(eq(orders.id, id));
    return row!;
  }

  /** An order's status changes, oldest first (ids are made under the order's lock: they sort as committed). */
  function historyOf(orderId: string) {
    return app()
      .db.select({
        from: orderStatusHistory.fromStatus,
        to: orderStatusHistory.toStatus,
        actor: orderStatusHistory.actorId,
        reason: orderStatusHistory.reason,
      })
      .from(orderStatusHistory)
      .where(eq(orderStatusHistory.orderId, orderId))
      .orderBy(orderStatusHistory.id);
  }

  /**
   * The order events queued for an order, in the order they were emitted, without their ids (each a UUIDv7
   * of its own, checked here) so that tests compare what they say.
   */
  async function eventsOf(orderId: string): Promise<Omit<OrderEvent, 'id'>[]> {
    const events = await queuedEvents<OrderEvent>(app().database, 'order_id', orderId);
    const ids = events.map((e) => e.id);
    expect(ids.every((id) => validate(id) && version(id) === 7)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    return events.map(({ id: _, ...event }) => event);
  }

  /** The order, its bids, its assignment and its event count: what a refused request must leave alone. */
  async function snapshot(orderId: string) {
    const { rows } = await app().database.sql.query(
      `select
         (select row_to_json(o) from orders o where o.id = $1) as order,
         (select coalesce(json_agg(b order by b.id), '[]') from bids b where b.order_id = $1) as bids,
         (select coalesce(json_agg(a), '[]') from order_assignments a where a.order_id = $1) as assignments,
         (select count(*)::int from pgboss.job where name like 'log.on.%' and data->>'order_id' = $1::text) as events`,
      [orderId],
    );
    return JSON.stringify(rows[0]);
  }

  return {
    call,
    sub,
    area,
    addon,
    user,
    client,
    provider,
    uploadPhoto,
    uploadPdf,
    orderBody,
    newOrder,
    placeBid,
    act,
    agree,
    orderIn,
    insertOrder,
    insertBid,
    insertAgreement,
    insertAgreedOrder,
    orderRow,
    historyOf,
    eventsOf,
    snapshot,
  };
}
