import { and, desc, eq, getTableColumns, gte, inArray, lte, type SQL, sql } from 'drizzle-orm';
import { type PgTable, PgTimestamp } from 'drizzle-orm/pg-core';
import type { Actor } from '../actor.ts';
import { isoTimestamp } from '../columns.ts';
import type { Db } from '../db.ts';
import { idPages, type PageRequest } from '../pagination.ts';
import { type AuditAction, auditLog } from './schema.ts';

export interface AuditEntry {
  action: AuditAction;
  entity: string;
  entityId: string;
  before?: object | null;
  after?: object | null;
}

const SECRET_FIELD = /hash|secret|password|token|encrypted|_enc$|Enc$/i;
const IGNORED_FIELDS = new Set(['updatedAt', 'updated_at']);

const snakeCase = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function comparable(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (value === undefined) return null;
  return value;
}

/** The fields that differ between two versions of a row; secrets show that they changed, never their value. */
export function diffFields(before: object | null | undefined, after: object | null | undefined) {
  const b = (before ?? {}) as Record<string, unknown>;
  const a = (after ?? {}) as Record<string, unknown>;
  const changes: Record<string, { before: unknown; after: unknown }> = {};
  for (const key of new Set([...Object.keys(b), ...Object.keys(a)])) {
    if (IGNORED_FIELDS.has(key)) continue;
    const was = comparable(b[key]);
    const now = comparable(a[key]);
    if (JSON.stringify(was) === JSON.stringify(now)) continue;
    const secret = SECRET_FIELD.test(key);
    changes[snakeCase(key)] = {
      before: secret && was !== null ? '[redacted]' : was,
      after: secret && now !== null ? '[redacted]' : now,
    };
  }
  return changes;
}

/** Called inside the transaction that makes the change, so the trail and the change commit together. */
export async function writeAudit(tx: Db, actor: Actor, entries: AuditEntry[]) {
  if (entries.length === 0) return;
  await tx.insert(auditLog).values(
    entries.map((e) => ({
      actorId: actor.userId,
      action: e.action,
      entity: e.entity,
      entityId: e.entityId,
      changes: diffFields(e.before, e.after),
      requestId: actor.requestId,
    })),
  );
}

/**
 * writeAudit for statements that change rows in SQL: `entries` selects (id, action, entity, entity_id,
 * changes) for each row to record, the changes made with `auditChangesSql`.
 */
export function insertAuditSql(actor: { actorId: SQL; requestId: SQL }, entries: SQL) {
  return sql`insert into ${auditLog} (id, actor_id, action, entity, entity_id, changes, request_id)
    select e.id, ${actor.actorId}, e.action, e.entity, e.entity_id, e.changes, ${actor.requestId}
    from (${entries}) e (id, action, entity, entity_id, changes)`;
}

/**
 * diffFields in SQL, between two versions of a `table` row that the statement names `before` and `after`
 * (aliases; no `before` for a new row): the same keys and values as from the rows Drizzle would return
 * (every timestamp column is timestamptz here). Every field is built and the unchanged ones removed in one
 * pass: a set-returning diff (jsonb_each, a join and an aggregate) cost several times as much per row.
 */
export function auditChangesSql<T extends PgTable>(
  table: T,
  before: string | null,
  after: string,
  /**
   * The only columns the statement can change, when it changes few of a wide row: the rest are equal by
   * construction, and every column costs the statement an expression to set up on each run.
   */
  only?: (keyof T['_']['columns'])[],
) {
  const fields: SQL[] = [];
  const unchanged: SQL[] = [];
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    if (IGNORED_FIELDS.has(key) || (only && !only.includes(key))) continue;
    const name = sql.raw(`'${snakeCase(key)}'`);
    const ref = (alias: string) => sql`${sql.identifier(alias)}.${sql.identifier(column.name)}`;
    const value = (alias: string) => (column instanceof PgTimestamp ? isoTimestamp(ref(alias)) : ref(alias));
    const shown = (v: SQL) =>
      SECRET_FIELD.test(key) ? sql`case when ${v} is null then null else '[redacted]' end` : v;
    const now = value(after);
    const was = before ? value(before) : sql`null`;
    fields.push(name, sql`jsonb_build_object('before', ${shown(was)}, 'after', ${shown(now)})`);
    unchanged.push(
      before
        ? sql`case when ${was} is not distinct from ${now} then ${name} end`
        : sql`case when ${ref(after)} is null then ${name} end`,
    );
  }
  return sql`(jsonb_build_object(${sql.join(fields, sql`, `)}) - array[${sql.join(unchanged, sql`, `)}]::text[])`;
}

export interface AuditFilter {
  entity?: string;
  entityId?: string;
  actorId?: string;
  action?: AuditAction;
  from?: string;
  to?: string;
}

const auditConditions = (filter: AuditFilter) => [
  filter.entity ? eq(auditLog.entity, filter.entity) : undefined,
  filter.entityId ? eq(auditLog.entityId, filter.entityId) : undefined,
  filter.actorId ? eq(auditLog.actorId, filter.actorId) : undefined,
  filter.action ? eq(auditLog.action, filter.action) : undefined,
  filter.from ? gte(auditLog.createdAt, new Date(filter.from)) : undefined,
  filter.to ? lte(auditLog.createdAt, new Date(filter.to)) : undefined,
];

/** The entries newest first: `limit` of them and one more, which tells the caller whether more are left. */
export async function listAudit(db: Db, filter: AuditFilter, page: { limit: number }) {
  return db
    .select()
    .from(auditLog)
    .where(and(...auditConditions(filter)))
    .orderBy(desc(auditLog.id))
    .limit(page.limit + 1);
}

const auditPages = idPages('audit.entries', auditLog.id);

/** Staff's view of the trail, newest first, a page at a time. */
export async function pageAudit(db: Db, filter: AuditFilter & PageRequest) {
  const page = auditPages(filter);
  const rows = await db
    .select()
    .from(auditLog)
    .where(and(...auditConditions(filter), page.where))
    .orderBy(page.orderBy)
    .limit(page.limit);
  return page.page(
    rows,
    (r) => r.id,
    (r) => ({
      id: r.id,
      created_at: r.createdAt.toISOString(),
      actor_id: r.actorId,
      action: r.action,
      entity: r.entity,
      entity_id: r.entityId,
      changes: r.changes,
      request_id: r.requestId,
    }),
  );
}

/**
 * For erasure of personal data: the rows about these entities keep which fields changed and when,
 * but their values are replaced.
 */
export async function eraseAuditValues(tx: Db, entityIds: string[]) {
  if (entityIds.length === 0) return;
  await tx
    .update(auditLog)
    .set({
      changes: sql`coalesce((select jsonb_object_agg(key, '{"before":"[erased]","after":"[erased]"}'::jsonb) from jsonb_each(${auditLog.changes})), '{}'::jsonb)`,
    })
    .where(inArray(auditLog.entityId, entityIds));
}
