import { Type } from 'typebox';
import type { Cache } from '../../platform/cache.ts';
import type { Db } from '../../platform/db.ts';
import { NotFoundError, RuleViolationError } from '../../platform/errors.ts';
import { DEFAULT_LANGUAGE, type LanguageCode, translate } from '../../platform/i18n.ts';
import { type ListCursor, listCursor, type PageRequest } from '../../platform/pagination.ts';
import type { SoftDeletes } from '../../platform/soft-delete.ts';
import { createCatalogAdmin } from './catalog-admin-service.ts';
import { createCatalogCache } from './catalog-cache.ts';
import { catalogEntities } from './catalog-entities.ts';
import {
  activeLanguages,
  isActiveLanguage,
  liveServiceAreaIds,
  liveSubcategoriesOf,
  newerAppVersions,
  offeredAddonPrices,
  offeredAddons,
  offeredCategory,
  offeredRows,
  offeredSubcategory,
  publicSettings,
  settingValue,
  subcategoryAndCategoryNames,
  subcategoryDeletionStates,
} from './catalog-queries.ts';
import {
  appVersionCheck,
  type CategoryDefaults,
  publicAddon,
  publicCategory,
  publicSubcategory,
} from './catalog-views.ts';
import type { CatalogEvents } from './events.ts';
import { priceRangeOf } from './price-range.ts';
import { PRICE_SETTINGS } from './queries.ts';
import { type APP_PLATFORMS, serviceAreas, serviceCategories } from './schema.ts';

/** Public catalog lists come in the order staff give them (`sort_order`), then by id. */
const CatalogKey = Type.Tuple([Type.Integer(), Type.String({ format: 'uuid' })]);
const categoryCursor = listCursor('catalog.categories:sort_order', CatalogKey);
const areaCursor = listCursor('catalog.service_areas:sort_order', CatalogKey);

export type CatalogService = ReturnType<typeof createCatalogService>;

export function createCatalogService({
  db,
  cache,
  softDeletes,
  events,
}: {
  db: Db;
  cache: Cache;
  softDeletes: SoftDeletes;
  events: CatalogEvents;
}) {
  const answers = createCatalogCache(cache);
  const { remember } = answers;

  /** Settings are read through here by every module that needs a rule's number. */
  function getSettingValue<T>(key: string, fallback: T): Promise<T> {
    return remember(
      `setting:${key}`,
      async () => ((await settingValue(db, key)) as T | undefined) ?? fallback,
    );
  }

  async function priceDefaults(): Promise<CategoryDefaults> {
    return {
      commissionRateBps: await getSettingValue('commission_rate_bps', 1500),
      minPrice: await getSettingValue(PRICE_SETTINGS.min.key, PRICE_SETTINGS.min.fallback),
      maxPrice: await getSettingValue(PRICE_SETTINGS.max.key, PRICE_SETTINGS.max.fallback),
    };
  }

  /** A page of the live, active rows of a public list, in staff's order (`sort_order`, then id). */
  async function offeredPage<T extends typeof serviceCategories | typeof serviceAreas>(
    table: T,
    cursor: ListCursor<[number, string]>,
    request: PageRequest,
  ) {
    const rows = await offeredRows(db, table, cursor.decode(request.cursor), request.limit + 1);
    return cursor.page(
      rows,
      request.limit,
      (row) => [row.sortOrder, row.id],
      (row) => row,
    );
  }

  async function existingServiceAreaIds(ids: string[]) {
    return liveServiceAreaIds(db, ids);
  }

  return {
    entities: catalogEntities,

    cachedAnswer: answers.cachedAnswer,
    pageAnswer: answers.pageAnswer,

    getSettingValue,

    async defaultLanguage(): Promise<LanguageCode> {
      return getSettingValue<LanguageCode>('default_language', DEFAULT_LANGUAGE);
    },

    async listLanguages() {
      return activeLanguages(db);
    },

    async listCategories(lang: LanguageCode, request: PageRequest) {
      const page = await offeredPage(serviceCategories, categoryCursor, request);
      const subcategories = await liveSubcategoriesOf(
        db,
        page.data.map((c) => c.id),
      );
      const defaults = await priceDefaults();
      return {
        data: page.data.map((c) =>
          publicCategory(
            c,
            lang,
            defaults,
            subcategories.filter((s) => s.categoryId === c.id),
          ),
        ),
        next_cursor: page.next_cursor,
      };
    },

    async getCategory(id: string, lang: LanguageCode) {
      const category = await offeredCategory(db, id);
      if (!category) throw new NotFoundError('category');
      return publicCategory(category, lang, await priceDefaults(), await liveSubcategoriesOf(db, [id]));
    },

    async getSubcategory(id: string, lang: LanguageCode) {
      const row = await offeredSubcategory(db, id);
      if (!row) throw new NotFoundError('subcategory');
      const addons = await offeredAddons(db, id);
      return {
        ...publicSubcategory(row.sub, lang),
        category: {
          id: row.category.id,
          slug: row.category.slug,
          name: translate(row.category.name, lang) as string,
        },
        addons: addons.map((a) => publicAddon(a, lang)),
      };
    },

    /**
     * What other modules need to know about a subcategory a user picked: that it is live and offered,
     * its category, and the price range (tyiyn) an order or a service in it must keep (`checkPriceRange`).
     * Null when it is not offered.
     */
    async subcategoryTerms(id: string) {
      const row = await offeredSubcategory(db, id);
      if (!row) return null;
      const defaults = await priceDefaults();
      return {
        id: row.sub.id,
        categoryId: row.category.id,
        ...priceRangeOf(row.category, defaults),
        commissionRateBps: row.category.commissionRateBps ?? defaults.commissionRateBps,
      };
    },

    /**
     * The live, active add-ons a subcategory offers, with their current price: what an order in it may add.
     */
    async addonsOf(subcategoryId: string) {
      return offeredAddonPrices(db, subcategoryId);
    },

    /**
     * The names, in every language, of these subcategories and their categories: words people search by.
     */
    async subcategorySearchTerms(ids: string[]) {
      if (ids.length === 0) return [];
      const rows = await subcategoryAndCategoryNames(db, ids);
      const terms = rows.flatMap((r) => [...Object.values(r.sub), ...Object.values(r.category)]);
      return [...new Set(terms.filter((t): t is string => typeof t === 'string' && t.length > 0))];
    },

    /**
     * The live subcategory ids of a category (empty when the category is unknown); cached like the rest of
     * the catalog, since the directory asks on every search by category.
     */
    subcategoryIdsOf(categoryId: string) {
      return remember(`subcategory-ids:${categoryId}`, async () =>
        (await liveSubcategoriesOf(db, [categoryId])).map((s) => s.id),
      );
    },

    /** Which of these service area ids exist and are live. */
    existingServiceAreaIds,

    /**
     * Refuses, as 422 `service_area_not_found` naming each body field at fault, the service areas (body field
     * to id) that do not exist or are deleted; a field left out, null or empty is not checked.
     */
    async checkServiceAreas(areas: Record<string, string | null | undefined>) {
      const given = Object.entries(areas).filter((area): area is [string, string] => Boolean(area[1]));
      if (given.length === 0) return;
      const found = new Set(await existingServiceAreaIds(given.map(([, id]) => id)));
      const errors = given
        .filter(([, id]) => !found.has(id))
        .map(([field]) => ({ in: 'body', field, message: 'is not a service area' }));
      if (errors.length > 0)
        throw new RuleViolationError('service_area_not_found', 'unknown service area', errors);
    },

    async isActiveLanguage(code: string) {
      return isActiveLanguage(db, code);
    },

    async listServiceAreas(lang: LanguageCode, request: PageRequest) {
      const page = await offeredPage(serviceAreas, areaCursor, request);
      return {
        data: page.data.map((a) => ({
          id: a.id,
          slug: a.slug,
          name: translate(a.name, lang) as string,
          parent_id: a.parentId,
        })),
        next_cursor: page.next_cursor,
      };
    },

    async listPublicSettings() {
      return publicSettings(db);
    },

    async checkAppVersion(platform: (typeof APP_PLATFORMS)[number], build: number, lang: LanguageCode) {
      return appVersionCheck(await newerAppVersions(db, platform, build), lang);
    },

    ...createCatalogAdmin({ db, softDeletes, events, cache: answers }),

    /**
     * Each of these subcategories that exists, with the deletion that holds it deleted, or null while it is
     * live: for a module that keeps its own rows in step with the catalog's deletes and restores.
     */
    async subcategoryDeletions(ids: string[]): Promise<Map<string, string | null>> {
      if (ids.length === 0) return new Map();
      const rows = await subcategoryDeletionStates(db, ids);
      return new Map(rows.map((r) => [r.id, r.isDeleted ? r.deletionId : null]));
    },
  };
}
