import { and, asc, eq, type SQL, sql } from 'drizzle-orm';
import { isoTimestamp } from '../../platform/columns.ts';
import type { Db } from '../../platform/db.ts';
import { providerServices } from './schema.ts';

/** The directory's vocabulary in `search_words`: the words of the providers' search texts. */
export const DIRECTORY_SEARCH_SCOPE = 'providers';

/** Whether some provider's search text, live or deleted (a restore brings it back), matches `word`. */
export const providerTextsHold = (word: SQL) =>
  sql`exists (select 1 from provider_profiles p where p.search_vector @@ ${word})`;

/** Added to the rating in the relevance key of the providers matching every word as typed (ratings are 0–500). */
export const EXACT_TIER = 1000;

/**
 * A provider card's columns, from provider_profiles p, user_profiles up and users u, with the lowest price
 * given. The area ids and the date come as text, which the driver passes through: parsing arrays and
 * timestamps was about a quarter of the directory's CPU in the API, and building the card as JSON in
 * PostgreSQL cost it more than that saved.
 */
const cardColumns = (minPrice: SQL) => sql`p.id, u.full_name, p.business_name, p.description,
  p.experience_years, up.photo_file_id, p.is_verified, p.rating_sum, p.review_count, p.orders_completed,
  array_to_string(p.service_area_ids, ',') as service_area_ids, ${minPrice} as min_price,
  ${isoTimestamp(sql`p.created_at`)} as member_since`;

export interface CardRow {
  id: string;
  full_name: string;
  business_name: string;
  description: string | null;
  experience_years: number;
  photo_file_id: string | null;
  is_verified: boolean;
  rating_sum: number;
  review_count: number;
  orders_completed: number;
  /** Comma-separated. */
  service_area_ids: string;
  min_price: number | string | null;
  member_since: string;
}

/** The provider's account is one a visitor may see (up: user_profiles, u: users). */
const ACCOUNT_VISIBLE = sql`up.is_deleted = false and u.status = 'active' and u.is_deleted = false`;

/** Only providers a visitor may see: live rows, available, whose account is active (p, up, u). */
export const PROVIDER_VISIBLE = sql`p.is_deleted = false and p.is_available and ${ACCOUNT_VISIBLE}`;

/** A live service the provider offers now (s: provider_services). */
const LIVE_SERVICE = sql`s.is_deleted = false and s.is_active`;

/** The lowest price of the provider's services that meet `serviceWhere`. */
const lowestPrice = (serviceWhere: SQL) =>
  sql`(select min(s.base_price) from provider_services s where s.provider_profile_id = p.id and ${serviceWhere})`;

/** Public profiles' cards and details; the caller adds the conditions after `where`. */
const PROFILE_SELECT = sql`
  select ${cardColumns(lowestPrice(LIVE_SERVICE))}, p.travel_radius_km, p.availability
  from provider_profiles p
  join user_profiles up on up.id = p.user_profile_id
  join users u on u.id = up.user_id
  where`;

export interface DirectoryRow extends CardRow {
  /** What the page is ordered by: relevance, rating or lowest price; null when newest first. */
  sort_key: number | string | null;
}

interface ProfileRow extends CardRow {
  travel_radius_km: number | null;
  availability: unknown;
}

/**
 * What decides a directory query's SQL. Values go in as placeholders, so each shape is built and prepared
 * once and PostgreSQL keeps one plan for it; building and hashing the SQL on every call was a tenth of the
 * route's cost.
 */
export interface SearchShape {
  sort: 'relevance' | 'newest' | 'rating' | 'price';
  /** `known`: every word typed is in the vocabulary, so some providers may match them exactly. */
  text: 'none' | 'known' | 'unknown';
  subcategories: boolean;
  priceMin: boolean;
  priceMax: boolean;
  area: boolean;
  minRating: boolean;
  verified: boolean;
  availableOn: boolean;
  limit: number;
  /**
   * Where the page starts: after a sort key (`key`), after the providers without a price (`null`), or,
   * by relevance, inside the tier of exact matches (`exact_tier`) or of corrected ones (`corrected_tier`).
   */
  after: 'none' | 'key' | 'null' | 'exact_tier' | 'corrected_tier';
}

const value = (name: string) => sql.placeholder(name);
const matchesQuery = (walk: boolean) =>
  walk
    ? sql`ts_match_vq(p.search_vector, ${value('query')}::tsquery)`
    : sql`p.search_vector @@ ${value('query')}::tsquery`;
const matchesExactly = sql`ts_match_vq(p.search_vector, ${value('exact')}::tsquery)`;

/** The directory query of one shape, with placeholders for its values. */
export function directorySearchSql(shape: SearchShape): SQL {
  const serviceConditions: SQL[] = [LIVE_SERVICE];
  // Not `= any`: planned for the values, it costs less than the generic plan does and PostgreSQL would
  // plan every call anew; a provider's few services are read through its id either way.
  if (shape.subcategories)
    serviceConditions.push(
      sql`array_position(${value('subcategory_ids')}::uuid[], s.subcategory_id) is not null`,
    );
  if (shape.priceMin) serviceConditions.push(sql`s.base_price >= ${value('price_min')}`);
  if (shape.priceMax) serviceConditions.push(sql`s.base_price <= ${value('price_max')}`);
  const serviceWhere = sql.join(serviceConditions, sql` and `);
  const minPrice = lowestPrice(serviceWhere);
  const priceFiltered = shape.priceMin || shape.priceMax;

  // Every sort but price walks an index in its order (relevance: words as typed first, then best rated)
  // and stops once the page is full, reading about limit / (share of providers that match) entries; the
  // walk indexes carry category and area, so only the entries that pass those go to the provider's row.
  // Price orders by a value computed per provider, so every match is read; there the indexes on the
  // provider row find the matches. When walking, the filters call the functions behind `@@`, `&&` and
  // `@>`: the planner gives a function a fixed share of rows whatever the values, so the prepared
  // statement's generic plan costs the same as a plan for the values and is kept, and no index tempts it
  // into reading every match before sorting.
  const walk = shape.sort !== 'price';

  /** Conditions on what the walk indexes hold, for the provider `alias` names. */
  const indexed = (alias: string): SQL[] => {
    const column = (name: string) => sql.raw(`${alias}.${name}`);
    const conditions = [sql`not ${column('is_deleted')}`, sql`${column('is_available')}`];
    if (shape.subcategories && !priceFiltered) {
      conditions.push(
        walk
          ? sql`arrayoverlap(${column('offered_subcategory_ids')}, ${value('subcategory_ids')}::uuid[])`
          : sql`${column('offered_subcategory_ids')} && ${value('subcategory_ids')}::uuid[]`,
      );
    }
    if (shape.area) {
      conditions.push(
        walk
          ? sql`arraycontains(${column('service_area_ids')}, array[${value('area_id')}::uuid])`
          : sql`${column('service_area_ids')} @> array[${value('area_id')}::uuid]`,
      );
    }
    if (shape.minRating) conditions.push(sql`${column('rating_avg_x100')} >= ${value('min_rating_x100')}`);
    return conditions;
  };
  /** Conditions that need the provider's row (p). */
  const onRow: SQL[] = [];
  if (shape.text !== 'none' && shape.sort !== 'relevance') onRow.push(matchesQuery(walk));
  if (priceFiltered) {
    onRow.push(
      sql`exists (select 1 from provider_services s where s.provider_profile_id = p.id and ${serviceWhere})`,
    );
  }
  if (shape.verified) onRow.push(sql`p.is_verified`);
  if (shape.availableOn) onRow.push(sql`p.available_weekdays @> array[${value('available_on')}::text]`);
  // A literal, not a parameter: a generic plan assumes a tenth of the rows for an unknown limit, which
  // makes it look dearer than a plan for the values, and PostgreSQL would then plan every call anew.
  const limit = sql.raw(String(shape.limit + 1));

  const byRating = shape.sort !== 'newest';
  const ratingAfter = sql`(w.rating_avg_x100 < ${value('after_key')} or (w.rating_avg_x100 = ${value('after_key')} and w.id < ${value('after_id')}::uuid))`;
  /**
   * One page walked in index order: `w` reads the walk index's entries only (id, rating, category,
   * area), and the entries meeting the indexed conditions and `walkMore` lead to their rows `p` (the same
   * provider), which must meet the rest and `rowMore`. Ordered by the index, nothing is sorted and the
   * walk stops once the page is full.
   */
  const walked = (walkMore: SQL[], rowMore: SQL[], sortKey: SQL) => sql`(
    select ${cardColumns(minPrice)}, ${sortKey} as sort_key
    from provider_profiles w
    join provider_profiles p on p.id = w.id
    join user_profiles up on up.id = p.user_profile_id
    join users u on u.id = up.user_id
    where ${sql.join([...indexed('w'), ...walkMore, ...onRow, ...rowMore, ACCOUNT_VISIBLE], sql` and `)}
    order by ${byRating ? sql`w.rating_avg_x100 desc, w.id desc` : sql`w.id desc`}
    limit ${limit})`;

  if (shape.sort === 'relevance') {
    // Matches of every word as typed first, then matches through close words only; best rated first in
    // each. The key adds EXACT_TIER to the rating of the first. Append returns its parts in order, and
    // reads the second only when the first does not fill the page.
    const parts: SQL[] = [];
    if (shape.text === 'known' && shape.after !== 'corrected_tier') {
      parts.push(
        walked(
          shape.after === 'exact_tier' ? [ratingAfter] : [],
          [matchesExactly],
          sql`${sql.raw(String(EXACT_TIER))} + w.rating_avg_x100`,
        ),
      );
    }
    const corrected = [matchesQuery(true)];
    if (shape.text === 'known') corrected.push(sql`not ${matchesExactly}`);
    parts.push(
      walked(shape.after === 'corrected_tier' ? [ratingAfter] : [], corrected, sql`w.rating_avg_x100`),
    );
    return sql`select * from (${sql.join(parts, sql` union all `)}) c limit ${limit}`;
  }
  if (walk) {
    const after = shape.sort === 'newest' ? sql`w.id < ${value('after_id')}::uuid` : ratingAfter;
    return walked(
      shape.after === 'none' ? [] : [after],
      [],
      byRating ? sql`w.rating_avg_x100` : sql`null::int`,
    );
  }
  // Providers without a price sort last.
  const keyset =
    shape.after === 'null'
      ? sql`and (c.sort_key is null and c.id > ${value('after_id')}::uuid)`
      : shape.after === 'key'
        ? sql`and (c.sort_key > ${value('after_key')} or c.sort_key is null or (c.sort_key = ${value('after_key')} and c.id > ${value('after_id')}::uuid))`
        : sql``;
  // `offset 0` keeps the matches a subquery of their own: priced and ordered first, then joined to the
  // accounts and made into cards only until the page is full.
  return sql`
    select ${cardColumns(sql`c.sort_key`)}, c.sort_key
    from (
      select p.id, ${minPrice} as sort_key
      from provider_profiles p
      where ${sql.join([...indexed('p'), ...onRow], sql` and `)}
      order by sort_key asc nulls last, id asc
      offset 0
    ) c
    join provider_profiles p on p.id = c.id
    join user_profiles up on up.id = p.user_profile_id
    join users u on u.id = up.user_id
    where ${ACCOUNT_VISIBLE} ${keyset}
    order by c.sort_key asc nulls last, c.id asc
    limit ${limit}`;
}

async function publicProfiles(db: Db, where: SQL): Promise<ProfileRow[]> {
  const result = (await db.execute(sql`${PROFILE_SELECT} ${where} and ${PROVIDER_VISIBLE}`)) as unknown as
    | { rows?: ProfileRow[] }
    | ProfileRow[];
  return Array.isArray(result) ? result : (result.rows ?? []);
}

/** A provider's public profile, when a visitor may see it. */
export const publicProfile = async (db: Db, id: string) =>
  (await publicProfiles(db, sql`p.id = ${id}::uuid`))[0];

/** The public profiles of these providers that a visitor may see. */
export const publicProfilesOf = (db: Db, ids: string[]) => publicProfiles(db, sql`p.id in ${ids}`);

/** The services a provider offers now, cheapest first. */
export const servicesOnOffer = (db: Db, providerProfileId: string) =>
  db
    .select()
    .from(providerServices)
    .where(
      and(
        eq(providerServices.providerProfileId, providerProfileId),
        eq(providerServices.isDeleted, false),
        eq(providerServices.isActive, true),
      ),
    )
    .orderBy(asc(providerServices.basePrice), asc(providerServices.id));
