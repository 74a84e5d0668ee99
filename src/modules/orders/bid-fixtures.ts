/**
 * Test fixtures for bids, assignments and the feed: clients, providers and open orders. Orders are written
 * straight to the table, so these tests do not depend on the order routes.
 */
import { eq } from 'drizzle-orm';
import { expect } from 'vitest';
import { signedInUser } from '../../../test/factories.ts';
import type { TestApp } from '../../../test/helper.ts';
import type { Role } from '../../platform/actor.ts';
import { serviceAreas, serviceSubcategories } from '../core/schema.ts';
import type { OrderEvent } from './events.ts';
import { type OrderStatus, orders, type URGENCIES } from './schema.ts';

export type SignedIn = Awaited<ReturnType<typeof signedInUser>>;

export interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: test answers are read field by field
  body: any;
  headers: Record<string, unknown>;
}

export function fixtures(t: () => TestApp) {
  let subcategories: { id: string; slug: string; categoryId: string }[] | undefined;
  let areas: { id: string; slug: string }[] | undefined;

  async function catalog() {
    subcategories ??= await t()
      .db.select({
        id: serviceSubcategories.id,
        slug: serviceSubcategories.slug,
        categoryId: serviceSubcategories.categoryId,
      })
      .from(serviceSubcategories);
    areas ??= await t().db.select({ id: serviceAreas.id, slug: serviceAreas.slug }).from(serviceAreas);
    return { subcategories, areas };
  }

  async function sub(slug: string) {
    const found = (await catalog()).subcategories.find((s) => s.slug === slug);
    if (!found) throw new Error(`no subcategory ${slug}`);
    return found;
  }

  async function area(slug: string) {
    const found = (await catalog()).areas.find((a) => a.slug === slug);
    if (!found) throw new Error(`no area ${slug}`);
    return found.id;
  }

  async function call(
    method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
    url: string,
    auth?: object,
    payload?: object,
  ): Promise<Answer> {
    const response = await t().app.inject({ method, url, headers: { ...auth }, payload });
    return {
      status: response.statusCode,
      body: response.body ? response.json() : undefined,
      headers: response.headers,
    };
  }

  /** A signed-in user with a client profile. */
  async function client(name = 'Клиент', roles: Role[] = ['client']) {
    const who = await signedInUser(t(), roles, name);
    const made = await call('POST', '/api/v1/me/client-profile', who.auth, {});
    expect(made.status).toBe(201);
    return who;
  }

  /** A provider offering services in these subcategories, working in these areas (none: anywhere). */
  async function provider(
    name: string,
    options: { slugs?: string[]; areas?: string[]; price?: number } = {},
  ): Promise<SignedIn & { providerId: string }> {
    const who = await signedInUser(t(), ['client', 'provider'], `${name} Owner`);
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

  /** An order written straight to the table; open for bids unless told otherwise. */
  async function order(
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
    const [profile] = (
      await t().database.sql.query(
        `select c.id from client_profiles c join user_profiles u on u.id = c.user_profile_id
         where u.user_id = $1 and not c.is_deleted`,
        [owner.user.id],
      )
    ).rows as { id: string }[];
    const status = options.status ?? 'published';
    const [row] = await t()
      .db.insert(orders)
      .values({
        clientProfileId: profile?.id ?? owner.user.id,
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

  async function orderRow(id: string) {
    const [row] = await t().db.select().from(orders).where(eq(orders.id, id));
    return row!;
  }

  /** The order events queued for an order (tests run without a worker, so they stay queued). */
  async function eventsOf(orderId: string): Promise<OrderEvent[]> {
    const { rows } = await t().database.sql.query(
      `select data from pgboss.job where name = 'orders.event' and data->>'order_id' = $1 order by created_on, id`,
      [orderId],
    );
    return rows.map((r) => (typeof r.data === 'string' ? JSON.parse(r.data) : r.data) as OrderEvent);
  }

  /** A snapshot of what a refused request must leave alone. */
  async function snapshot(orderId: string) {
    const { rows } = await t().database.sql.query(
      `select
         (select row_to_json(o) from orders o where o.id = $1) as order,
         (select coalesce(json_agg(b order by b.id), '[]') from bids b where b.order_id = $1) as bids,
         (select coalesce(json_agg(a), '[]') from order_assignments a where a.order_id = $1) as assignments,
         (select count(*)::int from pgboss.job where name = 'orders.event' and data->>'order_id' = $1::text) as events`,
      [orderId],
    );
    return JSON.stringify(rows[0]);
  }

  return { call, client, provider, order, orderRow, eventsOf, snapshot, sub, area };
}
