import { Type } from 'typebox';
import type { Db } from '../db.ts';
import type { RoutesPlugin } from '../http.ts';
import { ListQuery, Page } from '../pagination.ts';
import { AUDIT_ACTIONS } from './schema.ts';
import { pageAudit } from './service.ts';

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
        querystring: ListQuery({
          entity: Type.Optional(Type.String({ maxLength: 100 })),
          entity_id: Type.Optional(Type.String({ format: 'uuid' })),
          actor_id: Type.Optional(Type.String({ format: 'uuid' })),
          action: Type.Optional(Type.Enum(AUDIT_ACTIONS)),
          from: Type.Optional(Type.String({ format: 'date-time' })),
          to: Type.Optional(Type.String({ format: 'date-time' })),
        }),
        response: { 200: Page(AuditEntryResponse) },
      },
    },
    async (request) => {
      const { entity_id, actor_id, ...q } = request.query;
      return pageAudit(db, { ...q, entityId: entity_id, actorId: actor_id });
    },
  );
};
