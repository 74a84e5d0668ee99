import { type SQL, sql } from 'drizzle-orm';
import { serviceAreas, serviceCategories, serviceSubcategories, systemSettings } from './schema.ts';

/*
 * The catalog's published read models (ARCHITECTURE.md, "Read models"): what another module may read of
 * the catalog's tables in its own SQL, so that a single statement (the bid, the feed) stays one round
 * trip. Each is a query or a value the caller embeds; its columns are a contract, held by
 * read-models.test.ts beside this file. Everything else of the catalog is read through its service, which
 * caches it.
 */

/** The order price range where a category sets none: the settings read here and by `subcategoryTerms`. */
export const PRICE_SETTINGS = {
  min: { key: 'order_min_price', fallback: 20_000 },
  max: { key: 'order_max_price', fallback: 10_000_000 },
};

/** A row of `subcategoryPriceRange`, in tyiyn. */
export interface SubcategoryPriceRange {
  min_price: number;
  max_price: number;
}

/**
 * The price range of an offered subcategory (live and active, in a live and active category): one row of
 * `min_price` and `max_price`, the category's own or the settings' where it sets none; no row for any other
 * subcategory. What `subcategoryTerms` answers from the cache, read here in the caller's statement: the bid
 * checks its amount against it and writes in one round trip.
 */
export function subcategoryPriceRange(subcategoryId: SQL) {
  const setting = ({ key, fallback }: { key: string; fallback: number }) =>
    sql`coalesce((select (${systemSettings.value} #>> '{}')::int from ${systemSettings}
                  where ${systemSettings.key} = ${key} and not ${systemSettings.isDeleted}), ${fallback})`;
  return sql`select coalesce(${serviceCategories.minPrice}, ${setting(PRICE_SETTINGS.min)}) as min_price,
      coalesce(${serviceCategories.maxPrice}, ${setting(PRICE_SETTINGS.max)}) as max_price
    from ${serviceSubcategories}
    join ${serviceCategories} on ${serviceCategories.id} = ${serviceSubcategories.categoryId}
    where ${serviceSubcategories.id} = ${subcategoryId}
      and not ${serviceSubcategories.isDeleted} and ${serviceSubcategories.isActive}
      and not ${serviceCategories.isDeleted} and ${serviceCategories.isActive}`;
}

/**
 * The service areas `areaIds` (an SQL `uuid[]`) gives and their live, active districts, as one `uuid[]`
 * value: a provider in Бишкек works in Бишкек-Центр too. For the feed and the order search to filter on.
 */
export const areasWithDistricts = (areaIds: SQL) =>
  sql<string[]>`(${areaIds} || array(select d.id from ${serviceAreas} d
    where d.parent_id = any(${areaIds}) and not d.is_deleted and d.is_active))`;
