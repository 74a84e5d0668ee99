import { index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { newId } from '../columns.ts';

export const AUDIT_ACTIONS = ['create', 'update', 'soft_delete', 'restore', 'delete'] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Append-only: rows are never updated, so there is no updated_at. */
export const auditLog = pgTable(
  'audit_log',
  {
    id: uuid('id').primaryKey().$defaultFn(newId),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    actorId: uuid('actor_id'),
    action: text('action', { enum: AUDIT_ACTIONS }).notNull(),
    entity: text('entity').notNull(),
    entityId: uuid('entity_id').notNull(),
    /** `{ field: { before, after } }` for the fields that changed. */
    changes: jsonb('changes').$type<Record<string, { before: unknown; after: unknown }>>().notNull(),
    requestId: text('request_id'),
  },
  (t) => [
    index('audit_log_entity_idx').on(t.entity, t.entityId, t.id),
    index('audit_log_actor_idx').on(t.actorId, t.id),
    index('audit_log_created_at_idx').on(t.createdAt),
  ],
);
