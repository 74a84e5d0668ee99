import type { Actor } from '../../platform/actor.ts';
import { writeAudit } from '../../platform/audit/service.ts';
import type { FieldCipher } from '../../platform/crypto.ts';
import type { Db } from '../../platform/db.ts';
import {
  ConflictError,
  NotFoundError,
  onUniqueViolation,
  RuleViolationError,
} from '../../platform/errors.ts';
import type { LanguageCode } from '../../platform/i18n.ts';
import { idPages, type PageRequest, type PageResult } from '../../platform/pagination.ts';
import type { FileService } from '../../platform/storage/service.ts';
import { participantAccess } from './access.ts';
import type { ReportMessageInput, ReportView, ResolveReportInput } from './contract.ts';
import { TOMBSTONE } from './message-edits.ts';
import { messageInRoom, messagesBetween, takeNextChangeSeq, updateMessage } from './message-queries.ts';
import { messageViewer } from './message-views.ts';
import {
  insertReport,
  insertRestriction,
  lockReport,
  type ReportRow,
  reportById,
  reportsIn,
  updateReport,
} from './report-queries.ts';
import { lockRoom, participantOf, type RoomRow, roomById, updateRoom } from './room-queries.ts';
import { changeParticipant } from './room-service.ts';
import { chatReports } from './schema.ts';

/** Staff who review reports. */
export const REPORT_MODERATORS = ['admin', 'moderator'] as const;
const isReportModerator = (actor: Actor) =>
  actor.roles.some((r) => (REPORT_MODERATORS as readonly string[]).includes(r));

/** Messages shown on each side of a reported one. */
const CONTEXT = 5;
const reportPages = idPages('chat.reports', chatReports.id);
const reportNotFound = () => new NotFoundError('chat_report');

export type ReportService = ReturnType<typeof createReportService>;

/**
 * Reports: a participant reports a message of the room; moderators list what is pending with the message
 * and its context, review, and resolve (delete the message, mute its sender in the room, block them from
 * chat for some days) or dismiss; the reporter sees the status. Every step is audited.
 */
export function createReportService({
  db,
  cipher,
  files,
}: {
  db: Db;
  cipher: FieldCipher;
  files: Pick<FileService, 'attach'>;
}) {
  async function view(report: ReportRow, actor: Actor, language: LanguageCode): Promise<ReportView> {
    const moderating = isReportModerator(actor);
    const room = (await roomById(db, report.roomId)) as RoomRow;
    const show = messageViewer(cipher, room, { userId: actor.userId, language, moderating });
    const message = await messageInRoom(db, report.roomId, report.messageId);
    const context =
      moderating && message
        ? (
            await messagesBetween(
              db,
              report.roomId,
              Math.max(1, message.seq - CONTEXT),
              message.seq + CONTEXT,
            )
          ).reverse()
        : [];
    return {
      id: report.id,
      room_id: report.roomId,
      message_id: report.messageId,
      reporter_user_id: report.reporterUserId,
      reported_user_id: report.reportedUserId,
      reason: report.reason,
      description: report.description,
      evidence_file_ids: report.evidenceFileIds,
      status: report.status,
      action: report.action,
      resolution_note: report.resolutionNote,
      reviewed_at: report.reviewedAt?.toISOString() ?? null,
      created_at: report.createdAt.toISOString(),
      message: message ? show(message) : null,
      context: context.map(show),
    };
  }

  /** A report the caller may see: their own, or any for moderators; otherwise not found. */
  async function visible(actor: Actor, id: string) {
    const report = await reportById(db, id);
    if (!report || (!isReportModerator(actor) && report.reporterUserId !== actor.userId))
      throw reportNotFound();
    return report;
  }

  /** What a resolution does to the message, its sender's place in the room, or their chat as a whole. */
  async function carryOut(actor: Actor, report: ReportRow, input: ResolveReportInput, now: Date) {
    const sender = report.reportedUserId;
    if (input.action === 'delete_message') {
      const room = (await lockRoom(db, report.roomId)) as RoomRow;
      const message = await messageInRoom(db, room.id, report.messageId);
      if (message && !message.deletedAt) {
        const changeSeq = await takeNextChangeSeq(db, room.id);
        await updateMessage(db, message.id, {
          ...TOMBSTONE,
          deletedAt: now,
          deletedBy: 'moderator',
          changeSeq,
        });
        await writeAudit(db, actor, [
          {
            action: 'update',
            entity: 'chat_messages',
            entityId: message.id,
            before: { deletedAt: null },
            after: { deletedAt: now, deletedBy: 'moderator' },
          },
        ]);
      }
    } else if (input.action === 'mute_sender' && sender) {
      const place = await participantOf(db, report.roomId, sender);
      if (place) {
        const mutedUntil = new Date(now.getTime() + (input.mute_minutes ?? 60) * 60_000);
        await changeParticipant(db, actor, place, { mutedUntil });
      }
    } else if (input.action === 'block_sender' && sender) {
      const until = new Date(now.getTime() + (input.block_days ?? 7) * 86_400_000);
      const restriction = await insertRestriction(db, {
        userId: sender,
        until,
        reportId: report.id,
        createdByUserId: actor.userId,
      });
      await writeAudit(db, actor, [
        {
          action: 'create',
          entity: 'chat_restrictions',
          entityId: restriction?.id ?? report.id,
          after: restriction,
        },
      ]);
    }
  }

  return {
    async reportMessage(
      actor: Actor,
      roomId: string,
      messageId: string,
      input: ReportMessageInput,
      language: LanguageCode,
    ) {
      await participantAccess(db, actor, roomId);
      const message = await messageInRoom(db, roomId, messageId);
      if (!message) throw new NotFoundError('message');
      if (message.senderUserId === actor.userId) {
        throw new RuleViolationError('own_message', 'one does not report one’s own message');
      }
      const report = await db.transaction(async () => {
        const made = await onUniqueViolation(
          insertReport(db, {
            roomId,
            messageId,
            reporterUserId: actor.userId as string,
            reportedUserId: message.senderUserId,
            reason: input.reason,
            description: input.description ?? null,
            evidenceFileIds: input.evidence_file_ids ?? [],
          }),
          {
            chat_reports_message_reporter_uq: () =>
              new ConflictError('report_exists', 'you reported this message already'),
          },
        );
        if (input.evidence_file_ids?.length) {
          await files.attach(actor, input.evidence_file_ids, 'chat_attachment', {
            entity: 'chat_reports',
            id: made.id,
            field: 'evidence_file_ids',
          });
        }
        await writeAudit(db, actor, [
          { action: 'create', entity: 'chat_reports', entityId: made.id, after: made },
        ]);
        return made;
      });
      return view(report, actor, language);
    },

    async getReport(actor: Actor, id: string, language: LanguageCode) {
      return view(await visible(actor, id), actor, language);
    },

    async listReports(
      actor: Actor,
      filter: { status?: ReportRow['status'][] } & PageRequest,
      language: LanguageCode,
    ): Promise<PageResult<ReportView>> {
      const page = reportPages(filter, 'oldest');
      const rows = await reportsIn(db, filter.status ?? ['pending', 'under_review'], page);
      const result = page.page(
        rows,
        (r) => r.id,
        (r) => r,
      );
      const data: ReportView[] = [];
      for (const report of result.data) data.push(await view(report, actor, language));
      return { data, next_cursor: result.next_cursor };
    },

    /** Moderators slow a room down: each participant sends at most one message per `seconds` (0: off). */
    async setSlowMode(actor: Actor, roomId: string, seconds: number) {
      await db.transaction(async () => {
        const room = await lockRoom(db, roomId);
        if (!room) throw new NotFoundError('chat');
        await updateRoom(db, roomId, { slowModeSeconds: seconds });
        await writeAudit(db, actor, [
          {
            action: 'update',
            entity: 'chat_rooms',
            entityId: roomId,
            before: { slowModeSeconds: room.slowModeSeconds },
            after: { slowModeSeconds: seconds },
          },
        ]);
      });
      return { slow_mode_seconds: seconds };
    },

    async reviewReport(actor: Actor, id: string, language: LanguageCode) {
      const after = await db.transaction(async () => {
        const report = await lockReport(db, id);
        if (!report) throw reportNotFound();
        if (report.status !== 'pending') {
          throw new ConflictError(
            'report_not_pending',
            `the report is ${report.status.replaceAll('_', ' ')}`,
          );
        }
        const reviewed = await updateReport(db, id, {
          status: 'under_review',
          reviewedByUserId: actor.userId,
          reviewedAt: new Date(),
        });
        await writeAudit(db, actor, [
          { action: 'update', entity: 'chat_reports', entityId: id, before: report, after: reviewed },
        ]);
        return reviewed;
      });
      return view(after, actor, language);
    },

    async resolveReport(actor: Actor, id: string, input: ResolveReportInput, language: LanguageCode) {
      const after = await db.transaction(async () => {
        const report = await lockReport(db, id);
        if (!report) throw reportNotFound();
        if (report.status === 'resolved' || report.status === 'dismissed') {
          throw new ConflictError('report_decided', `the report is ${report.status} already`);
        }
        const now = new Date();
        await carryOut(actor, report, input, now);
        const decided = await updateReport(db, id, {
          status: input.action === 'dismiss' ? 'dismissed' : 'resolved',
          action: input.action,
          resolutionNote: input.note ?? null,
          reviewedByUserId: actor.userId,
          reviewedAt: now,
        });
        await writeAudit(db, actor, [
          { action: 'update', entity: 'chat_reports', entityId: id, before: report, after: decided },
        ]);
        return decided;
      });
      return view(after, actor, language);
    },
  };
}
