import { and, count, desc, eq, gte, lte, ne, notExists, type SQL, sql } from 'drizzle-orm';
import type { Db } from '../../platform/db.ts';
import type { SearchTerms } from '../../platform/search/service.ts';
import { areasWithDistricts } from '../core/queries.ts';
import { providerReach } from '../users/queries.ts';
import type { OrderSearchFilter, SEARCH_SORTS } from './feed-contract.ts';
import type { OrderRow } from './lifecycle.ts';
import { bids, OPEN_ORDERS, ORDER_SEARCH_VECTOR, orderSearches, orders } from './schema.ts';

/*
 * The statements of the feed and of search over open orders: what the feed service reads and writes, so
 * the service reads as rules.
 */

/**
 * The columns a listing shows, and no more: a page of whole rows (encrypted address and location, notes,
 * every timestamp) cost the feed about twice the driver parsing and Drizzle mapping.
 */
export const listingColumns = {
  id: orders.id,
  title: orders.title,
  description: orders.description,
  categoryId: orders.categoryId,
  subcategoryId: orders.subcategoryId,
  serviceAreaId: orders.serviceAreaId,
  serviceDate: orders.serviceDate,
  timeFrom: orders.timeFrom,
  timeTo: orders.timeTo,
  urgency: orders.urgency,
  budgetMin: orders.budgetMin,
  budgetMax: orders.budgetMax,
  currency: orders.currency,
  status: orders.status,
  bidCount: orders.bidCount,
  publishedAt: orders.publishedAt,
  createdAt: orders.createdAt,
};
export type ListingRow = Pick<OrderRow, keyof typeof listingColumns>;

/** The orders of a listing page, each with its sort's key. */
export type ListingPageRow = { order: ListingRow; key: number | null };
/** The orders in which a listing may come, each with a cursor of its own. */
export type Sort = (typeof SEARCH_SORTS)[number];

/** A provider's bids that bar them from the order: they bid on it already (schema.ts). */
const barringBids = sql`${bids.status} in ('pending', 'accepted', 'rejected') and not ${bids.isDeleted}`;

const urgencyRank = sql<number>`(case ${orders.urgency} when 'urgent' then 4 when 'high' then 3 when 'medium' then 2 else 1 end)`;

/**
 * A page's LIMIT written into the SQL rather than bound: with a bound LIMIT, PostgreSQL's generic plan
 * assumes a tenth of the rows, comes out dearer than a custom plan, and the feed was re-planned on every
 * call, planning costing several times the execution. Drizzle writes an SQL object given
 * as the limit as it is.
 */
const literalLimit = (rows: number) => sql.raw(String(Math.trunc(rows))) as unknown as number;

export type FeedQueries = ReturnType<typeof createFeedQueries>;

export function createFeedQueries(db: Db) {
  /**
   * The query for one page of `limit` in the chosen order, with placeholders for the cursor (`after_key`,
   * `after_id`): the feed prepares one per shape, search runs it with its values. Each sort's cursor is its
   * key then the id, so pages never skip or repeat.
   */
  function pageQuery(
    where: SQL | undefined,
    sort: Sort,
    hasCursor: boolean,
    limit: number,
    terms?: SearchTerms,
  ) {
    // Orders holding every word as typed rank above those found only through close words (ts_rank is
    // below 1, so the exact match's 1 decides first).
    const key =
      sort === 'relevance' && terms
        ? sql<number>`(ts_rank(${ORDER_SEARCH_VECTOR}, ${terms.query}::tsquery) + (${ORDER_SEARCH_VECTOR} @@ ${terms.exact}::tsquery)::int)::float8`
        : sort === 'urgent'
          ? urgencyRank
          : undefined;
    const afterId = sql.placeholder('after_id');
    const afterKey = sql.placeholder('after_key');
    const after = !hasCursor
      ? undefined
      : key
        ? sql`(${key} < ${afterKey} or (${key} = ${afterKey} and ${orders.id} < ${afterId}))`
        : sql`${orders.id} < ${afterId}`;
    return db
      .select({ order: listingColumns, key: key ?? sql<null>`null` })
      .from(orders)
      .where(and(where, after))
      .orderBy(...(key ? [desc(key), desc(orders.id)] : [desc(orders.id)]))
      .limit(literalLimit(limit + 1));
  }

  /**
   * The feed runs on every provider's app start and refresh, in one round trip: what the provider offers
   * and where comes from the users module's read model `providerReach` inside the statement, and its
   * queries are prepared once per shape (sort, cursor or not, one subcategory or all, page size), so
   * Drizzle builds each once and PostgreSQL settles on one generic plan for each.
   */
  const feedQueries = new Map<string, ReturnType<ReturnType<typeof pageQuery>['prepare']>>();
  function feedQuery(sort: Sort, hasCursor: boolean, oneSubcategory: boolean, limit: number) {
    const name = `orders_feed_${sort}_${hasCursor ? 'after' : 'first'}_${oneSubcategory ? 'one' : 'all'}_${limit}`;
    let query = feedQueries.get(name);
    if (!query) {
      const userId = sql.placeholder('user_id');
      const reach = providerReach(sql`${userId}::uuid`);
      // Cast to uuid[]: without it, `any((select …))` takes the subquery as a set of rows, not one array.
      const areas = sql`(select r.service_area_ids from (${reach}) r)::uuid[]`;
      const where = and(
        OPEN_ORDERS,
        sql`${orders.subcategoryId} = any((select r.offered_subcategory_ids from (${reach}) r)::uuid[])`,
        oneSubcategory ? eq(orders.subcategoryId, sql.placeholder('subcategory_id')) : undefined,
        sql`(cardinality(${areas}) = 0 or ${orders.serviceAreaId} = any(${areasWithDistricts(areas)}))`,
        ne(orders.clientUserId, userId),
        notExists(
          db
            .select({ one: sql`1` })
            .from(bids)
            .where(
              and(
                eq(bids.orderId, orders.id),
                sql`${bids.providerProfileId} = (select r.id from (${reach}) r)`,
                barringBids,
              ),
            ),
        ),
      );
      query = pageQuery(where, sort, hasCursor, limit).prepare(name);
      feedQueries.set(name, query);
    }
    return query;
  }

  return {
    pageQuery,
    feedQuery,

    /** The open orders that match every filter of the search, and its words when `terms` are given. */
    searchedOrders(filter: OrderSearchFilter, terms: SearchTerms | null | undefined) {
      const upper = sql`coalesce(${orders.budgetMax}, ${orders.budgetMin})`;
      const lower = sql`coalesce(${orders.budgetMin}, ${orders.budgetMax})`;
      return and(
        OPEN_ORDERS,
        filter.category_id ? eq(orders.categoryId, filter.category_id) : undefined,
        filter.subcategory_id ? eq(orders.subcategoryId, filter.subcategory_id) : undefined,
        filter.area_id
          ? sql`${orders.serviceAreaId} = any(${areasWithDistricts(sql`array[${filter.area_id}::uuid]`)})`
          : undefined,
        filter.urgency ? eq(orders.urgency, filter.urgency) : undefined,
        // The order's budget range meets the one asked for; orders without a budget drop out.
        filter.budget_min !== undefined ? sql`${upper} >= ${filter.budget_min}` : undefined,
        filter.budget_max !== undefined ? sql`${lower} <= ${filter.budget_max}` : undefined,
        filter.date_from ? gte(orders.serviceDate, filter.date_from) : undefined,
        filter.date_to ? lte(orders.serviceDate, filter.date_to) : undefined,
        terms === null
          ? sql`false`
          : terms
            ? sql`${ORDER_SEARCH_VECTOR} @@ ${terms.query}::tsquery`
            : undefined,
      );
    },

    /** How many orders `where` matches, up to `cap`. */
    async countMatches(where: SQL | undefined, cap: number) {
      const matched = db.select({ one: sql`1` }).from(orders).where(where).limit(cap).as('matched');
      const [counted] = await db.select({ n: count() }).from(matched);
      return Number(counted?.n ?? 0);
    },

    async logSearch(values: typeof orderSearches.$inferInsert) {
      await db.insert(orderSearches).values(values);
    },
  };
}
