import { and, asc, desc, eq, gt, inArray, sql } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { Db } from '../../platform/db.ts';
import type { IdPage } from '../../platform/pagination.ts';
import { type CatalogRow, type CatalogTable, tableColumns } from './catalog-entities.ts';
import {
  type APP_PLATFORMS,
  appVersions,
  languages,
  serviceAddons,
  serviceAreas,
  serviceCategories,
  serviceSubcategories,
  systemSettings,
} from './schema.ts';

/*
 * The catalog service's own statements. Other modules read the catalog through its service, or in SQL
 * through the read models of queries.ts.
 */

export async function settingValue(db: Db, key: string) {
  const [row] = await db
    .select({ value: systemSettings.value })
    .from(systemSettings)
    .where(and(eq(systemSettings.key, key), eq(systemSettings.isDeleted, false)));
  return row?.value;
}

export const activeLanguages = (db: Db) =>
  db
    .select()
    .from(languages)
    .where(and(eq(languages.isDeleted, false), eq(languages.isActive, true)))
    .orderBy(asc(languages.sortOrder), asc(languages.id));

export async function isActiveLanguage(db: Db, code: string) {
  const [row] = await db
    .select({ id: languages.id })
    .from(languages)
    .where(and(eq(languages.code, code), eq(languages.isDeleted, false), eq(languages.isActive, true)));
  return row !== undefined;
}

/** The live, active rows of a public list in staff's order (`sort_order`, then id), after `after`. */
export async function offeredRows<T extends typeof serviceCategories | typeof serviceAreas>(
  db: Db,
  table: T,
  after: [number, string] | undefined,
  limit: number,
) {
  return (await db
    .select()
    .from(table as typeof serviceCategories)
    .where(
      and(
        eq(table.isDeleted, false),
        eq(table.isActive, true),
        after ? sql`(${table.sortOrder}, ${table.id}) > (${after[0]}, ${after[1]}::uuid)` : undefined,
      ),
    )
    .orderBy(asc(table.sortOrder), asc(table.id))
    .limit(limit)) as unknown as T['$inferSelect'][];
}

export async function offeredCategory(db: Db, id: string) {
  const [category] = await db
    .select()
    .from(serviceCategories)
    .where(
      and(
        eq(serviceCategories.id, id),
        eq(serviceCategories.isDeleted, false),
        eq(serviceCategories.isActive, true),
      ),
    );
  return category;
}

/** A live, active subcategory of a live, active category, with that category: what the catalog offers. */
export async function offeredSubcategory(db: Db, id: string) {
  const [row] = await db
    .select({ sub: serviceSubcategories, category: serviceCategories })
    .from(serviceSubcategories)
    .innerJoin(serviceCategories, eq(serviceCategories.id, serviceSubcategories.categoryId))
    .where(
      and(
        eq(serviceSubcategories.id, id),
        eq(serviceSubcategories.isDeleted, false),
        eq(serviceSubcategories.isActive, true),
        eq(serviceCategories.isDeleted, false),
        eq(serviceCategories.isActive, true),
      ),
    );
  return row;
}

export async function liveSubcategoriesOf(db: Db, categoryIds: string[]) {
  if (categoryIds.length === 0) return [];
  return db
    .select()
    .from(serviceSubcategories)
    .where(
      and(
        inArray(serviceSubcategories.categoryId, categoryIds),
        eq(serviceSubcategories.isDeleted, false),
        eq(serviceSubcategories.isActive, true),
      ),
    )
    .orderBy(asc(serviceSubcategories.sortOrder), asc(serviceSubcategories.id));
}

const offeredAddonOf = (subcategoryId: string) =>
  and(
    eq(serviceAddons.subcategoryId, subcategoryId),
    eq(serviceAddons.isDeleted, false),
    eq(serviceAddons.isActive, true),
  );

export const offeredAddons = (db: Db, subcategoryId: string) =>
  db
    .select()
    .from(serviceAddons)
    .where(offeredAddonOf(subcategoryId))
    .orderBy(asc(serviceAddons.sortOrder), asc(serviceAddons.id));

export const offeredAddonPrices = (db: Db, subcategoryId: string) =>
  db
    .select({ id: serviceAddons.id, price: serviceAddons.price, priceType: serviceAddons.priceType })
    .from(serviceAddons)
    .where(offeredAddonOf(subcategoryId));

/** The names of these subcategories and of their categories, each in every language. */
export const subcategoryAndCategoryNames = (db: Db, ids: string[]) =>
  db
    .select({ sub: serviceSubcategories.name, category: serviceCategories.name })
    .from(serviceSubcategories)
    .innerJoin(serviceCategories, eq(serviceCategories.id, serviceSubcategories.categoryId))
    .where(inArray(serviceSubcategories.id, ids));

export async function liveServiceAreaIds(db: Db, ids: string[]) {
  if (ids.length === 0) return [];
  const rows = await db
    .select({ id: serviceAreas.id })
    .from(serviceAreas)
    .where(and(inArray(serviceAreas.id, ids), eq(serviceAreas.isDeleted, false)));
  return rows.map((r) => r.id);
}

export const publicSettings = (db: Db) =>
  db
    .select({ key: systemSettings.key, value: systemSettings.value, description: systemSettings.description })
    .from(systemSettings)
    .where(and(eq(systemSettings.isPublic, true), eq(systemSettings.isDeleted, false)))
    .orderBy(asc(systemSettings.key));

/** The live, active releases of a platform after `build`, newest first. */
export const newerAppVersions = (db: Db, platform: (typeof APP_PLATFORMS)[number], build: number) =>
  db
    .select()
    .from(appVersions)
    .where(
      and(
        eq(appVersions.platform, platform),
        eq(appVersions.isDeleted, false),
        eq(appVersions.isActive, true),
        gt(appVersions.buildNumber, build),
      ),
    )
    .orderBy(desc(appVersions.buildNumber));

export const subcategoryDeletionStates = (db: Db, ids: string[]) =>
  db
    .select({
      id: serviceSubcategories.id,
      isDeleted: serviceSubcategories.isDeleted,
      deletionId: serviceSubcategories.deletionId,
    })
    .from(serviceSubcategories)
    .where(inArray(serviceSubcategories.id, ids));

/** The subcategories a deletion still holds deleted. */
export async function subcategoryIdsHeldBy(db: Db, deletionId: string) {
  const rows = await db
    .select({ id: serviceSubcategories.id })
    .from(serviceSubcategories)
    .where(and(eq(serviceSubcategories.deletionId, deletionId), eq(serviceSubcategories.isDeleted, true)));
  return rows.map((r) => r.id);
}

// Staff writes: one statement of each kind for every catalog model.

/** A row of any catalog table; a deleted one only when asked, locked for the transaction when asked. */
export async function catalogRow(
  tx: Db,
  table: CatalogTable,
  id: string,
  { includeDeleted = false, forUpdate = false } = {},
) {
  const t = tableColumns(table);
  const read = tx
    .select()
    .from(table as PgTable)
    .where(and(eq(t.id, id), includeDeleted ? undefined : eq(t.isDeleted, false)));
  const [row] = (await (forUpdate ? read.for('update') : read)) as CatalogRow[];
  return row;
}

export async function isLiveRow(tx: Db, table: CatalogTable, id: string) {
  const t = tableColumns(table);
  const [found] = await tx
    .select({ id: t.id })
    .from(table as PgTable)
    .where(and(eq(t.id, id), eq(t.isDeleted, false)));
  return found !== undefined;
}

export async function catalogRows(
  db: Db,
  table: CatalogTable,
  page: Pick<IdPage, 'where' | 'orderBy' | 'limit'>,
  deleted: boolean,
) {
  const t = tableColumns(table);
  return (await db
    .select()
    .from(table as PgTable)
    .where(and(eq(t.isDeleted, deleted), page.where))
    .orderBy(page.orderBy)
    .limit(page.limit)) as CatalogRow[];
}

export async function insertCatalogRow(tx: Db, table: CatalogTable, values: Record<string, unknown>) {
  const [created] = (await tx
    .insert(table)
    .values(values as never)
    .returning()) as CatalogRow[];
  return created as CatalogRow;
}

export async function updateCatalogRow(
  tx: Db,
  table: CatalogTable,
  id: string,
  changes: Record<string, unknown>,
) {
  const [after] = (await tx
    .update(table)
    .set(changes as never)
    .where(eq(tableColumns(table).id, id))
    .returning()) as CatalogRow[];
  return after as CatalogRow;
}
