import { type LanguageCode, translate } from '../../platform/i18n.ts';
import { type PriceRange, priceRangeOf } from './price-range.ts';
import type { appVersions, serviceAddons, serviceCategories, serviceSubcategories } from './schema.ts';

type Category = typeof serviceCategories.$inferSelect;
type Subcategory = typeof serviceSubcategories.$inferSelect;

/** What a category sets when it sets none of its own: the settings' numbers. */
export interface CategoryDefaults extends PriceRange {
  commissionRateBps: number;
}

export function publicSubcategory(s: Subcategory, lang: LanguageCode) {
  return {
    id: s.id,
    category_id: s.categoryId,
    slug: s.slug,
    name: translate(s.name, lang) as string,
    description: translate(s.description, lang),
    icon: s.icon,
    sort_order: s.sortOrder,
  };
}

export function publicCategory(
  c: Category,
  lang: LanguageCode,
  defaults: CategoryDefaults,
  subcategories: Subcategory[],
) {
  const range = priceRangeOf(c, defaults);
  return {
    id: c.id,
    slug: c.slug,
    name: translate(c.name, lang) as string,
    description: translate(c.description, lang),
    icon: c.icon,
    color: c.color,
    sort_order: c.sortOrder,
    commission_rate_bps: c.commissionRateBps ?? defaults.commissionRateBps,
    min_price: range.minPrice,
    max_price: range.maxPrice,
    subcategories: subcategories.map((s) => publicSubcategory(s, lang)),
  };
}

export const publicAddon = (a: typeof serviceAddons.$inferSelect, lang: LanguageCode) => ({
  id: a.id,
  name: translate(a.name, lang) as string,
  description: translate(a.description, lang),
  price: a.price,
  price_type: a.priceType,
  sort_order: a.sortOrder,
});

/** The answer to an app build asking whether to update, from the releases after it, newest first. */
export function appVersionCheck(newer: (typeof appVersions.$inferSelect)[], lang: LanguageCode) {
  const latest = newer[0];
  return {
    update_available: latest !== undefined,
    force_update: newer.some((v) => v.isForcedUpdate),
    latest: latest
      ? {
          version: latest.version,
          build_number: latest.buildNumber,
          release_notes: translate(latest.releaseNotes, lang),
          store_url: latest.storeUrl,
          is_forced_update: latest.isForcedUpdate,
        }
      : null,
  };
}
