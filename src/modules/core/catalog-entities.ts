import type { PgColumn } from 'drizzle-orm/pg-core';
import {
  appVersions,
  languages,
  serviceAddons,
  serviceAreas,
  serviceCategories,
  serviceSubcategories,
  systemSettings,
} from './schema.ts';

export type CatalogTable =
  | typeof languages
  | typeof serviceCategories
  | typeof serviceSubcategories
  | typeof serviceAddons
  | typeof serviceAreas
  | typeof systemSettings
  | typeof appVersions;

/** A catalog model as staff manage it: its table, what it is called, and the rules a write must keep. */
export interface CatalogEntity {
  table: CatalogTable;
  /** Used in error codes (`${label}_not_found`) and messages. */
  label: string;
  /** A live parent a row must point at (subcategory -> category); checked on create and update. */
  parent?: { column: string; table: CatalogTable; label: string };
}

export const catalogEntities = {
  languages: { table: languages, label: 'language' },
  categories: { table: serviceCategories, label: 'category' },
  subcategories: {
    table: serviceSubcategories,
    label: 'subcategory',
    parent: { column: 'categoryId', table: serviceCategories, label: 'category' },
  },
  addons: {
    table: serviceAddons,
    label: 'addon',
    parent: { column: 'subcategoryId', table: serviceSubcategories, label: 'subcategory' },
  },
  'service-areas': {
    table: serviceAreas,
    label: 'service_area',
    parent: { column: 'parentId', table: serviceAreas, label: 'service_area' },
  },
  settings: { table: systemSettings, label: 'setting' },
  'app-versions': { table: appVersions, label: 'app_version' },
} satisfies Record<string, CatalogEntity>;

export type CatalogEntityName = keyof typeof catalogEntities;

/** A catalog row as the staff operations handle it, whatever its model. */
export type CatalogRow = Record<string, unknown> & { id: string };

/** The columns every catalog table has, for statements written once for all of them. */
export const tableColumns = (table: CatalogTable) =>
  table as unknown as Record<string, PgColumn> & { id: PgColumn; isDeleted: PgColumn };

/** Whether deleting rows of `entity` takes subcategories, and which kind of catalog event tells of it. */
export const subcategoriesKind = (entity: CatalogEntity) =>
  entity.table === serviceCategories
    ? ('category' as const)
    : entity.table === serviceSubcategories
      ? ('subcategory' as const)
      : undefined;
