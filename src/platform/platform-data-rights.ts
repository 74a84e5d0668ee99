import { and, desc, eq, isNotNull, sql } from 'drizzle-orm';
import { Type } from 'typebox';
import { auditLog } from './audit/schema.ts';
import { listAudit } from './audit/service.ts';
import { defineDataRights, EXPORT_LIMIT } from './data-rights.ts';
import type { Db } from './db.ts';
import { idempotencyKeys } from './idempotency/schema.ts';
import { Component, Ref } from './schemas.ts';
import { searchWords } from './search/schema.ts';
import { FileResponse } from './storage/routes.ts';
import { fileAttachments, files } from './storage/schema.ts';
import { type FileService, fileView } from './storage/service.ts';

const ActivityEntry = Component(
  'ExportedActivity',
  Type.Object({
    created_at: Type.String({ format: 'date-time' }),
    action: Type.String(),
    entity: Type.String(),
    entity_id: Type.String({ format: 'uuid' }),
    changes: Type.Record(Type.String(), Type.Object({ before: Type.Unknown(), after: Type.Unknown() })),
  }),
);

const PlatformSection = Component(
  'PlatformExport',
  Type.Object({
    activity: Type.Array(Ref(ActivityEntry), {
      description: 'The audit trail of the changes the person made, newest first',
    }),
    files: Type.Array(Ref(FileResponse), { description: 'The files the person uploaded, newest first' }),
  }),
);

const auditOf = (userId: string) => eq(auditLog.actorId, userId);
const filesOf = (userId: string) => eq(files.ownerId, userId);
const storedAnswersOf = (userId: string) => eq(idempotencyKeys.scope, userId);

/**
 * The platform's own tables: the audit trail, uploads and what refers to them, stored answers to retried
 * requests, search words. Registered last: the modules have cleared their references to the person's files
 * by the time the files go.
 */
export function platformDataRights({
  db,
  files: fileService,
}: {
  db: Db;
  files: Pick<FileService, 'eraseOwnedBy'>;
}) {
  return defineDataRights({
    module: 'platform',
    section: PlatformSection,
    tables: [
      {
        table: auditLog,
        rowsOf: auditOf,
        export: ['activity'],
        erasure: {
          action: 'anonymise',
          detail:
            'every change recorded about a row the erasure settled keeps its fields and time, but its values become "[erased]"; who did what and when stays',
        },
        archived: false,
      },
      {
        table: files,
        rowsOf: filesOf,
        export: ['files'],
        erasure: {
          action: 'delete',
          detail:
            'every file the person uploaded (profile photo, verification and dispute evidence, order and completion photos): the row with its original name, and the bytes in storage a moment later; no one can download them from the erasure on',
        },
        archived: false,
      },
      {
        table: fileAttachments,
        rowsOf: (userId) =>
          sql`${fileAttachments.fileId} in (select ${files.id} from ${files} where ${filesOf(userId)})`,
        export: {
          omitted: 'which rows refer to the person’s files: those rows are in their modules’ sections',
        },
        erasure: { action: 'delete', detail: 'with the files' },
        archived: false,
      },
      {
        table: idempotencyKeys,
        rowsOf: storedAnswersOf,
        export: { omitted: 'stored answers for retried requests: what they hold is in the other sections' },
        erasure: { action: 'delete', detail: 'every answer stored for the person’s requests' },
        retention: { setting: 'idempotency_key_retention_days', days: 0, after: idempotencyKeys.expiresAt },
        archived: false,
      },
      {
        table: searchWords,
        export: { omitted: 'the vocabulary of published texts: words, not rows about anyone' },
        erasure: {
          action: 'delete',
          detail:
            'a word of the person’s texts that no other text holds is dropped by the module that erases the text (users: provider profiles)',
        },
        archived: false,
      },
    ],

    async export({ userId }) {
      const activity = await listAudit(db, { actorId: userId }, { limit: EXPORT_LIMIT });
      const uploads = await db
        .select()
        .from(files)
        .where(filesOf(userId))
        .orderBy(desc(files.id))
        .limit(EXPORT_LIMIT);
      return {
        activity: activity.slice(0, EXPORT_LIMIT).map((a) => ({
          created_at: a.createdAt.toISOString(),
          action: a.action,
          entity: a.entity,
          entity_id: a.entityId,
          changes: a.changes,
        })),
        files: uploads.map(fileView),
      };
    },

    async erase({ userId }, erasure) {
      // The upload's own trail holds no name (the file service records none); its values go all the same.
      erasure.forget(await fileService.eraseOwnedBy(userId));
      // The request being answered, when it carries a key, holds its own row until it commits: not yet an answer.
      await db
        .delete(idempotencyKeys)
        .where(and(storedAnswersOf(userId), isNotNull(idempotencyKeys.statusCode)));
    },
  });
}
