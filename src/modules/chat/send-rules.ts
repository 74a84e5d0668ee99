import { and, eq, sql } from 'drizzle-orm';
import type { Actor } from '../../platform/actor.ts';
import type { Db } from '../../platform/db.ts';
import {
  ConflictError,
  ForbiddenError,
  RuleViolationError,
  TooManyRequestsError,
} from '../../platform/errors.ts';
import type { FileService } from '../../platform/storage/service.ts';
import type { SendMessageInput } from './contract.ts';
import type { MessageType } from './enums.ts';
import type { MessageRow } from './message-queries.ts';
import { statement } from './prepared.ts';
import type { ParticipantRow, RoomRow } from './room-queries.ts';
import { chatParticipants, chatRestrictions, type StoredAttachment } from './schema.ts';

const DAY_MS = 86_400_000;

/** The latest end of a sender's restrictions still running: every send asks it. */
const restrictionStatement = statement<{ until: Date }>(
  sql`select until from ${chatRestrictions}
    where user_id = ${sql.placeholder('user_id')}::uuid and until > ${sql.placeholder('now')}::timestamptz
    order by until desc limit 1`,
);

export type SendRules = ReturnType<typeof createSendRules>;

/**
 * What a participant may send, checked in the send's transaction under the room's lock: the room open (a
 * closed order's chat for `chat_closed_order_write_days` after it closed), the sender not muted in the room
 * nor kept out of chat, no block in a direct chat, the room's slow mode, and attachments within their limits.
 */
export function createSendRules({
  db,
  files,
  settingValue,
}: {
  db: Db;
  files: Pick<FileService, 'attach' | 'getOwned'>;
  settingValue: <T>(key: string, fallback: T) => Promise<T>;
}) {
  async function checkOpen(room: RoomRow, now: Date) {
    if (!room.isActive) throw new ConflictError('chat_closed', 'this chat is closed');
    if (room.closedAt === null) return;
    if (room.chatType !== 'order_chat') throw new ConflictError('chat_closed', 'this chat is closed');
    const days = await settingValue('chat_closed_order_write_days', 30);
    if (now.getTime() - room.closedAt.getTime() > days * DAY_MS) {
      throw new ConflictError(
        'chat_closed',
        `the order closed more than ${days} days ago: its chat can be read, not written in`,
      );
    }
  }

  async function checkSender(actor: Actor, room: RoomRow, participant: ParticipantRow, now: Date) {
    if (participant.mutedUntil && participant.mutedUntil > now) {
      throw new ForbiddenError(
        'chat_muted',
        `a moderator muted you in this chat until ${participant.mutedUntil.toISOString()}`,
      );
    }
    const [restriction] = await restrictionStatement(db, {
      user_id: actor.userId,
      now: now.toISOString(),
    });
    if (restriction) {
      throw new ForbiddenError(
        'chat_blocked',
        `a moderator blocked you from chat until ${restriction.until.toISOString()}`,
      );
    }
    if (room.chatType === 'general_chat') {
      const [block] = await db
        .select({ one: sql`1` })
        .from(chatParticipants)
        .where(and(eq(chatParticipants.roomId, room.id), sql`${chatParticipants.blockedAt} is not null`))
        .limit(1);
      if (block) throw new ForbiddenError('chat_blocked', 'one of you blocked the other: no one sends here');
    }
    if (room.slowModeSeconds > 0 && participant.lastSentAt) {
      const wait = participant.lastSentAt.getTime() + room.slowModeSeconds * 1000 - now.getTime();
      if (wait > 0) {
        throw new TooManyRequestsError(
          Math.ceil(wait / 1000),
          'chat_slow_mode',
          `this chat is in slow mode: one message per ${room.slowModeSeconds} s`,
        );
      }
    }
  }

  async function checkAttachments(actor: Actor, ids: readonly string[]) {
    const maxCount = await settingValue('chat_max_attachments', 10);
    if (ids.length > maxCount) {
      throw new RuleViolationError(
        'too_many_attachments',
        `a message carries at most ${maxCount} attachments`,
        [{ in: 'body', field: 'attachment_file_ids', message: `at most ${maxCount}` }],
      );
    }
    const stored: StoredAttachment[] = [];
    const names: (string | null)[] = [];
    for (const [index, id] of ids.entries()) {
      const file = await files.getOwned(actor, id).catch(() => undefined);
      if (file?.purpose !== 'chat_attachment') {
        throw new RuleViolationError('invalid_file', 'some files cannot be attached to a message', [
          {
            in: 'body',
            field: `attachment_file_ids/${index}`,
            message: 'is not one of your chat attachment files',
          },
        ]);
      }
      stored.push({ file_id: file.id, content_type: file.contentType, size_bytes: file.sizeBytes });
      names.push(file.originalName);
    }
    const type: MessageType =
      stored.length === 0
        ? 'text'
        : stored.every((a) => a.content_type.startsWith('image/'))
          ? 'image'
          : 'file';
    return { type, stored, names };
  }

  return {
    /** Refuses what may not be sent; answers the message's type and its attachments as stored. */
    async checkSend(actor: Actor, room: RoomRow, participant: ParticipantRow, input: SendMessageInput) {
      const now = new Date();
      await checkOpen(room, now);
      await checkSender(actor, room, participant, now);
      const ids = input.attachment_file_ids ?? [];
      if (input.content === undefined && ids.length === 0) {
        throw new RuleViolationError('message_empty', 'a message has text, attachments or both', [
          { in: 'body', field: 'content', message: 'is required without attachments' },
        ]);
      }
      return checkAttachments(actor, ids);
    },

    /** The message's files are attached to it in its transaction, so only its room's readers download them. */
    async afterSend(actor: Actor, _room: RoomRow, message: MessageRow, input: SendMessageInput) {
      const ids = input.attachment_file_ids ?? [];
      if (ids.length === 0) return;
      await files.attach(actor, ids, 'chat_attachment', {
        entity: 'chat_messages',
        id: message.id,
        field: 'attachment_file_ids',
      });
    },

    checkOpen,
  };
}
