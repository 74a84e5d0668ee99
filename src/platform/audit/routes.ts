import { Type } from 'typebox';
import type { Db } from '../db.ts';
import type { RoutesPlugin } from '../http.ts';
import { decodeCursor, IdCursor, Page, PageParams, toPage } from '../pagination.ts';
import { AUDIT_ACTIONS } from './schema.ts';
import { listAudit } from './service.ts';

const AuditEntryResponse = Type.Object({
  id: Type.String({ format: 'uuid' }),
  created_at: Type.String({ format: 'date-time' }),
  actor_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], {
    description: 'Null for the system',
  }),
  action: Type.Enum(AUDIT_ACTIONS),
  entity: Type.String(),
  entity_id: Type.String({ format: 'uuid' }),
  changes: Type.Record(Type.String(), Type.Object({ before: Type.Unknown(), after: Type.Unknown() })),
  request_id: Type.Union([Type.String(), Type.Null()]),
});

export const auditRoutes: RoutesPlugin<{ db: Db }> = async (app, { db }) => {
  app.get(
    '/admin/audit',
    {
      config: { access: ['admin'] },
      schema: {
        tags: ['admin'],
        operationId: 'adminListAudit',
        summary: 'The audit trail, newest first, filtered by entity, id, actor, action and time',
        querystring: Type.Object({
          entity: Type.Optional(Type.String({ maxLength: 100 })),
          entity_id: Type.Optional(Type.String({ format: 'uuid' })),
          actor_id: Type.Optional(Type.String({ format: 'uuid' })),
          action: Type.Optional(Type.Enum(AUDIT_ACTIONS)),
          from: Type.Optional(Type.String({ format: 'date-time' })),
          to: Type.Optional(Type.String({ format: 'date-time' })),
          ...PageParams,
        }),
        response: { 200: Page(AuditEntryResponse) },
      },
    },
    async (request) => {
      const q = request.query;
      const after = decodeCursor(q.cursor, IdCursor);
      const rows = await listAudit(
        db,
        {
          entity: q.entity,
          entityId: q.entity_id,
          actorId: q.actor_id,
          action: q.action,
          from: q.from,
          to: q.to,
        },
        { limit: q.limit, after: after?.[0] },
      );
      return toPage(
        rows,
        q.limit,
        (r) => [r.id],
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
    },
  );
};
