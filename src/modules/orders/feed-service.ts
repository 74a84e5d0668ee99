import { Type } from 'typebox';
import type { Actor } from '../../platform/actor.ts';
import type { Db } from '../../platform/db.ts';
import { ForbiddenError } from '../../platform/errors.ts';
import { listCursor, type PageResult } from '../../platform/pagination.ts';
import type { SearchVocabulary } from '../../platform/search/service.ts';
import type { ProfileService } from '../users/profile-service.ts';
import type { FeedFilter, OrderListingView, OrderSearchFilter } from './feed-contract.ts';
import { createFeedQueries, type ListingPageRow, type ListingRow, type Sort } from './feed-queries.ts';
import { ORDER_SEARCH_SCOPE } from './schema.ts';
import { whenAndBudget } from './summary-views.ts';

/** Search counts matches up to this many for the search log; past it the exact number does not matter. */
const COUNT_CAP = 10_000;

const listing = (o: ListingRow): OrderListingView => ({
  id: o.id,
  title: o.title,
  description: o.description,
  category_id: o.categoryId,
  subcategory_id: o.subcategoryId,
  service_area_id: o.serviceAreaId,
  ...whenAndBudget(o),
  status: o.status as OrderListingView['status'],
  bid_count: o.bidCount,
  published_at: o.publishedAt?.toISOString() ?? null,
  created_at: o.createdAt.toISOString(),
});

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
  const { pageQuery, feedQuery, searchedOrders, countMatches, logSearch } = createFeedQueries(db);

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
      const where = searchedOrders(filter, terms);
      const sort: Sort = filter.sort ?? (q ? 'relevance' : 'newest');
      const pageSort = sort === 'relevance' && !q ? 'newest' : sort;
      const { hasCursor, values, pageOf } = pageValues(searchCursors, pageSort, filter.limit, filter.cursor);
      const result = pageOf(
        await pageQuery(where, pageSort, hasCursor, filter.limit, terms ?? undefined).execute(values),
      );

      if (filter.cursor === undefined) {
        const resultCount = await countMatches(where, COUNT_CAP);
        const { q: _q, limit: _limit, cursor: _cursor, ...filters } = filter;
        await logSearch({
          userId: actor.userId,
          query: q ?? null,
          filters: { ...filters, sort },
          resultCount,
        });
      }
      return result;
    },
  };
}
