import { and, asc, eq, type SQL, sql } from 'drizzle-orm';
import { Type } from 'typebox';
import { type Db, prepareSql } from '../../platform/db.ts';
import { NotFoundError } from '../../platform/errors.ts';
import { decodeCursor, encodeCursor, type PageResult } from '../../platform/pagination.ts';
import { exactSearchQuery, searchQuery, searchWordsKnown } from '../../platform/search/service.ts';
import type { CatalogService } from '../core/service.ts';
import type { DirectoryFilter, ProviderCardView, ProviderPublicView } from './profile-contract.ts';
import { providerServices } from './schema.ts';

/** The directory's vocabulary in `search_words`: the words of the providers' search texts. */
export const DIRECTORY_SEARCH_SCOPE = 'providers';

/** Whether some provider's search text, live or deleted (a restore brings it back), matches `word`. */
export const providerTextsHold = (word: SQL) =>
  sql`exists (select 1 from provider_profiles p where p.search_vector @@ ${word})`;

/** Added to the rating in the relevance key of the providers matching every word as typed (ratings are 0–500). */
const EXACT_TIER = 1000;

/** A provider card's columns, from provider_profiles p, user_profiles up and users u. */
const CARD_COLUMNS = sql`
  p.id, p.business_name, p.description, p.experience_years, p.is_verified, p.rating_sum, p.review_count,
  p.rating_avg_x100, p.orders_completed, p.service_area_ids, p.travel_radius_km, p.availability, p.created_at,
  u.full_name, up.photo_file_id`;

/** A provider card's columns, with its lowest live price; the caller adds the conditions after `where`. */
const CARD_SELECT = sql`
  select ${CARD_COLUMNS},
         (select min(s.base_price) from provider_services s
           where s.provider_profile_id = p.id and s.is_deleted = false and s.is_active) as min_price
  from provider_profiles p
  join user_profiles up on up.id = p.user_profile_id
  join users u on u.id = up.user_id
  where`;

/** Every sort's cursor is the sort value then the id, so pages never skip or repeat a provider. */
const DirectoryCursor = Type.Tuple([
  Type.Union([Type.Number(), Type.Null()]),
  Type.String({ format: 'uuid' }),
]);

interface DirectoryRow {
  id: string;
  business_name: string;
  description: string | null;
  experience_years: number;
  is_verified: boolean;
  rating_sum: number;
  review_count: number;
  rating_avg_x100: number;
  orders_completed: number;
  service_area_ids: string[];
  travel_radius_km: number | null;
  availability: unknown;
  created_at: Date | string;
  full_name: string;
  photo_file_id: string | null;
  min_price: number | null;
  /** What the page is ordered by: relevance, rating or lowest price; null when newest first. */
  sort_key?: number | string | null;
}

const sortValue = (key: number | string | null | undefined) => (key == null ? null : Number(key));
const toIso = (value: Date | string) => (value instanceof Date ? value : new Date(value)).toISOString();
const pgArray = (value: unknown): string[] =>
  Array.isArray(value)
    ? value
    : typeof value === 'string'
      ? value
          .replace(/^\{|\}$/g, '')
          .split(',')
          .filter(Boolean)
      : [];

function card(row: DirectoryRow): ProviderCardView {
  return {
    id: row.id,
    display_name: row.full_name,
    business_name: row.business_name,
    description: row.description,
    experience_years: row.experience_years,
    photo_file_id: row.photo_file_id,
    is_verified: row.is_verified,
    rating_avg: row.review_count === 0 ? null : Math.round((row.rating_sum / row.review_count) * 100) / 100,
    review_count: row.review_count,
    orders_completed: row.orders_completed,
    service_area_ids: pgArray(row.service_area_ids),
    min_price: row.min_price === null ? null : Number(row.min_price),
    member_since: toIso(row.created_at),
  };
}

export type DirectoryService = ReturnType<typeof createDirectoryService>;

/**
 * The public provider directory. Text search combines full-text matching (whole words, any order) with
 * trigram word similarity (typos, Kyrgyz and Russian word forms the simple dictionary does not stem).
 */
export function createDirectoryService({ db, catalog }: { db: Db; catalog: CatalogService }) {
  /** Only providers a visitor may see: live rows, available, whose account is active. */
  const visible = sql`p.is_deleted = false and p.is_available and up.is_deleted = false and u.status = 'active' and u.is_deleted = false`;

  async function rows(query: SQL): Promise<DirectoryRow[]> {
    const result = (await db.execute(query)) as unknown as { rows?: DirectoryRow[] } | DirectoryRow[];
    return Array.isArray(result) ? result : (result.rows ?? []);
  }

  return {
    async search(
      filter: DirectoryFilter & { limit: number; cursor?: string },
    ): Promise<PageResult<ProviderCardView>> {
      const subcategoryIds = filter.subcategory_id
        ? [filter.subcategory_id]
        : filter.category_id
          ? await catalog.subcategoryIdsOf(filter.category_id)
          : undefined;
      if (subcategoryIds && subcategoryIds.length === 0) return { data: [], next_cursor: null };

      const serviceConditions: SQL[] = [sql`s.is_deleted = false`, sql`s.is_active`];
      // Not `= any`: planned for the values, it costs less than the generic plan does and PostgreSQL would
      // plan every call anew; a provider's few services are read through its id either way.
      if (subcategoryIds)
        serviceConditions.push(
          sql`array_position(${sql.param(subcategoryIds)}::uuid[], s.subcategory_id) is not null`,
        );
      if (filter.price_min !== undefined) serviceConditions.push(sql`s.base_price >= ${filter.price_min}`);
      if (filter.price_max !== undefined) serviceConditions.push(sql`s.base_price <= ${filter.price_max}`);
      const serviceWhere = sql.join(serviceConditions, sql` and `);
      const minPrice = (provider: SQL) =>
        sql`(select min(s.base_price) from provider_services s where s.provider_profile_id = ${provider} and ${serviceWhere})`;
      const serviceFiltered =
        subcategoryIds !== undefined || filter.price_min !== undefined || filter.price_max !== undefined;

      const q = filter.q?.trim();
      const sort = filter.sort === 'relevance' && !q ? 'newest' : filter.sort;
      const after = decodeCursor(filter.cursor, DirectoryCursor);

      // Every sort but price orders by columns with an index (relevance: words as typed first, then best
      // rated): walking it and stopping once the page is full reads about limit / (share of providers that
      // match) rows. Price orders by a value computed per provider, so every match is read; there the
      // indexes on the provider row find the matches. When walking, the filters call the functions behind
      // `@@`, `&&` and `@>`: the planner gives a function a fixed share of rows whatever the values, so the
      // prepared statement's generic plan (planned once) costs the same as a plan for the values and is
      // kept, and no index tempts it into reading every match before sorting.
      const walk = sort !== 'price';

      const where: SQL[] = [sql`p.is_deleted = false`, sql`p.is_available`];
      if (q && sort !== 'relevance') {
        where.push(walk ? sql`ts_match_vq(p.search_vector, query.tsq)` : sql`p.search_vector @@ query.tsq`);
      }
      const priceFiltered = filter.price_min !== undefined || filter.price_max !== undefined;
      if (subcategoryIds && !priceFiltered) {
        where.push(
          walk
            ? sql`arrayoverlap(p.offered_subcategory_ids, ${sql.param(subcategoryIds)}::uuid[])`
            : sql`p.offered_subcategory_ids && ${sql.param(subcategoryIds)}::uuid[]`,
        );
      } else if (serviceFiltered) {
        where.push(
          sql`exists (select 1 from provider_services s where s.provider_profile_id = p.id and ${serviceWhere})`,
        );
      }
      if (filter.area_id) {
        where.push(
          walk
            ? sql`arraycontains(p.service_area_ids, array[${filter.area_id}::uuid])`
            : sql`p.service_area_ids @> array[${filter.area_id}::uuid]`,
        );
      }
      if (filter.min_rating !== undefined)
        where.push(sql`p.rating_avg_x100 >= ${Math.round(filter.min_rating * 100)}`);
      if (filter.verified) where.push(sql`p.is_verified`);
      if (filter.available_on) where.push(sql`p.available_weekdays @> array[${filter.available_on}]::text[]`);
      const accountVisible = sql`up.is_deleted = false and u.status = 'active' and u.is_deleted = false`;
      const words = sql`${q}`;
      const withQuery = q
        ? sql`with query as (
            select ${searchQuery(DIRECTORY_SEARCH_SCOPE, words)} as tsq, ${exactSearchQuery(words)} as exact,
                   ${searchWordsKnown(DIRECTORY_SEARCH_SCOPE, words)} as known)`
        : sql``;
      // A literal, not a parameter: a generic plan assumes a tenth of the rows for an unknown limit, which
      // makes it look dearer than a plan for the values, and PostgreSQL would then plan every call anew.
      const limit = sql.raw(String(filter.limit + 1));

      /** One page walked in index order: the providers meeting `where` and `more`, their key as `sortKey`. */
      const walked = (more: SQL[], sortKey: SQL, order: SQL) => sql`(
        select ${CARD_COLUMNS}, ${sortKey} as sort_key, ${minPrice(sql`p.id`)} as min_price
        from provider_profiles p
        join user_profiles up on up.id = p.user_profile_id
        join users u on u.id = up.user_id${q ? sql` cross join query` : sql``}
        where ${sql.join([...where, ...more, accountVisible], sql` and `)}
        order by ${order}
        limit ${limit})`;
      const byRating = sql`p.rating_avg_x100 desc, p.id desc`;
      const ratingAfter = (value: number | null, id: string) =>
        sql`(p.rating_avg_x100 < ${value} or (p.rating_avg_x100 = ${value} and p.id < ${id}::uuid))`;

      let found: DirectoryRow[];
      if (sort === 'relevance') {
        // Matches of every word as typed first, then matches through close words only; best rated first
        // in each. The key adds EXACT_TIER to the rating of the first. Append returns its parts in order,
        // and reads the second only when the first does not fill the page.
        const exact = sql`ts_match_vq(p.search_vector, query.exact)`;
        const asTyped = [sql`query.known`, exact];
        const corrected = [sql`ts_match_vq(p.search_vector, query.tsq)`, sql`not (query.known and ${exact})`];
        if (after) {
          const [value, id] = after;
          if (value !== null && value >= EXACT_TIER) asTyped.push(ratingAfter(value - EXACT_TIER, id));
          else {
            asTyped.push(sql`false`);
            corrected.push(ratingAfter(value, id));
          }
        }
        found = await prepareSql<DirectoryRow>(
          db,
          sql`
          ${withQuery}
          select * from (
            ${walked(asTyped, sql`${sql.raw(String(EXACT_TIER))} + p.rating_avg_x100`, byRating)}
            union all
            ${walked(corrected, sql`p.rating_avg_x100`, byRating)}
          ) c
          limit ${limit}`,
        )();
      } else if (walk) {
        const more: SQL[] = [];
        if (after) {
          const [value, id] = after;
          more.push(sort === 'newest' ? sql`p.id < ${id}::uuid` : ratingAfter(value, id));
        }
        found = await prepareSql<DirectoryRow>(
          db,
          sql`
          ${withQuery}
          ${walked(
            more,
            sort === 'rating' ? sql`p.rating_avg_x100` : sql`null::int`,
            sort === 'rating' ? byRating : sql`p.id desc`,
          )}`,
        )();
      } else {
        let keyset = sql``;
        if (after) {
          const [value, id] = after;
          // Providers without a price sort last.
          keyset =
            value === null
              ? sql`and (c.sort_key is null and c.id > ${id}::uuid)`
              : sql`and (c.sort_key > ${value} or c.sort_key is null or (c.sort_key = ${value} and c.id > ${id}::uuid))`;
        }
        // `offset 0` keeps the matches a subquery of their own: priced and ordered first, then joined to the
        // accounts only until the page is full.
        found = await prepareSql<DirectoryRow>(
          db,
          sql`
          ${withQuery}
          select c.*, u.full_name, up.photo_file_id, c.sort_key as min_price
          from (
            select p.id, p.business_name, p.description, p.experience_years, p.is_verified, p.rating_sum,
                   p.review_count, p.rating_avg_x100, p.orders_completed, p.service_area_ids,
                   p.travel_radius_km, p.availability, p.created_at, p.user_profile_id,
                   ${minPrice(sql`p.id`)} as sort_key
            from provider_profiles p${q ? sql`, query` : sql``}
            where ${sql.join(where, sql` and `)}
            order by sort_key asc nulls last, id asc
            offset 0
          ) c
          join user_profiles up on up.id = c.user_profile_id
          join users u on u.id = up.user_id
          where ${accountVisible} ${keyset}
          order by c.sort_key asc nulls last, c.id asc
          limit ${limit}`,
        )();
      }

      const data = found.slice(0, filter.limit);
      const last = data[data.length - 1];
      return {
        data: data.map(card),
        next_cursor:
          found.length > filter.limit && last ? encodeCursor([sortValue(last.sort_key), last.id]) : null,
      };
    },

    async getProvider(id: string): Promise<ProviderPublicView> {
      const [row] = await rows(sql`
        ${CARD_SELECT} p.id = ${id}::uuid and ${visible}`);
      if (!row) throw new NotFoundError('provider');
      const services = await db
        .select()
        .from(providerServices)
        .where(
          and(
            eq(providerServices.providerProfileId, id),
            eq(providerServices.isDeleted, false),
            eq(providerServices.isActive, true),
          ),
        )
        .orderBy(asc(providerServices.basePrice), asc(providerServices.id));
      return {
        ...card(row),
        travel_radius_km: row.travel_radius_km,
        availability: (typeof row.availability === 'string'
          ? JSON.parse(row.availability)
          : row.availability) as ProviderPublicView['availability'],
        services: services.map((s) => ({
          id: s.id,
          subcategory_id: s.subcategoryId,
          description: s.description,
          base_price: s.basePrice,
          currency: s.currency,
          price_type: s.priceType,
        })),
      };
    },

    /** Provider cards by id, in the order given; for favorites and other lists of known providers. */
    async cards(ids: string[]): Promise<Map<string, ProviderCardView>> {
      if (ids.length === 0) return new Map();
      const found = await rows(sql`
        ${CARD_SELECT} p.id in ${ids} and ${visible}`);
      return new Map(found.map((r) => [r.id, card(r)]));
    },
  };
}
