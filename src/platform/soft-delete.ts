import { and, eq, getTableName, inArray, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Actor } from './actor.ts';
import { type AuditEntry, writeAudit } from './audit/service.ts';
import { newId } from './columns.ts';
import type { Db } from './db.ts';
import { ConflictError, NotFoundError } from './errors.ts';

type SoftDeleteTable = PgTable & {
  id: PgColumn;
  isDeleted: PgColumn;
  deletedAt: PgColumn;
  restoredAt: PgColumn;
  deletionId: PgColumn;
};

/** An edge of the cascade: soft-deleting a `parent` row soft-deletes the live `child` rows that point at it. */
export interface Cascade {
  parent: SoftDeleteTable;
  child: SoftDeleteTable;
  /** The child's column that points at the parent's id. */
  foreignKey: PgColumn;
  /** Only children that match this are taken (e.g. orders still open). */
  only?: SQL;
}

/**
 * Declares a cascade between two tables of one module, which the module lists beside its schema and app.ts
 * hands to `createSoftDeletes`. A module's delete reaching another module's rows is that module's business:
 * it hears of the delete by an event (ARCHITECTURE.md, "What the platform knows").
 */
export const cascade = (
  parent: SoftDeleteTable,
  child: SoftDeleteTable,
  foreignKey: PgColumn,
  only?: SQL,
): Cascade => ({ parent, child, foreignKey, only });

const entityOf = (table: PgTable) => getTableName(table);

export interface SoftDeleteResult {
  deletionId: string;
  /** Rows taken per table, the root included. */
  counts: Record<string, number>;
}

export type SoftDeletes = ReturnType<typeof createSoftDeletes>;

/**
 * Soft delete and restore over the cascades the modules declared (`cascade`), handed over in app.ts: the
 * platform knows no table but those.
 */
export function createSoftDeletes(declared: Cascade[]) {
  const children = new Map<PgTable, Cascade[]>();
  const parents = new Map<PgTable, Cascade[]>();
  for (const edge of declared) {
    children.set(edge.parent, [...(children.get(edge.parent) ?? []), edge]);
    parents.set(edge.child, [...(parents.get(edge.child) ?? []), edge]);
  }

  /** Every table a cascade from `root` can reach, the root first. */
  function reachable(root: SoftDeleteTable): SoftDeleteTable[] {
    const seen = new Set<SoftDeleteTable>([root]);
    const queue = [root];
    for (let t = queue.shift(); t; t = queue.shift()) {
      for (const edge of children.get(t) ?? []) {
        if (!seen.has(edge.child)) {
          seen.add(edge.child);
          queue.push(edge.child);
        }
      }
    }
    return [...seen];
  }

  /**
   * Brings back every row that the deletion `deletionId` took in the tables a cascade from `root` reaches,
   * and no other: rows deleted earlier on their own keep their own deletion id.
   */
  async function restoreDeletion(tx: Db, actor: Actor, root: SoftDeleteTable, deletionId: string) {
    const counts: Record<string, number> = {};
    const audit: AuditEntry[] = [];
    const now = new Date();
    for (const t of reachable(root)) {
      const back = (await tx
        .update(t)
        .set({ isDeleted: false, restoredAt: now, deletionId: null } as Record<string, unknown>)
        .where(eq(t.deletionId, deletionId))
        .returning({ id: t.id })) as { id: string }[];
      if (back.length === 0) continue;
      const entity = entityOf(t);
      counts[entity] = back.length;
      for (const r of back) {
        audit.push({
          action: 'restore',
          entity,
          entityId: r.id,
          before: { isDeleted: true, deletionId },
          after: { isDeleted: false, deletionId: null },
        });
      }
    }
    await writeAudit(tx, actor, audit);
    return { counts };
  }

  return {
    /**
     * Soft-deletes live rows and, level by level, their live descendants, all under one deletion id: a new
     * one, or `deletionId` when the deletion continues another (a module taking its rows with a deletion it
     * heard of), so that the one restore brings back both.
     */
    async softDelete(
      tx: Db,
      actor: Actor,
      table: SoftDeleteTable,
      ids: string[],
      options: { deletionId?: string } = {},
    ): Promise<SoftDeleteResult> {
      const deletionId = options.deletionId ?? newId();
      const counts: Record<string, number> = {};
      if (ids.length === 0) return { deletionId, counts };
      const audit: AuditEntry[] = [];
      const now = new Date();
      const marks = { isDeleted: true, deletedAt: now, deletionId } as Record<string, unknown>;

      let level: { table: SoftDeleteTable; where: ReturnType<typeof and> }[] = [
        { table, where: and(inArray(table.id, ids), eq(table.isDeleted, false)) },
      ];
      while (level.length > 0) {
        const next: typeof level = [];
        for (const step of level) {
          const taken = (await tx
            .update(step.table)
            .set(marks)
            .where(step.where)
            .returning({ id: step.table.id })) as { id: string }[];
          if (taken.length === 0) continue;
          const entity = entityOf(step.table);
          counts[entity] = (counts[entity] ?? 0) + taken.length;
          for (const row of taken) {
            audit.push({
              action: 'soft_delete',
              entity,
              entityId: row.id,
              before: { isDeleted: false, deletionId: null },
              after: { isDeleted: true, deletionId },
            });
          }
          const takenIds = taken.map((r) => r.id);
          for (const edge of children.get(step.table) ?? []) {
            next.push({
              table: edge.child,
              where: and(inArray(edge.foreignKey, takenIds), eq(edge.child.isDeleted, false), edge.only),
            });
          }
        }
        level = next;
      }
      await writeAudit(tx, actor, audit);
      return { deletionId, counts };
    },

    /**
     * Restores one soft-deleted row and exactly the rows its deletion took with it; children deleted earlier
     * on their own keep their own deletion id and stay deleted. Refused while a parent it cascades from (in
     * its own module) is deleted: the module checks a parent in another module itself.
     */
    async restore(tx: Db, actor: Actor, table: SoftDeleteTable, id: string, entityLabel: string) {
      const [row] = (await tx
        .select({ isDeleted: table.isDeleted, deletionId: table.deletionId })
        .from(table as PgTable)
        .where(eq(table.id, id))
        .for('update')) as { isDeleted: boolean; deletionId: string | null }[];
      if (!row) throw new NotFoundError(entityLabel);
      if (!row.isDeleted || !row.deletionId)
        throw new ConflictError('not_deleted', `the ${entityLabel.replaceAll('_', ' ')} is not deleted`);

      for (const { parent, foreignKey } of parents.get(table) ?? []) {
        const [ref] = (await tx
          .select({ parentId: foreignKey })
          .from(table as PgTable)
          .where(eq(table.id, id))) as { parentId: string | null }[];
        if (!ref?.parentId) continue;
        const [owner] = (await tx
          .select({ isDeleted: parent.isDeleted })
          .from(parent as PgTable)
          .where(eq(parent.id, ref.parentId))) as { isDeleted: boolean }[];
        if (owner?.isDeleted) throw parentDeleted(entityOf(parent));
      }
      return restoreDeletion(tx, actor, table, row.deletionId);
    },

    restoreDeletion,
  };
}

/** A restore refused because the row's parent, in `parentTable`, is deleted. */
export const parentDeleted = (parentTable: string) =>
  new ConflictError('parent_deleted', `restore the ${parentTable.replaceAll('_', ' ')} first`);
