import { sql } from 'drizzle-orm';
import { boolean, check, index, integer, jsonb, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { baseColumns, softDeleteColumns, softDeleteIndexes } from '../../platform/columns.ts';
import type { TranslationsValue } from '../../platform/i18n.ts';
import { cascade } from '../../platform/soft-delete.ts';
import { ADDON_PRICE_TYPES } from './contract.ts';

export const APP_PLATFORMS = ['android', 'ios', 'web'] as const;

const translations = (name: string) => jsonb(name).$type<TranslationsValue>();
const live = sql`not is_deleted`;

export const languages = pgTable(
  'languages',
  {
    ...baseColumns(),
    code: text('code').notNull(),
    name: text('name').notNull(),
    nativeName: text('native_name').notNull(),
    isActive: boolean('is_active').notNull().default(true),
    isDefault: boolean('is_default').notNull().default(false),
    sortOrder: integer('sort_order').notNull().default(0),
    ...softDeleteColumns(),
  },
  (t) => [
    uniqueIndex('languages_code_live_uq').on(t.code).where(live),
    // At most one default language among the live ones.
    uniqueIndex('languages_default_live_uq').on(t.isDefault).where(sql`is_default and not is_deleted`),
    ...softDeleteIndexes('languages', t),
  ],
);

export const serviceCategories = pgTable(
  'service_categories',
  {
    ...baseColumns(),
    slug: text('slug').notNull(),
    name: translations('name').notNull(),
    description: translations('description'),
    icon: text('icon'),
    color: text('color'),
    sortOrder: integer('sort_order').notNull().default(0),
    isActive: boolean('is_active').notNull().default(true),
    /** Platform commission in basis points (1500 = 15%); null uses the `commission_rate_bps` setting. */
    commissionRateBps: integer('commission_rate_bps'),
    /** Order price range in tyiyn; null uses the settings' range. */
    minPrice: integer('min_price'),
    maxPrice: integer('max_price'),
    ...softDeleteColumns(),
  },
  (t) => [
    uniqueIndex('service_categories_slug_live_uq').on(t.slug).where(live),
    index('service_categories_sort_idx').on(t.sortOrder, t.id),
    check('service_categories_commission_ck', sql`commission_rate_bps between 0 and 10000`),
    check(
      'service_categories_price_range_ck',
      sql`min_price is null or max_price is null or min_price <= max_price`,
    ),
    ...softDeleteIndexes('service_categories', t),
  ],
);

export const serviceSubcategories = pgTable(
  'service_subcategories',
  {
    ...baseColumns(),
    categoryId: uuid('category_id')
      .notNull()
      .references(() => serviceCategories.id),
    slug: text('slug').notNull(),
    name: translations('name').notNull(),
    description: translations('description'),
    icon: text('icon'),
    sortOrder: integer('sort_order').notNull().default(0),
    isActive: boolean('is_active').notNull().default(true),
    ...softDeleteColumns(),
  },
  (t) => [
    uniqueIndex('service_subcategories_slug_live_uq').on(t.categoryId, t.slug).where(live),
    index('service_subcategories_category_idx').on(t.categoryId, t.sortOrder),
    ...softDeleteIndexes('service_subcategories', t),
  ],
);

export const serviceAddons = pgTable(
  'service_addons',
  {
    ...baseColumns(),
    subcategoryId: uuid('subcategory_id')
      .notNull()
      .references(() => serviceSubcategories.id),
    name: translations('name').notNull(),
    description: translations('description'),
    /** Tyiyn for fixed, per_unit and per_hour; basis points of the order price for percentage. */
    price: integer('price').notNull(),
    priceType: text('price_type', { enum: ADDON_PRICE_TYPES }).notNull().default('fixed'),
    isActive: boolean('is_active').notNull().default(true),
    sortOrder: integer('sort_order').notNull().default(0),
    ...softDeleteColumns(),
  },
  (t) => [
    index('service_addons_subcategory_idx').on(t.subcategoryId, t.sortOrder),
    check('service_addons_price_ck', sql`price >= 0`),
    ...softDeleteIndexes('service_addons', t),
  ],
);

export const serviceAreas = pgTable(
  'service_areas',
  {
    ...baseColumns(),
    slug: text('slug').notNull(),
    name: translations('name').notNull(),
    /** A district's city (Бишкек for Центр, Восток, Запад). */
    parentId: uuid('parent_id'),
    sortOrder: integer('sort_order').notNull().default(0),
    isActive: boolean('is_active').notNull().default(true),
    ...softDeleteColumns(),
  },
  (t) => [
    uniqueIndex('service_areas_slug_live_uq').on(t.slug).where(live),
    index('service_areas_parent_idx').on(t.parentId),
    ...softDeleteIndexes('service_areas', t),
  ],
);

export const systemSettings = pgTable(
  'system_settings',
  {
    ...baseColumns(),
    key: text('key').notNull(),
    value: jsonb('value').notNull(),
    description: text('description'),
    /** Public settings are readable without login; the rest only by staff. */
    isPublic: boolean('is_public').notNull().default(false),
    ...softDeleteColumns(),
  },
  (t) => [
    uniqueIndex('system_settings_key_live_uq').on(t.key).where(live),
    ...softDeleteIndexes('system_settings', t),
  ],
);

export const appVersions = pgTable(
  'app_versions',
  {
    ...baseColumns(),
    platform: text('platform', { enum: APP_PLATFORMS }).notNull(),
    version: text('version').notNull(),
    buildNumber: integer('build_number').notNull(),
    releaseNotes: translations('release_notes'),
    /** Builds below a forced release must update before they can go on. */
    isForcedUpdate: boolean('is_forced_update').notNull().default(false),
    storeUrl: text('store_url'),
    isActive: boolean('is_active').notNull().default(true),
    ...softDeleteColumns(),
  },
  (t) => [
    uniqueIndex('app_versions_build_live_uq').on(t.platform, t.buildNumber).where(live),
    ...softDeleteIndexes('app_versions', t),
  ],
);

/**
 * What a catalog delete takes with it, handed to the platform in app.ts. The orders in a subcategory are the
 * orders module's: it takes them itself when it hears of the delete (catalog events).
 */
export const catalogCascades = [
  cascade(serviceCategories, serviceSubcategories, serviceSubcategories.categoryId),
  cascade(serviceSubcategories, serviceAddons, serviceAddons.subcategoryId),
  cascade(serviceAreas, serviceAreas, serviceAreas.parentId),
];
