import { getTableName } from 'drizzle-orm';
import type { Actor } from '../../platform/actor.ts';
import { writeAudit } from '../../platform/audit/service.ts';
import type { Db } from '../../platform/db.ts';
import { NotFoundError, RuleViolationError } from '../../platform/errors.ts';
import { idPages, type PageRequest } from '../../platform/pagination.ts';
import type { SoftDeletes } from '../../platform/soft-delete.ts';
import type { CatalogCache } from './catalog-cache.ts';
import { type CatalogEntity, type CatalogRow, subcategoriesKind, tableColumns } from './catalog-entities.ts';
import {
  catalogRow,
  catalogRows,
  insertCatalogRow,
  isLiveRow,
  subcategoryIdsHeldBy,
  updateCatalogRow,
} from './catalog-queries.ts';
import type { CatalogEvents } from './events.ts';

const auditName = (entity: CatalogEntity) => getTableName(entity.table);

/** Staff writes: the same five operations for every catalog model; each write empties the public cache. */
export function createCatalogAdmin({
  db,
  softDeletes,
  events,
  cache,
}: {
  db: Db;
  softDeletes: SoftDeletes;
  events: CatalogEvents;
  cache: Pick<CatalogCache, 'invalidate'>;
}) {
  async function loadRow(tx: Db, entity: CatalogEntity, id: string, includeDeleted = false) {
    const row = await catalogRow(tx, entity.table, id, { includeDeleted });
    if (!row) throw new NotFoundError(entity.label);
    return row;
  }

  async function checkParent(tx: Db, entity: CatalogEntity, values: Record<string, unknown>) {
    const parent = entity.parent;
    const parentId = parent ? values[parent.column] : undefined;
    if (!parent || parentId === undefined || parentId === null) return;
    if (!(await isLiveRow(tx, parent.table, parentId as string))) {
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

  /** The subcategories a deletion of a category or subcategory holds: the category's, or the one. */
  async function subcategoriesHeld(
    kind: 'category' | 'subcategory',
    row: { id: string },
    deletionId: string,
  ) {
    return kind === 'subcategory' ? [row.id] : subcategoryIdsHeldBy(db, deletionId);
  }

  /**
   * Tells of the subcategories a delete took or its restore brought back: the orders in them are another
   * module's, which hears of it and takes or brings back its own.
   */
  async function tellOfSubcategories(
    actor: Actor,
    kind: 'category' | 'subcategory',
    what: 'deleted' | 'restored',
    row: CatalogRow,
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

  return {
    async listEntity(entity: CatalogEntity, filter: PageRequest & { deleted: boolean }) {
      const page = idPages(`catalog.admin_${entity.label}`, tableColumns(entity.table).id)(filter);
      const rows = await catalogRows(db, entity.table, page, filter.deleted);
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
        const created = await insertCatalogRow(tx, entity.table, values);
        await writeAudit(tx, actor, [
          { action: 'create', entity: auditName(entity), entityId: created.id, after: created },
        ]);
        return created;
      });
      await cache.invalidate();
      return row;
    },

    async updateEntity(actor: Actor, entity: CatalogEntity, id: string, changes: Record<string, unknown>) {
      const row = await db.transaction(async (tx) => {
        const before = await catalogRow(tx, entity.table, id, { forUpdate: true });
        if (!before) throw new NotFoundError(entity.label);
        if (Object.keys(changes).length === 0) return before;
        await checkParent(tx, entity, changes);
        if (entity.parent && changes[entity.parent.column] === id) {
          throw new RuleViolationError('invalid_parent', `a ${entity.label} cannot be its own parent`);
        }
        const after = await updateCatalogRow(tx, entity.table, id, changes);
        await writeAudit(tx, actor, [
          { action: 'update', entity: auditName(entity), entityId: id, before, after },
        ]);
        return after;
      });
      await cache.invalidate();
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
      await cache.invalidate();
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
      await cache.invalidate();
      return result;
    },
  };
}
