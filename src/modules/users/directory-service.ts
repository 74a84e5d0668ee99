import { Type } from 'typebox';
import { type Db, prepareSql } from '../../platform/db.ts';
import { NotFoundError } from '../../platform/errors.ts';
import { listCursor, type PageResult } from '../../platform/pagination.ts';
import type { SearchVocabulary } from '../../platform/search/service.ts';
import type { CatalogService } from '../core/service.ts';
import {
  type CardRow,
  DIRECTORY_SEARCH_SCOPE,
  type DirectoryRow,
  directorySearchSql,
  EXACT_TIER,
  publicProfile,
  publicProfilesOf,
  type SearchShape,
  servicesOnOffer,
} from './directory-queries.ts';
import type { DirectoryFilter, ProviderCardView, ProviderPublicView } from './profile-contract.ts';
import { publicServiceView, ratingAverage } from './profile-views.ts';

function card(row: CardRow): ProviderCardView {
  return {
    id: row.id,
    display_name: row.full_name,
    business_name: row.business_name,
    description: row.description,
    experience_years: row.experience_years,
    photo_file_id: row.photo_file_id,
    is_verified: row.is_verified,
    rating_avg: ratingAverage(row.rating_sum, row.review_count),
    review_count: row.review_count,
    orders_completed: row.orders_completed,
    service_area_ids: row.service_area_ids === '' ? [] : row.service_area_ids.split(','),
    min_price: row.min_price === null ? null : Number(row.min_price),
    member_since: row.member_since,
  };
}

/** Every sort's cursor is the sort value then the id, so pages never skip or repeat a provider. */
const DirectoryKey = Type.Tuple([Type.Union([Type.Number(), Type.Null()]), Type.String({ format: 'uuid' })]);
const directoryCursors = {
  relevance: listCursor('users.directory:relevance', DirectoryKey),
  rating: listCursor('users.directory:rating', DirectoryKey),
  price: listCursor('users.directory:price', DirectoryKey),
  newest: listCursor('users.directory:newest', DirectoryKey),
} satisfies Record<DirectoryFilter['sort'], unknown>;

const sortValue = (key: number | string | null) => (key === null ? null : Number(key));

export type DirectoryService = ReturnType<typeof createDirectoryService>;

/**
 * The public provider directory. Text search is full-text matching (whole words, any order) on each
 * provider's stored vector, with every typed word widened to its close words in the providers' vocabulary
 * (trigram similarity: typos, and the Kyrgyz and Russian word forms the simple dictionary does not stem).
 */
export function createDirectoryService({
  db,
  catalog,
  vocabulary,
}: {
  db: Db;
  catalog: CatalogService;
  vocabulary: SearchVocabulary;
}) {
  const resolveTerms = vocabulary.termsResolver(db, DIRECTORY_SEARCH_SCOPE);

  const statements = new Map<string, (values: Record<string, unknown>) => Promise<DirectoryRow[]>>();
  function statementFor(shape: SearchShape) {
    const key = JSON.stringify(shape);
    let statement = statements.get(key);
    if (!statement) {
      statement = prepareSql<DirectoryRow>(db, directorySearchSql(shape));
      statements.set(key, statement);
    }
    return statement;
  }

  return {
    async search(filter: DirectoryFilter): Promise<PageResult<ProviderCardView>> {
      const empty = { data: [], next_cursor: null };
      const subcategoryIds = filter.subcategory_id
        ? [filter.subcategory_id]
        : filter.category_id
          ? await catalog.subcategoryIdsOf(filter.category_id)
          : undefined;
      if (subcategoryIds && subcategoryIds.length === 0) return empty;

      const q = filter.q?.trim();
      const terms = q ? await resolveTerms(q) : undefined;
      if (terms === null) return empty;
      const sort = filter.sort === 'relevance' && !terms ? 'newest' : filter.sort;
      const cursors = directoryCursors[sort];
      const after = cursors.decode(filter.cursor);
      const [afterKey, afterId] = after ?? [null, null];
      const shape: SearchShape = {
        sort,
        text: !terms ? 'none' : terms.known ? 'known' : 'unknown',
        subcategories: subcategoryIds !== undefined,
        priceMin: filter.price_min !== undefined,
        priceMax: filter.price_max !== undefined,
        area: filter.area_id !== undefined,
        minRating: filter.min_rating !== undefined,
        verified: filter.verified === true,
        availableOn: filter.available_on !== undefined,
        limit: filter.limit,
        after: !after
          ? 'none'
          : sort === 'relevance'
            ? afterKey !== null && afterKey >= EXACT_TIER
              ? 'exact_tier'
              : 'corrected_tier'
            : sort === 'price' && afterKey === null
              ? 'null'
              : 'key',
      };
      const found = await statementFor(shape)({
        query: terms?.query,
        exact: terms?.exact,
        subcategory_ids: subcategoryIds,
        price_min: filter.price_min,
        price_max: filter.price_max,
        area_id: filter.area_id,
        min_rating_x100: filter.min_rating === undefined ? undefined : Math.round(filter.min_rating * 100),
        available_on: filter.available_on,
        after_key: shape.after === 'exact_tier' && afterKey !== null ? afterKey - EXACT_TIER : afterKey,
        after_id: afterId,
      });

      return cursors.page(found, filter.limit, (last) => [sortValue(last.sort_key), last.id], card);
    },

    async getProvider(id: string): Promise<ProviderPublicView> {
      const row = await publicProfile(db, id);
      if (!row) throw new NotFoundError('provider');
      const services = await servicesOnOffer(db, id);
      return {
        ...card(row),
        travel_radius_km: row.travel_radius_km,
        availability: (typeof row.availability === 'string'
          ? JSON.parse(row.availability)
          : row.availability) as ProviderPublicView['availability'],
        services: services.map(publicServiceView),
      };
    },

    /** Provider cards by id, in the order given; for favorites and other lists of known providers. */
    async cards(ids: string[]): Promise<Map<string, ProviderCardView>> {
      if (ids.length === 0) return new Map();
      const found = await publicProfilesOf(db, ids);
      return new Map(found.map((r) => [r.id, card(r)]));
    },
  };
}
