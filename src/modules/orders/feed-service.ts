import { and, count, desc, eq, gte, inArray, lte, ne, notExists, type SQL, sql } from 'drizzle-orm';
import { Type } from 'typebox';
import type { Actor } from '../../platform/actor.ts';
import type { Db } from '../../platform/db.ts';
import { ForbiddenError } from '../../platform/errors.ts';
import { decodeCursor, IdCursor, type PageResult, toPage } from '../../platform/pagination.ts';
import type { CatalogService } from '../core/service.ts';
import type { ProfileService } from '../users/profile-service.ts';
import type { FeedFilter, OrderListingView, OrderSearchFilter } from './feed-contract.ts';
import type { OrderRow } from './lifecycle.ts';
import { bids, orderSearches, orders } from './schema.ts';

/** Search counts matches up to this many for the search log; past it the exact number does not matter. */
const COUNT_CAP = 10_000;

const listing = (o: OrderRow): OrderListingView => ({
  id: o.id,
  title: o.title,
  description: o.description,
  category_id: o.categoryId,
  subcategory_id: o.subcategoryId,
  service_area_id: o.serviceAreaId,
  service_date: o.serviceDate,
  time_from: o.timeFrom,
  time_to: o.timeTo,
  urgency: o.urgency,
  budget_min: o.budgetMin,
  budget_max: o.budgetMax,
  currency: o.currency,
  status: o.status as OrderListingView['status'],
  bid_count: o.bidCount,
  published_at: o.publishedAt?.toISOString() ?? null,
  created_at: o.createdAt.toISOString(),
});

/** Open for bids and not deleted: the only orders the feed and search ever show. */
const openOrders = and(inArray(orders.status, ['published', 'bidding']), eq(orders.isDeleted, false));

const urgencyRank = sql<number>`(case ${orders.urgency} when 'urgent' then 4 when 'high' then 3 when 'medium' then 2 else 1 end)`;
const UrgentCursor = Type.Tuple([Type.Integer({ minimum: 1, maximum: 4 }), Type.String({ format: 'uuid' })]);
const ScoreCursor = Type.Tuple([Type.Number(), Type.String({ format: 'uuid' })]);

/** The text the indexes `orders_search_fts` and `orders_search_trgm` are built on. */
const searchText = sql`(${orders.title} || ' ' || ${orders.description})`;

type Sort = 'newest' | 'urgent' | 'relevance';

export type FeedService = ReturnType<typeof createFeedService>;

/**
 * What providers look through: their feed (open orders in what they offer and where they work) and search
 * over every open order. Text search is full-text (whole words, any order) or trigram word similarity
 * (typos, and the Russian and Kyrgyz word forms the `simple` dictionary does not stem).
 */
export function createFeedService({
  db,
  catalog,
  profiles,
}: {
  db: Db;
  catalog: CatalogService;
  profiles: ProfileService;
}) {
  /** The areas given and their districts: a provider in Бишкек works in Бишкек-Центр too. */
  async function withDistricts(areaIds: string[]) {
    if (areaIds.length === 0) return [];
    const areas = await catalog.listServiceAreas('ru');
    const districts = areas.filter((a) => a.parent_id && areaIds.includes(a.parent_id)).map((a) => a.id);
    return [...new Set([...areaIds, ...districts])];
  }

  /** One page in the chosen order; each sort's cursor is its key then the id, so pages never skip or repeat. */
  async function page(
    where: SQL | undefined,
    sort: Sort,
    limit: number,
    cursor: string | undefined,
    q?: string,
  ): Promise<PageResult<OrderListingView>> {
    if (sort === 'relevance' && q) {
      const query = sql`plainto_tsquery('simple', ${q})`;
      const score = sql<number>`(ts_rank(to_tsvector('simple', ${searchText}), ${query}) + word_similarity(${q}, lower(${searchText})))::float8`;
      const after = decodeCursor(cursor, ScoreCursor);
      const rows = await db
        .select({ order: orders, score })
        .from(orders)
        .where(
          and(
            where,
            after
              ? sql`(${score} < ${after[0]} or (${score} = ${after[0]} and ${orders.id} < ${after[1]}))`
              : undefined,
          ),
        )
        .orderBy(desc(score), desc(orders.id))
        .limit(limit + 1);
      return toPage(
        rows,
        limit,
        (r) => [Number(r.score), r.order.id],
        (r) => listing(r.order),
      );
    }
    if (sort === 'urgent') {
      const after = decodeCursor(cursor, UrgentCursor);
      const rows = await db
        .select({ order: orders, rank: urgencyRank })
        .from(orders)
        .where(
          and(
            where,
            after
              ? sql`(${urgencyRank} < ${after[0]} or (${urgencyRank} = ${after[0]} and ${orders.id} < ${after[1]}))`
              : undefined,
          ),
        )
        .orderBy(desc(urgencyRank), desc(orders.id))
        .limit(limit + 1);
      return toPage(
        rows,
        limit,
        (r) => [Number(r.rank), r.order.id],
        (r) => listing(r.order),
      );
    }
    const after = decodeCursor(cursor, IdCursor);
    const rows = await db
      .select()
      .from(orders)
      .where(and(where, after ? sql`${orders.id} < ${after[0]}` : undefined))
      .orderBy(desc(orders.id))
      .limit(limit + 1);
    return toPage(rows, limit, (o) => [o.id], listing);
  }

  return {
    /**
     * The provider's feed: open orders in the subcategories they offer and, when they named service areas,
     * in those areas (a city takes in its districts); never their own orders or ones they already have a
     * live bid on.
     */
    async feed(actor: Actor, filter: FeedFilter): Promise<PageResult<OrderListingView>> {
      const reach = await profiles.providerReach(actor.userId ?? '');
      if (!reach) {
        throw new ForbiddenError(
          'provider_profile_required',
          'the feed is for providers; create a provider profile first (POST /me/provider-profile)',
        );
      }
      const subcategoryIds = filter.subcategory_id
        ? reach.subcategoryIds.filter((id) => id === filter.subcategory_id)
        : reach.subcategoryIds;
      if (subcategoryIds.length === 0) return { data: [], next_cursor: null };
      const areaIds = await withDistricts(reach.serviceAreaIds);
      const where = and(
        openOrders,
        inArray(orders.subcategoryId, subcategoryIds),
        areaIds.length > 0 ? inArray(orders.serviceAreaId, areaIds) : undefined,
        ne(orders.clientUserId, actor.userId ?? ''),
        notExists(
          db
            .select({ one: sql`1` })
            .from(bids)
            .where(
              and(
                eq(bids.orderId, orders.id),
                eq(bids.providerProfileId, reach.providerProfileId),
                inArray(bids.status, ['pending', 'accepted']),
                eq(bids.isDeleted, false),
              ),
            ),
        ),
      );
      return page(where, filter.sort, filter.limit, filter.cursor);
    },

    /**
     * Search over every open order. A new search (no cursor) is logged with its filters and how many
     * orders matched (counted up to 10,000), for search analytics.
     */
    async search(actor: Actor, filter: OrderSearchFilter): Promise<PageResult<OrderListingView>> {
      const q = filter.q?.trim().toLowerCase() || undefined;
      const areaIds = filter.area_id ? await withDistricts([filter.area_id]) : undefined;
      const upper = sql`coalesce(${orders.budgetMax}, ${orders.budgetMin})`;
      const lower = sql`coalesce(${orders.budgetMin}, ${orders.budgetMax})`;
      const where = and(
        openOrders,
        filter.category_id ? eq(orders.categoryId, filter.category_id) : undefined,
        filter.subcategory_id ? eq(orders.subcategoryId, filter.subcategory_id) : undefined,
        areaIds ? inArray(orders.serviceAreaId, areaIds) : undefined,
        filter.urgency ? eq(orders.urgency, filter.urgency) : undefined,
        // The order's budget range meets the one asked for; orders without a budget drop out.
        filter.budget_min !== undefined ? sql`${upper} >= ${filter.budget_min}` : undefined,
        filter.budget_max !== undefined ? sql`${lower} <= ${filter.budget_max}` : undefined,
        filter.date_from ? gte(orders.serviceDate, filter.date_from) : undefined,
        filter.date_to ? lte(orders.serviceDate, filter.date_to) : undefined,
        q
          ? sql`(to_tsvector('simple', ${searchText}) @@ plainto_tsquery('simple', ${q}) or ${q} <% lower(${searchText}))`
          : undefined,
      );
      const sort: Sort = filter.sort ?? (q ? 'relevance' : 'newest');
      const result = await page(
        where,
        sort === 'relevance' && !q ? 'newest' : sort,
        filter.limit,
        filter.cursor,
        q,
      );

      if (filter.cursor === undefined) {
        const matched = db.select({ one: sql`1` }).from(orders).where(where).limit(COUNT_CAP).as('matched');
        const [counted] = await db.select({ n: count() }).from(matched);
        const { q: _q, limit: _limit, cursor: _cursor, ...filters } = filter;
        await db.insert(orderSearches).values({
          userId: actor.userId,
          query: q ?? null,
          filters: { ...filters, sort },
          resultCount: Number(counted?.n ?? 0),
        });
      }
      return result;
    },
  };
}
