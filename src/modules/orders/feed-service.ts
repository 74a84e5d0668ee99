import { and, count, desc, eq, gte, lte, ne, notExists, type SQL, sql } from 'drizzle-orm';
import { Type } from 'typebox';
import type { Actor } from '../../platform/actor.ts';
import type { Db } from '../../platform/db.ts';
import { ForbiddenError } from '../../platform/errors.ts';
import { listCursor, type PageResult } from '../../platform/pagination.ts';
import type { SearchTerms, SearchVocabulary } from '../../platform/search/service.ts';
import { areasWithDistricts } from '../core/queries.ts';
import type { ProfileService } from '../users/profile-service.ts';
import { providerReach } from '../users/queries.ts';
import type { FeedFilter, OrderListingView, OrderSearchFilter } from './feed-contract.ts';
import type { OrderRow } from './lifecycle.ts';
import {
  bids,
  OPEN_ORDERS,
  ORDER_SEARCH_SCOPE,
  ORDER_SEARCH_VECTOR,
  orderSearches,
  orders,
} from './schema.ts';

/** Search counts matches up to this many for the search log; past it the exact number does not matter. */
const COUNT_CAP = 10_000;

/**
 * The columns a listing shows, and no more: a page of whole rows (encrypted address and location, notes,
 * every timestamp) cost the feed about twice the driver parsing and Drizzle mapping.
 */
const listingColumns = {
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
type ListingRow = Pick<OrderRow, keyof typeof listingColumns>;

const listing = (o: ListingRow): OrderListingView => ({
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

/** A provider's bids that bar them from the order: they bid on it already (schema.ts). */
const barringBids = sql`${bids.status} in ('pending', 'accepted', 'rejected') and not ${bids.isDeleted}`;

const urgencyRank = sql<number>`(case ${orders.urgency} when 'urgent' then 4 when 'high' then 3 when 'medium' then 2 else 1 end)`;
const Uuid = Type.String({ format: 'uuid' });
const UrgentKey = Type.Tuple([Type.Integer({ minimum: 1, maximum: 4 }), Uuid]);
const ScoreKey = Type.Tuple([Type.Number(), Uuid]);

/** The feed's and search's cursors, one kind per sort: each sort's key then the id, newest just the id. */
const listingCursors = (list: string) => ({
  newest: listCursor(`orders.${list}:newest`, Uuid),
  urgent: listCursor(`orders.${list}:urgent`, UrgentKey),
  relevance: listCursor(`orders.${list}:relevance`, ScoreKey),
});
type ListingCursors = ReturnType<typeof listingCursors>;
const feedCursors = listingCursors('feed');
const searchCursors = listingCursors('search');

type Sort = keyof ListingCursors;
type ListingPageRow = { order: ListingRow; key: number | null };

/**
 * A page's LIMIT written into the SQL rather than bound: with a bound LIMIT, PostgreSQL's generic plan
 * assumes a tenth of the rows, comes out dearer than a custom plan, and the feed was re-planned on every
 * call (~1 ms of planning against ~0.15 ms of execution over 1M orders). Drizzle writes an SQL object given
 * as the limit as it is.
 */
const literalLimit = (rows: number) => sql.raw(String(Math.trunc(rows))) as unknown as number;

export type FeedService = ReturnType<typeof createFeedService>;

/**
 * What providers look through: their feed (open orders in what they offer and where they work) and search
 * over every open order. Text search is full-text (whole words, any order), each typed word widened to its
 * close words in the orders' vocabulary (trigram similarity: typos, and the Russian and Kyrgyz word forms
 * the `simple` dictionary does not stem), as the provider directory does.
 */
export function createFeedService({
  db,
  profiles,
  vocabulary,
}: {
  db: Db;
  profiles: ProfileService;
  vocabulary: SearchVocabulary;
}) {
  const resolveTerms = vocabulary.termsResolver(db, ORDER_SEARCH_SCOPE);

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

  /** The placeholders' values for a page after `cursor`, and how to make the next cursor. */
  function pageValues(cursors: ListingCursors, sort: Sort, limit: number, cursor: string | undefined) {
    const toListing = (r: ListingPageRow) => listing(r.order);
    if (sort === 'newest') {
      const after = cursors.newest.decode(cursor);
      return {
        hasCursor: after !== undefined,
        values: { after_key: null, after_id: after ?? null },
        pageOf: (rows: ListingPageRow[]) => cursors.newest.page(rows, limit, (r) => r.order.id, toListing),
      };
    }
    const keyed = cursors[sort];
    const after = keyed.decode(cursor);
    return {
      hasCursor: after !== undefined,
      values: { after_key: after?.[0] ?? null, after_id: after?.[1] ?? null },
      pageOf: (rows: ListingPageRow[]) =>
        keyed.page(rows, limit, (r) => [Number(r.key), r.order.id], toListing),
    };
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
    /**
     * The provider's feed: open orders in the subcategories they offer and, when they named service areas,
     * in those areas (a city takes in its districts); never their own orders, ones they already have a
     * live bid on, or ones whose client turned their bid down.
     */
    async feed(actor: Actor, filter: FeedFilter): Promise<PageResult<OrderListingView>> {
      const { hasCursor, values, pageOf } = pageValues(feedCursors, filter.sort, filter.limit, filter.cursor);
      const oneSubcategory = filter.subcategory_id !== undefined;
      const rows = await feedQuery(filter.sort, hasCursor, oneSubcategory, filter.limit).execute({
        ...values,
        user_id: actor.userId ?? '',
        subcategory_id: filter.subcategory_id ?? null,
      });
      // An empty page may mean the caller is no provider at all: only then is it worth asking.
      if (rows.length === 0 && !(await profiles.isProvider(actor.userId ?? ''))) {
        throw new ForbiddenError(
          'provider_profile_required',
          'the feed is for providers; create a provider profile first (POST /me/provider-profile)',
        );
      }
      return pageOf(rows);
    },

    /**
     * Search over every open order. A new search (no cursor) is logged with its filters and how many
     * orders matched (counted up to 10,000), for search analytics.
     */
    async search(actor: Actor, filter: OrderSearchFilter): Promise<PageResult<OrderListingView>> {
      const q = filter.q?.trim().toLowerCase() || undefined;
      // Null: `q` holds no word (only punctuation, say), and nothing can match it.
      const terms = q === undefined ? undefined : await resolveTerms(q);
      const upper = sql`coalesce(${orders.budgetMax}, ${orders.budgetMin})`;
      const lower = sql`coalesce(${orders.budgetMin}, ${orders.budgetMax})`;
      const where = and(
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
      const sort: Sort = filter.sort ?? (q ? 'relevance' : 'newest');
      const pageSort = sort === 'relevance' && !q ? 'newest' : sort;
      const { hasCursor, values, pageOf } = pageValues(searchCursors, pageSort, filter.limit, filter.cursor);
      const result = pageOf(
        await pageQuery(where, pageSort, hasCursor, filter.limit, terms ?? undefined).execute(values),
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
