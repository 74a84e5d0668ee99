import { and, desc, eq, isNull, or, sql } from 'drizzle-orm';
import { Type } from 'typebox';
import type { FieldCipher } from '../../platform/crypto.ts';
import { defineDataRights, EXPORT_LIMIT } from '../../platform/data-rights.ts';
import type { Db } from '../../platform/db.ts';
import { Nullable } from '../../platform/http.ts';
import { Component, DateTime, Ref, Uuid } from '../../platform/schemas.ts';
import { CHAT_TYPES, MESSAGE_TYPES, PARTICIPANT_ROLES, REPORT_REASONS, REPORT_STATUSES } from './enums.ts';
import { takeNextChangeSeq } from './message-queries.ts';
import { chatMessages, chatParticipants, chatReports, chatRestrictions, chatRooms } from './schema.ts';

const ExportedRoom = Component(
  'ExportedChatRoom',
  Type.Object({ id: Uuid, type: Type.Enum(CHAT_TYPES), order_id: Nullable(Uuid), created_at: DateTime }),
);
const ExportedParticipation = Component(
  'ExportedChatParticipation',
  Type.Object({
    room_id: Uuid,
    role: Type.Enum(PARTICIPANT_ROLES),
    joined_at: DateTime,
    left_at: Nullable(DateTime),
    last_read_seq: Type.Integer(),
  }),
);
const ExportedMessage = Component(
  'ExportedChatMessage',
  Type.Object({
    id: Uuid,
    room_id: Uuid,
    seq: Type.Integer(),
    type: Type.Enum(MESSAGE_TYPES),
    content: Nullable(Type.String()),
    attachment_names: Type.Array(Nullable(Type.String())),
    created_at: DateTime,
    edited_at: Nullable(DateTime),
    deleted_at: Nullable(DateTime),
  }),
);
const ExportedReport = Component(
  'ExportedChatReport',
  Type.Object({
    id: Uuid,
    message_id: Uuid,
    reason: Type.Enum(REPORT_REASONS),
    description: Nullable(Type.String()),
    status: Type.Enum(REPORT_STATUSES),
    created_at: DateTime,
  }),
);
const ExportedRestriction = Component(
  'ExportedChatRestriction',
  Type.Object({ until: DateTime, created_at: DateTime }),
);

const ChatSection = Component(
  'ChatExport',
  Type.Object({
    rooms: Type.Array(Ref(ExportedRoom), {
      description: 'The order, support and direct chats the person opened or was a party to',
    }),
    participations: Type.Array(Ref(ExportedParticipation), { description: 'Their place in each chat' }),
    messages: Type.Array(Ref(ExportedMessage), { description: 'Every message they sent, newest first' }),
    reports: Type.Array(Ref(ExportedReport), { description: 'The reports they made' }),
    restrictions: Type.Array(Ref(ExportedRestriction), {
      description: 'When moderators kept them out of chat',
    }),
  }),
);

const roomsOf = (userId: string) =>
  or(
    eq(chatRooms.clientUserId, userId),
    eq(chatRooms.providerUserId, userId),
    eq(chatRooms.requesterUserId, userId),
  ) as ReturnType<typeof eq>;
const participationsOf = (userId: string) => eq(chatParticipants.userId, userId);
const messagesOf = (userId: string) => eq(chatMessages.senderUserId, userId);
const reportsOf = (userId: string) =>
  or(eq(chatReports.reporterUserId, userId), eq(chatReports.reportedUserId, userId)) as ReturnType<typeof eq>;
const restrictionsOf = (userId: string) => eq(chatRestrictions.userId, userId);

/**
 * Past its retention a message's text goes and its row stays (DECISIONS.md: chat text is never archived):
 * the content and attachment names are cleared, `text_expired_at` says when.
 */
function expireTexts(cutoff: ReturnType<typeof sql>, limit: ReturnType<typeof sql>) {
  return sql`update ${chatMessages} set content_encrypted = null, attachment_names_encrypted = null,
      attachments = '[]'::jsonb, text_expired_at = now()
    where ${chatMessages.id} in (
      select id from ${chatMessages}
      where ${chatMessages.createdAt} < ${cutoff} and text_expired_at is null and deleted_at is null
        and (content_encrypted is not null or attachment_names_encrypted is not null
             or attachments <> '[]'::jsonb)
      limit ${limit})
    returning 1`;
}

/**
 * The chat module's tables. An erased person's messages become tombstones in place (their seq stays, so the
 * other party's history has no hole) and the other party's messages stay; their place in each room is left.
 */
export function chatDataRights({ db, cipher }: { db: Db; cipher: Pick<FieldCipher, 'decrypt'> }) {
  return defineDataRights({
    module: 'chat',
    section: ChatSection,
    tables: [
      {
        table: chatRooms,
        rowsOf: roomsOf,
        export: ['rooms'],
        erasure: {
          action: 'keep',
          detail: 'the room stays for the other party; its user ids name no one once the account is erased',
        },
        archived: false,
      },
      {
        table: chatParticipants,
        rowsOf: participationsOf,
        export: ['participations'],
        erasure: {
          action: 'anonymise',
          detail: 'the person leaves every room; their room preferences are cleared',
        },
        archived: false,
      },
      {
        table: chatMessages,
        rowsOf: messagesOf,
        export: ['messages'],
        erasure: {
          action: 'anonymise',
          detail: 'each message becomes a tombstone: its text, attachments and their names go, its seq stays',
        },
        retention: {
          setting: 'chat_message_retention_days',
          days: 365,
          after: chatMessages.createdAt,
          purge: expireTexts,
        },
        archived: false,
      },
      {
        table: chatReports,
        rowsOf: reportsOf,
        export: ['reports'],
        erasure: {
          action: 'anonymise',
          detail: 'the description and evidence of the reports they made go; the moderation record stays',
        },
        archived: false,
      },
      {
        table: chatRestrictions,
        rowsOf: restrictionsOf,
        export: ['restrictions'],
        erasure: { action: 'delete', detail: 'every restriction on the person' },
        archived: false,
      },
    ],

    async export({ userId }) {
      const rooms = await db
        .select()
        .from(chatRooms)
        .where(roomsOf(userId))
        .orderBy(desc(chatRooms.id))
        .limit(EXPORT_LIMIT);
      const participations = await db
        .select()
        .from(chatParticipants)
        .where(participationsOf(userId))
        .orderBy(desc(chatParticipants.id))
        .limit(EXPORT_LIMIT);
      const messages = await db
        .select()
        .from(chatMessages)
        .where(messagesOf(userId))
        .orderBy(desc(chatMessages.id))
        .limit(EXPORT_LIMIT);
      const reports = await db
        .select()
        .from(chatReports)
        .where(eq(chatReports.reporterUserId, userId))
        .orderBy(desc(chatReports.id))
        .limit(EXPORT_LIMIT);
      const restrictions = await db
        .select()
        .from(chatRestrictions)
        .where(restrictionsOf(userId))
        .orderBy(desc(chatRestrictions.id))
        .limit(EXPORT_LIMIT);
      return {
        rooms: rooms.map((r) => ({
          id: r.id,
          type: r.chatType,
          order_id: r.orderId,
          created_at: r.createdAt.toISOString(),
        })),
        participations: participations.map((p) => ({
          room_id: p.roomId,
          role: p.role,
          joined_at: p.joinedAt.toISOString(),
          left_at: p.leftAt?.toISOString() ?? null,
          last_read_seq: p.lastReadSeq,
        })),
        messages: messages.map((m) => ({
          id: m.id,
          room_id: m.roomId,
          seq: m.seq,
          type: m.messageType,
          content: m.contentEncrypted ? cipher.decrypt(m.contentEncrypted) : null,
          attachment_names: m.attachmentNamesEncrypted
            ? JSON.parse(cipher.decrypt(m.attachmentNamesEncrypted))
            : [],
          created_at: m.createdAt.toISOString(),
          edited_at: m.editedAt?.toISOString() ?? null,
          deleted_at: m.deletedAt?.toISOString() ?? null,
        })),
        reports: reports.map((r) => ({
          id: r.id,
          message_id: r.messageId,
          reason: r.reason,
          description: r.description,
          status: r.status,
          created_at: r.createdAt.toISOString(),
        })),
        restrictions: restrictions.map((r) => ({
          until: r.until.toISOString(),
          created_at: r.createdAt.toISOString(),
        })),
      };
    },

    async erase({ userId }, erasure) {
      const now = new Date();
      const live = and(messagesOf(userId), isNull(chatMessages.deletedAt));
      const roomIds = [
        ...new Set(
          (await db.select({ roomId: chatMessages.roomId }).from(chatMessages).where(live)).map(
            (r) => r.roomId,
          ),
        ),
      ];
      const gone: string[] = [];
      // Each room's tombstones are one change of it, so an app resuming by after_change sees them.
      for (const roomId of roomIds) {
        const changeSeq = await takeNextChangeSeq(db, roomId);
        const rows = await db
          .update(chatMessages)
          .set({
            contentEncrypted: null,
            attachmentNamesEncrypted: null,
            attachments: [],
            deletedAt: now,
            deletedBy: 'erasure',
            changeSeq,
          })
          .where(and(live, eq(chatMessages.roomId, roomId)))
          .returning({ id: chatMessages.id });
        gone.push(...rows.map((r) => r.id));
      }
      await db
        .update(chatParticipants)
        .set({ leftAt: now, notificationPreferences: {} })
        .where(and(participationsOf(userId), isNull(chatParticipants.leftAt)));
      const reports = await db
        .update(chatReports)
        .set({ description: null, evidenceFileIds: [] })
        .where(eq(chatReports.reporterUserId, userId))
        .returning({ id: chatReports.id });
      await db.delete(chatRestrictions).where(restrictionsOf(userId));
      erasure.forget([...gone, ...reports.map((r) => r.id)]);
    },
  });
}
