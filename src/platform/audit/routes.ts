import { Type } from 'typebox';
import type { Db } from '../db.ts';
import type { RoutesPlugin } from '../http.ts';
import { ListQuery, Page } from '../pagination.ts';
import { Component, Ref } from '../schemas.ts';
import { AUDIT_ACTIONS } from './schema.ts';
import { pageAudit } from './service.ts';

const AuditEntryResponse = Component(
  'AuditEntry',
  Type.Object({
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
  }),
);

const AuditEntryPage = Page('AuditEntryPage', AuditEntryResponse);

export const auditRoutes: RoutesPlugin<{ db: Db }> = async (app, { db }) => {
  app.get(
    '/admin/audit',
    {
      config: { access: ['admin'] },
      schema: {
        tags: ['admin'],
        operationId: 'adminListAudit',
        summary: 'The audit trail, newest first, filtered by entity, id, actor, action and time',
        description:
          'Every change staff and users made to audited records, with the fields it changed (before and after), newest first, a page at a time. Admins only.',
        querystring: ListQuery({
          entity: Type.Optional(Type.String({ maxLength: 100 })),
          entity_id: Type.Optional(Type.String({ format: 'uuid' })),
          actor_id: Type.Optional(Type.String({ format: 'uuid' })),
          action: Type.Optional(Type.Enum(AUDIT_ACTIONS)),
          from: Type.Optional(Type.String({ format: 'date-time' })),
          to: Type.Optional(Type.String({ format: 'date-time' })),
        }),
        response: { 200: Ref(AuditEntryPage) },
      },
    },
    async (request) => {
      const { entity_id, actor_id, ...q } = request.query;
      return pageAudit(db, { ...q, entityId: entity_id, actorId: actor_id });
    },
  );
};
