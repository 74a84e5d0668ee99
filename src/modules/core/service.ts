import { and, asc, desc, eq, getTableName, gt, inArray, sql } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import { Type } from 'typebox';
import type { Actor } from '../../platform/actor.ts';
import { writeAudit } from '../../platform/audit/service.ts';
import type { Cache } from '../../platform/cache.ts';
import type { Db } from '../../platform/db.ts';
import { NotFoundError, RuleViolationError } from '../../platform/errors.ts';
import { entityTag } from '../../platform/http-cache.ts';
import { DEFAULT_LANGUAGE, type LanguageCode, translate } from '../../platform/i18n.ts';
import { idPages, type ListCursor, listCursor, type PageRequest } from '../../platform/pagination.ts';
import type { SoftDeletes } from '../../platform/soft-delete.ts';
import type { CatalogEvents } from './events.ts';
import { PRICE_SETTINGS } from './queries.ts';
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

/** Public catalog answers change only when staff edit the catalog, so they are kept ready between edits. */
const CACHE_PREFIX = 'catalog:';
const CACHE_TTL_SECONDS = 600;

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

/** Public catalog lists come in the order staff give them (`sort_order`), then by id. */
const CatalogKey = Type.Tuple([Type.Integer(), Type.String({ format: 'uuid' })]);
const categoryCursor = listCursor('catalog.categories:sort_order', CatalogKey);
const areaCursor = listCursor('catalog.service_areas:sort_order', CatalogKey);

export interface CachedAnswer {
  etag: string;
  /** Bytes, not text: sending text would count its UTF-8 length again on every request. */
  body: Buffer;
}

export type CatalogService = ReturnType<typeof createCatalogService>;

/** Whether deleting rows of `entity` takes subcategories, and which kind of catalog event tells of it. */
const subcategoriesKind = (entity: CatalogEntity) =>
  entity.table === serviceCategories
    ? ('category' as const)
    : entity.table === serviceSubcategories
      ? ('subcategory' as const)
      : undefined;

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
  const tableColumns = (table: CatalogTable) =>
    table as unknown as Record<string, PgColumn> & { id: PgColumn; isDeleted: PgColumn };

  async function loadRow(tx: Db, entity: CatalogEntity, id: string, includeDeleted = false) {
    const t = tableColumns(entity.table);
    const [row] = await tx
      .select()
      .from(entity.table as PgTable)
      .where(and(eq(t.id, id), includeDeleted ? undefined : eq(t.isDeleted, false)));
    if (!row) throw new NotFoundError(entity.label);
    return row as Record<string, unknown> & { id: string };
  }

  async function checkParent(tx: Db, entity: CatalogEntity, values: Record<string, unknown>) {
    const parent = entity.parent;
    const parentId = parent ? values[parent.column] : undefined;
    if (!parent || parentId === undefined || parentId === null) return;
    const p = tableColumns(parent.table);
    const [found] = await tx
      .select({ id: p.id })
      .from(parent.table as PgTable)
      .where(and(eq(p.id, parentId as string), eq(p.isDeleted, false)));
    if (!found) {
      throw new RuleViolationError(
        `${parent.label}_not_found`,
        `the ${parent.label.replaceAll('_', ' ')} does not exist`,
        [
          {
            in: 'body',
            field: parent.column.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
            message: 'does not exist',
          },
        ],
      );
    }
  }

  const auditName = (entity: CatalogEntity) => getTableName(entity.table);

  async function invalidate() {
    await cache.invalidate(CACHE_PREFIX);
  }

  /** A value read from the catalog, kept until the catalog changes. */
  async function remember<T>(key: string, read: () => Promise<T>): Promise<T> {
    const cacheKey = `${CACHE_PREFIX}${key}`;
    const hit = cache.get<{ value: T }>(cacheKey);
    if (hit) return hit.value;
    const value = await read();
    cache.set(cacheKey, { value }, CACHE_TTL_SECONDS);
    return value;
  }

  const answerOf = (serialized: string | Buffer): CachedAnswer => {
    const body = Buffer.from(serialized);
    return { etag: entityTag(body), body };
  };

  /**
   * A public answer, built once per language and kept until the catalog changes.
   * `serialize` is the route's response serializer, so the cached text is exactly what the schema allows.
   */
  async function cachedAnswer(
    key: string,
    build: () => Promise<unknown>,
    serialize: (body: unknown) => string | Buffer,
  ) {
    const cacheKey = `${CACHE_PREFIX}${key}`;
    const hit = cache.get<CachedAnswer>(cacheKey);
    if (hit) return hit;
    const answer = answerOf(serialize(await build()));
    cache.set(cacheKey, answer, CACHE_TTL_SECONDS);
    return answer;
  }

  /** Settings are read through here by every module that needs a rule's number. */
  function getSettingValue<T>(key: string, fallback: T): Promise<T> {
    return remember(`setting:${key}`, async () => {
      const [row] = await db
        .select({ value: systemSettings.value })
        .from(systemSettings)
        .where(and(eq(systemSettings.key, key), eq(systemSettings.isDeleted, false)));
      return (row?.value as T | undefined) ?? fallback;
    });
  }

  return {
    entities: catalogEntities,

    cachedAnswer,

    /**
     * A page of a public list, as cachedAnswer. Only first pages are kept (one per page size): later pages
     * are built on each call, so cursors made up by a client cannot crowd the cache.
     */
    async pageAnswer(
      key: string,
      request: PageRequest,
      build: () => Promise<unknown>,
      serialize: (body: unknown) => string | Buffer,
    ) {
      if (request.cursor === undefined) return cachedAnswer(`${key}:${request.limit}`, build, serialize);
      return answerOf(serialize(await build()));
    },

    getSettingValue,

    async defaultLanguage(): Promise<LanguageCode> {
      return getSettingValue<LanguageCode>('default_language', DEFAULT_LANGUAGE);
    },

    async listLanguages() {
      return db
        .select()
        .from(languages)
        .where(and(eq(languages.isDeleted, false), eq(languages.isActive, true)))
        .orderBy(asc(languages.sortOrder), asc(languages.id));
    },

    async listCategories(lang: LanguageCode, request: PageRequest) {
      const page = await offeredPage(serviceCategories, categoryCursor, request);
      const subcategories = await liveSubcategories(page.data.map((c) => c.id));
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
      if (!category) throw new NotFoundError('category');
      return publicCategory(category, lang, await priceDefaults(), await liveSubcategories([id]));
    },

    async getSubcategory(id: string, lang: LanguageCode) {
      const row = await offeredSubcategory(id);
      if (!row) throw new NotFoundError('subcategory');
      const addons = await db
        .select()
        .from(serviceAddons)
        .where(
          and(
            eq(serviceAddons.subcategoryId, id),
            eq(serviceAddons.isDeleted, false),
            eq(serviceAddons.isActive, true),
          ),
        )
        .orderBy(asc(serviceAddons.sortOrder), asc(serviceAddons.id));
      return {
        ...publicSubcategory(row.sub, lang),
        category: {
          id: row.category.id,
          slug: row.category.slug,
          name: translate(row.category.name, lang) as string,
        },
        addons: addons.map((a) => ({
          id: a.id,
          name: translate(a.name, lang) as string,
          description: translate(a.description, lang),
          price: a.price,
          price_type: a.priceType,
          sort_order: a.sortOrder,
        })),
      };
    },

    /**
     * What other modules need to know about a subcategory a user picked: that it is live and offered,
     * its category, and the price range (tyiyn) an order or a service in it must keep. Null when it is not offered.
     */
    async subcategoryTerms(id: string) {
      const row = await offeredSubcategory(id);
      if (!row) return null;
      const defaults = await priceDefaults();
      return {
        id: row.sub.id,
        categoryId: row.category.id,
        minPrice: row.category.minPrice ?? defaults.minPrice,
        maxPrice: row.category.maxPrice ?? defaults.maxPrice,
        commissionRateBps: row.category.commissionRateBps ?? defaults.commissionRateBps,
      };
    },

    /**
     * The live, active add-ons a subcategory offers, with their current price: what an order in it may add.
     */
    async addonsOf(subcategoryId: string) {
      return db
        .select({ id: serviceAddons.id, price: serviceAddons.price, priceType: serviceAddons.priceType })
        .from(serviceAddons)
        .where(
          and(
            eq(serviceAddons.subcategoryId, subcategoryId),
            eq(serviceAddons.isDeleted, false),
            eq(serviceAddons.isActive, true),
          ),
        );
    },

    /**
     * The names, in every language, of these subcategories and their categories: words people search by.
     */
    async subcategorySearchTerms(ids: string[]) {
      if (ids.length === 0) return [];
      const rows = await db
        .select({ sub: serviceSubcategories.name, category: serviceCategories.name })
        .from(serviceSubcategories)
        .innerJoin(serviceCategories, eq(serviceCategories.id, serviceSubcategories.categoryId))
        .where(inArray(serviceSubcategories.id, ids));
      const terms = rows.flatMap((r) => [...Object.values(r.sub), ...Object.values(r.category)]);
      return [...new Set(terms.filter((t): t is string => typeof t === 'string' && t.length > 0))];
    },

    /**
     * The live subcategory ids of a category (empty when the category is unknown); cached like the rest of
     * the catalog, since the directory asks on every search by category.
     */
    subcategoryIdsOf(categoryId: string) {
      return remember(`subcategory-ids:${categoryId}`, async () =>
        (await liveSubcategories([categoryId])).map((s) => s.id),
      );
    },

    /** Which of these service area ids exist and are live. */
    async existingServiceAreaIds(ids: string[]) {
      if (ids.length === 0) return [];
      const rows = await db
        .select({ id: serviceAreas.id })
        .from(serviceAreas)
        .where(and(inArray(serviceAreas.id, ids), eq(serviceAreas.isDeleted, false)));
      return rows.map((r) => r.id);
    },

    async isActiveLanguage(code: string) {
      const [row] = await db
        .select({ id: languages.id })
        .from(languages)
        .where(and(eq(languages.code, code), eq(languages.isDeleted, false), eq(languages.isActive, true)));
      return row !== undefined;
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
      return db
        .select({
          key: systemSettings.key,
          value: systemSettings.value,
          description: systemSettings.description,
        })
        .from(systemSettings)
        .where(and(eq(systemSettings.isPublic, true), eq(systemSettings.isDeleted, false)))
        .orderBy(asc(systemSettings.key));
    },

    async checkAppVersion(platform: (typeof APP_PLATFORMS)[number], build: number, lang: LanguageCode) {
      const newer = await db
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
    },

    // Staff writes: the same five operations for every catalog model.

    async listEntity(entity: CatalogEntity, filter: PageRequest & { deleted: boolean }) {
      const t = tableColumns(entity.table);
      const page = idPages(`catalog.admin_${entity.label}`, t.id)(filter);
      const rows = (await db
        .select()
        .from(entity.table as PgTable)
        .where(and(eq(t.isDeleted, filter.deleted), page.where))
        .orderBy(page.orderBy)
        .limit(page.limit)) as ({ id: string } & Record<string, unknown>)[];
      return page.page(
        rows,
        (r) => r.id,
        (r) => r,
      );
    },

    async getEntity(entity: CatalogEntity, id: string) {
      return loadRow(db, entity, id, true);
    },

    async createEntity(actor: Actor, entity: CatalogEntity, values: Record<string, unknown>) {
      const row = await db.transaction(async (tx) => {
        await checkParent(tx, entity, values);
        const [created] = (await tx
          .insert(entity.table)
          .values(values as never)
          .returning()) as ({ id: string } & Record<string, unknown>)[];
        await writeAudit(tx, actor, [
          { action: 'create', entity: auditName(entity), entityId: created!.id, after: created },
        ]);
        return created!;
      });
      await invalidate();
      return row;
    },

    async updateEntity(actor: Actor, entity: CatalogEntity, id: string, changes: Record<string, unknown>) {
      const t = tableColumns(entity.table);
      const row = await db.transaction(async (tx) => {
        const [before] = (await tx
          .select()
          .from(entity.table as PgTable)
          .where(and(eq(t.id, id), eq(t.isDeleted, false)))
          .for('update')) as ({ id: string } & Record<string, unknown>)[];
        if (!before) throw new NotFoundError(entity.label);
        if (Object.keys(changes).length === 0) return before;
        await checkParent(tx, entity, changes);
        if (entity.parent && changes[entity.parent.column] === id) {
          throw new RuleViolationError('invalid_parent', `a ${entity.label} cannot be its own parent`);
        }
        const [after] = (await tx
          .update(entity.table)
          .set(changes as never)
          .where(eq(t.id, id))
          .returning()) as ({ id: string } & Record<string, unknown>)[];
        await writeAudit(tx, actor, [
          { action: 'update', entity: auditName(entity), entityId: id, before, after },
        ]);
        return after!;
      });
      await invalidate();
      return row;
    },

    async deleteEntity(actor: Actor, entity: CatalogEntity, id: string) {
      const result = await db.transaction(async (tx) => {
        const row = await loadRow(tx, entity, id);
        const deleted = await softDeletes.softDelete(tx, actor, entity.table, [id]);
        const kind = subcategoriesKind(entity);
        if (kind) {
          const held = await subcategoriesHeld(kind, row, deleted.deletionId);
          await tellOfSubcategories(actor, kind, 'deleted', row, deleted.deletionId, held);
        }
        return deleted;
      });
      await invalidate();
      return result;
    },

    async restoreEntity(actor: Actor, entity: CatalogEntity, id: string) {
      const result = await db.transaction(async (tx) => {
        const row = await loadRow(tx, entity, id, true);
        const kind = subcategoriesKind(entity);
        const deletionId = row.deletionId as string | null;
        // Read while they still hold the deletion's id, which the restore clears.
        const held = kind && deletionId ? await subcategoriesHeld(kind, row, deletionId) : [];
        const restored = await softDeletes.restore(tx, actor, entity.table, id, entity.label);
        if (kind && deletionId) await tellOfSubcategories(actor, kind, 'restored', row, deletionId, held);
        return restored;
      });
      await invalidate();
      return result;
    },

    /**
     * Each of these subcategories that exists, with the deletion that holds it deleted, or null while it is
     * live: for a module that keeps its own rows in step with the catalog's deletes and restores.
     */
    async subcategoryDeletions(ids: string[]): Promise<Map<string, string | null>> {
      if (ids.length === 0) return new Map();
      const rows = await db
        .select({
          id: serviceSubcategories.id,
          isDeleted: serviceSubcategories.isDeleted,
          deletionId: serviceSubcategories.deletionId,
        })
        .from(serviceSubcategories)
        .where(inArray(serviceSubcategories.id, ids));
      return new Map(rows.map((r) => [r.id, r.isDeleted ? r.deletionId : null]));
    },
  };

  /** The subcategories a deletion of a category or subcategory holds: the category's, or the one. */
  async function subcategoriesHeld(
    kind: 'category' | 'subcategory',
    row: { id: string },
    deletionId: string,
  ) {
    if (kind === 'subcategory') return [row.id];
    const rows = await db
      .select({ id: serviceSubcategories.id })
      .from(serviceSubcategories)
      .where(and(eq(serviceSubcategories.deletionId, deletionId), eq(serviceSubcategories.isDeleted, true)));
    return rows.map((r) => r.id);
  }

  /**
   * Tells of the subcategories a delete took or its restore brought back: the orders in them are another
   * module's, which hears of it and takes or brings back its own.
   */
  async function tellOfSubcategories(
    actor: Actor,
    kind: 'category' | 'subcategory',
    what: 'deleted' | 'restored',
    row: Record<string, unknown> & { id: string },
    deletionId: string,
    subcategoryIds: string[],
  ) {
    await events.emit({
      type: `${kind}_${what}`,
      category_id: kind === 'category' ? row.id : (row.categoryId as string),
      ...(kind === 'subcategory' && { subcategory_id: row.id }),
      deletion_id: deletionId,
      subcategory_ids: subcategoryIds,
      actor_id: actor.userId,
      request_id: actor.requestId,
      at: new Date().toISOString(),
    });
  }

  /** A page of the live, active rows of a public list, in staff's order (`sort_order`, then id). */
  async function offeredPage<T extends typeof serviceCategories | typeof serviceAreas>(
    table: T,
    cursor: ListCursor<[number, string]>,
    request: PageRequest,
  ) {
    const after = cursor.decode(request.cursor);
    const rows = (await db
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
      .limit(request.limit + 1)) as unknown as T['$inferSelect'][];
    return cursor.page(
      rows,
      request.limit,
      (row) => [row.sortOrder, row.id],
      (row) => row,
    );
  }

  /** A live, active subcategory of a live, active category, with that category: what the catalog offers. */
  async function offeredSubcategory(id: string) {
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

  async function liveSubcategories(categoryIds: string[]) {
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

  async function priceDefaults() {
    return {
      commissionRateBps: await getSettingValue('commission_rate_bps', 1500),
      minPrice: await getSettingValue(PRICE_SETTINGS.min.key, PRICE_SETTINGS.min.fallback),
      maxPrice: await getSettingValue(PRICE_SETTINGS.max.key, PRICE_SETTINGS.max.fallback),
    };
  }
}

type Category = typeof serviceCategories.$inferSelect;
type Subcategory = typeof serviceSubcategories.$inferSelect;

function publicSubcategory(s: Subcategory, lang: LanguageCode) {
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

function publicCategory(
  c: Category,
  lang: LanguageCode,
  defaults: { commissionRateBps: number; minPrice: number; maxPrice: number },
  subcategories: Subcategory[],
) {
  return {
    id: c.id,
    slug: c.slug,
    name: translate(c.name, lang) as string,
    description: translate(c.description, lang),
    icon: c.icon,
    color: c.color,
    sort_order: c.sortOrder,
    commission_rate_bps: c.commissionRateBps ?? defaults.commissionRateBps,
    min_price: c.minPrice ?? defaults.minPrice,
    max_price: c.maxPrice ?? defaults.maxPrice,
    subcategories: subcategories.map((s) => publicSubcategory(s, lang)),
  };
}
