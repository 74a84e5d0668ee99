import { and, asc, eq, type SQL, sql } from 'drizzle-orm';
import { Type } from 'typebox';
import type { Db } from '../../platform/db.ts';
import { NotFoundError } from '../../platform/errors.ts';
import { decodeCursor, encodeCursor, type PageResult } from '../../platform/pagination.ts';
import type { CatalogService } from '../core/service.ts';
import type { DirectoryFilter, ProviderCardView, ProviderPublicView } from './profile-contract.ts';
import { providerServices } from './schema.ts';

/** A provider card's columns, with its lowest live price; the caller adds the conditions after `where`. */
const CARD_SELECT = sql`
  select p.id, p.business_name, p.description, p.experience_years, p.is_verified, p.rating_sum,
         p.review_count, p.rating_avg_x100, p.orders_completed, p.service_area_ids, p.travel_radius_km,
         p.availability, p.created_at, u.full_name, up.photo_file_id,
         (select min(s.base_price) from provider_services s
           where s.provider_profile_id = p.id and s.is_deleted = false and s.is_active) as min_price,
         null::float8 as score
  from provider_profiles p
  join user_profiles up on up.id = p.user_profile_id
  join users u on u.id = up.user_id
  where`;

/** Every sort's cursor is the sort value then the id, so pages never skip or repeat a provider. */
const DirectoryCursor = Type.Tuple([
  Type.Union([Type.Number(), Type.String(), Type.Null()]),
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
  score: number | null;
  sort_key: number | string | null;
}

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

      const serviceConditions: SQL[] = [
        sql`s.provider_profile_id = p.id`,
        sql`s.is_deleted = false`,
        sql`s.is_active`,
      ];
      if (subcategoryIds) serviceConditions.push(sql`s.subcategory_id in ${subcategoryIds}`);
      if (filter.price_min !== undefined) serviceConditions.push(sql`s.base_price >= ${filter.price_min}`);
      if (filter.price_max !== undefined) serviceConditions.push(sql`s.base_price <= ${filter.price_max}`);
      const serviceWhere = sql.join(serviceConditions, sql` and `);
      const serviceFiltered =
        subcategoryIds !== undefined || filter.price_min !== undefined || filter.price_max !== undefined;

      const q = filter.q?.trim().toLowerCase();
      const where: SQL[] = [visible];
      if (serviceFiltered) where.push(sql`exists (select 1 from provider_services s where ${serviceWhere})`);
      if (filter.area_id) where.push(sql`${filter.area_id}::uuid = any(p.service_area_ids)`);
      if (filter.min_rating !== undefined)
        where.push(sql`p.rating_avg_x100 >= ${Math.round(filter.min_rating * 100)}`);
      if (filter.verified) where.push(sql`p.is_verified`);
      if (filter.available_on) where.push(sql`${filter.available_on} = any(p.available_weekdays)`);
      if (q) {
        where.push(
          sql`(to_tsvector('simple', p.search_text) @@ plainto_tsquery('simple', ${q}) or ${q} <% p.search_text)`,
        );
      }

      const sort = filter.sort === 'relevance' && !q ? 'newest' : filter.sort;
      const score = q
        ? sql`(ts_rank(to_tsvector('simple', p.search_text), plainto_tsquery('simple', ${q})) + word_similarity(${q}, p.search_text))::float8`
        : sql`null::float8`;
      // The key each sort orders by, descending except price.
      const sortKey = {
        relevance: sql`score`,
        rating: sql`rating_avg_x100`,
        price: sql`min_price`,
        newest: sql`null::int`,
      }[sort];
      const descending = sort !== 'price';

      const after = decodeCursor(filter.cursor, DirectoryCursor);
      let keyset = sql`true`;
      if (after) {
        const [value, id] = after;
        if (sort === 'newest') keyset = sql`id < ${id}::uuid`;
        else if (sort === 'price') {
          // Providers without a price sort last.
          keyset =
            value === null
              ? sql`(min_price is null and id > ${id}::uuid)`
              : sql`(min_price > ${value} or min_price is null or (min_price = ${value} and id > ${id}::uuid))`;
        } else keyset = sql`(${sortKey} < ${value} or (${sortKey} = ${value} and id < ${id}::uuid))`;
      }
      const order =
        sort === 'newest'
          ? sql`id desc`
          : descending
            ? sql`${sortKey} desc, id desc`
            : sql`min_price asc nulls last, id asc`;

      const found = await rows(sql`
        select * from (
          select p.id, p.business_name, p.description, p.experience_years, p.is_verified, p.rating_sum,
                 p.review_count, p.rating_avg_x100, p.orders_completed, p.service_area_ids, p.travel_radius_km,
                 p.availability, p.created_at, u.full_name, up.photo_file_id,
                 (select min(s.base_price) from provider_services s where ${serviceWhere}) as min_price,
                 ${score} as score
          from provider_profiles p
          join user_profiles up on up.id = p.user_profile_id
          join users u on u.id = up.user_id
          where ${sql.join(where, sql` and `)}
        ) d
        where ${keyset}
        order by ${order}
        limit ${filter.limit + 1}`);

      const data = found.slice(0, filter.limit);
      const last = data[data.length - 1];
      const lastKey = (r: DirectoryRow) =>
        sort === 'newest'
          ? null
          : sort === 'price'
            ? r.min_price
            : sort === 'rating'
              ? r.rating_avg_x100
              : r.score;
      return {
        data: data.map(card),
        next_cursor: found.length > filter.limit && last ? encodeCursor([lastKey(last), last.id]) : null,
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
