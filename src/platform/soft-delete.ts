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

interface CascadeEdge {
  child: SoftDeleteTable;
  /** The child's column that points at the parent's id. */
  foreignKey: PgColumn;
  /** Only children that match this are taken (e.g. orders still open). */
  only?: SQL;
}

const cascades = new Map<PgTable, CascadeEdge[]>();
const parents = new Map<PgTable, { parent: SoftDeleteTable; foreignKey: PgColumn }[]>();

/**
 * Declares that soft-deleting a `parent` row soft-deletes the live `child` rows that point at it.
 * A module declares the edges into its own tables beside its schema, so no module has to know who depends on it.
 */
export function cascadeSoftDelete(
  parent: SoftDeleteTable,
  child: SoftDeleteTable,
  foreignKey: PgColumn,
  only?: SQL,
) {
  cascades.set(parent, [...(cascades.get(parent) ?? []), { child, foreignKey, only }]);
  parents.set(child, [...(parents.get(child) ?? []), { parent, foreignKey }]);
}

const entityOf = (table: PgTable) => getTableName(table);

export interface SoftDeleteResult {
  deletionId: string;
  /** Rows taken per table, the root included. */
  counts: Record<string, number>;
}

/** Soft-deletes live rows and, level by level, their live descendants, all under one deletion id. */
export async function softDelete(
  tx: Db,
  actor: Actor,
  table: SoftDeleteTable,
  ids: string[],
): Promise<SoftDeleteResult> {
  const deletionId = newId();
  const counts: Record<string, number> = {};
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
      for (const edge of cascades.get(step.table) ?? []) {
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
}

/** Every table a cascade from `root` can reach, the root first. */
function reachable(root: SoftDeleteTable): SoftDeleteTable[] {
  const seen = new Set<SoftDeleteTable>([root]);
  const queue = [root];
  for (let t = queue.shift(); t; t = queue.shift()) {
    for (const edge of cascades.get(t) ?? []) {
      if (!seen.has(edge.child)) {
        seen.add(edge.child);
        queue.push(edge.child);
      }
    }
  }
  return [...seen];
}

/**
 * Restores one soft-deleted row and exactly the rows its deletion took with it;
 * children deleted earlier on their own keep their own deletion id and stay deleted.
 */
export async function restore(tx: Db, actor: Actor, table: SoftDeleteTable, id: string, entityLabel: string) {
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
    if (owner?.isDeleted) {
      throw new ConflictError('parent_deleted', `restore the ${entityOf(parent).replaceAll('_', ' ')} first`);
    }
  }

  const counts: Record<string, number> = {};
  const audit: AuditEntry[] = [];
  const now = new Date();
  for (const t of reachable(table)) {
    const back = (await tx
      .update(t)
      .set({ isDeleted: false, restoredAt: now, deletionId: null } as Record<string, unknown>)
      .where(eq(t.deletionId, row.deletionId))
      .returning({ id: t.id })) as { id: string }[];
    if (back.length === 0) continue;
    const entity = entityOf(t);
    counts[entity] = back.length;
    for (const r of back) {
      audit.push({
        action: 'restore',
        entity,
        entityId: r.id,
        before: { isDeleted: true, deletionId: row.deletionId },
        after: { isDeleted: false, deletionId: null },
      });
    }
  }
  await writeAudit(tx, actor, audit);
  return { counts };
}
