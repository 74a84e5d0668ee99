import { Type } from 'typebox';
import type { Actor } from '../../platform/actor.ts';
import { newId } from '../../platform/columns.ts';
import type { FieldCipher } from '../../platform/crypto.ts';
import type { Db } from '../../platform/db.ts';
import {
  AppError,
  ConflictError,
  isUniqueViolation,
  NotFoundError,
  RuleViolationError,
} from '../../platform/errors.ts';
import type { LanguageCode } from '../../platform/i18n.ts';
import { listCursor } from '../../platform/pagination.ts';
import { chatNotFound, type RoomAccess, readAccess } from './access.ts';
import { hasContacts } from './contacts.ts';
import {
  MAX_MESSAGE_LENGTH,
  MAX_REPLAY,
  type MessagePageView,
  type MessagesFilter,
  type MessageView,
  type SendMessageInput,
} from './contract.ts';
import type { ChatEvents } from './events.ts';
import {
  type AppendedMessage,
  appendMessageStatement,
  type MessageRow,
  messageByClientId,
  messageInRoom,
  messagesAfter,
  messagesBetween,
  messagesChangedAfter,
  type NewMessage,
  newestMessages,
  receiptsOf,
} from './message-queries.ts';
import { messageViewer, type Reader } from './message-views.ts';
import { lockRoom, participantOf, type RoomRow, roomById } from './room-queries.ts';
import type { SendRules } from './send-rules.ts';
import type { TemplateService } from './template-service.ts';

const pages = listCursor('chat.messages:newest', Type.Integer({ minimum: 1 }));

const CLIENT_ID_KEY = 'chat_message_client_ids_room_id_client_message_id_pk';

export type MessageService = ReturnType<typeof createMessageService>;

/** A server message: what happened, as a text key and its parameters. */
export interface ServerMessage {
  type: 'system' | 'order_update';
  templateKey: string;
  params: Record<string, string | number>;
  /** Names the message once, so that an event heard twice posts it once. */
  clientMessageId: string;
}

/**
 * Messages: sends in each room's `seq` order, idempotent by the client's id; history newest first, around a
 * message, and the resumes that never skip a message (`after_seq`) or a change (`after_change`).
 */
export function createMessageService({
  db,
  cipher,
  events,
  rules,
  templates,
}: {
  db: Db;
  cipher: FieldCipher;
  events: ChatEvents;
  rules: SendRules;
  templates: Pick<TemplateService, 'render'>;
}) {
  const readerOf = (actor: Actor, access: RoomAccess, language: LanguageCode): Reader => ({
    userId: actor.userId,
    language,
    moderating: access.moderating,
  });

  /** The first message of a client id, answered again to its sender; anyone else's is a conflict. */
  function replay(actor: Actor, room: RoomRow, found: MessageRow, language: LanguageCode) {
    if (found.senderUserId !== actor.userId) {
      throw new ConflictError(
        'client_message_id_taken',
        'another message of this chat has this client_message_id',
      );
    }
    return messageViewer(cipher, room, { userId: actor.userId, language, moderating: false })(found);
  }

  let appendStatement: ReturnType<typeof appendMessageStatement> | undefined;

  /** Writes one message in the room's transaction, which holds the room's lock: one statement (message-queries.ts). */
  async function append(room: RoomRow, message: Omit<NewMessage, 'roomId' | 'seq'>) {
    appendStatement ??= appendMessageStatement(db, events);
    const [row] = await appendStatement({
      id: newId(),
      event_id: newId(),
      room_id: room.id,
      now: new Date().toISOString(),
      sender_user_id: message.senderUserId ?? null,
      message_type: message.messageType,
      content_encrypted: message.contentEncrypted ?? null,
      template_key: message.templateKey ?? null,
      template_params: message.templateParams ? JSON.stringify(message.templateParams) : null,
      attachments: JSON.stringify(message.attachments ?? []),
      attachment_names_encrypted: message.attachmentNamesEncrypted ?? null,
      reply_to_id: message.replyToId ?? null,
      client_message_id: message.clientMessageId ?? null,
      contact_flagged: message.contactFlagged ?? false,
    } satisfies AppendedMessage);
    return row as MessageRow;
  }

  /** A template sent is its text in the sender's language, its variables filled on the server. */
  async function filled(
    actor: Actor,
    input: SendMessageInput,
    language: LanguageCode,
  ): Promise<SendMessageInput> {
    if (input.template_id === undefined) return input;
    if (input.content !== undefined) {
      throw new RuleViolationError('template_and_content', 'send a template or a text, not both', [
        { in: 'body', field: 'content', message: 'cannot be given with template_id' },
      ]);
    }
    const content = await templates.render(actor, input.template_id, input.variables ?? {}, language);
    if (content.length > MAX_MESSAGE_LENGTH) {
      throw new RuleViolationError(
        'message_too_long',
        `the filled template is over ${MAX_MESSAGE_LENGTH} characters`,
      );
    }
    return { ...input, content };
  }

  async function sendInLock(actor: Actor, roomId: string, input: SendMessageInput, language: LanguageCode) {
    return db.transaction(async () => {
      const room = await lockRoom(db, roomId);
      const participant = room && (await participantOf(db, roomId, actor.userId as string));
      if (!room || !participant || participant.leftAt) throw chatNotFound();
      // After the lock: a send of the same id that held it has committed, and is answered again.
      const again = await messageByClientId(db, roomId, input.client_message_id);
      if (again) return replay(actor, room, again, language);
      input = await filled(actor, input, language);
      const content = input.content ?? null;
      const attachments = await rules.checkSend(actor, room, participant, input);
      if (input.reply_to_id && !(await messageInRoom(db, roomId, input.reply_to_id))) {
        throw new RuleViolationError('reply_not_in_room', 'the message replied to is not one of this chat', [
          { in: 'body', field: 'reply_to_id', message: 'is not a message of this chat' },
        ]);
      }
      const row = await append(room, {
        senderUserId: actor.userId,
        messageType: attachments.type,
        contentEncrypted: content === null ? null : cipher.encrypt(content),
        attachments: attachments.stored,
        attachmentNamesEncrypted: attachments.names.length
          ? cipher.encrypt(JSON.stringify(attachments.names))
          : null,
        replyToId: input.reply_to_id ?? null,
        clientMessageId: input.client_message_id,
        contactFlagged: content !== null && hasContacts(content),
      });
      await rules.afterSend(actor, room, row, input);
      return messageViewer(cipher, room, { userId: actor.userId, language, moderating: false })(row);
    });
  }

  return {
    async sendMessage(
      actor: Actor,
      roomId: string,
      input: SendMessageInput,
      language: LanguageCode,
    ): Promise<MessageView> {
      try {
        return await sendInLock(actor, roomId, input, language);
      } catch (error) {
        if (!isUniqueViolation(error, CLIENT_ID_KEY)) throw error;
        // The same id sent at the same moment committed first: its message is the answer.
        const found = await messageByClientId(db, roomId, input.client_message_id);
        if (!found) throw error;
        return replay(actor, (await roomById(db, roomId)) as RoomRow, found, language);
      }
    },

    /** A server message in a room, in the caller's transaction; one already posted under its id is kept. */
    async postServerMessage(room: RoomRow, message: ServerMessage) {
      if (await messageByClientId(db, room.id, message.clientMessageId)) return;
      await db.transaction(async () => {
        const locked = (await lockRoom(db, room.id)) as RoomRow;
        await append(locked, {
          senderUserId: null,
          messageType: message.type,
          templateKey: message.templateKey,
          templateParams: message.params,
          clientMessageId: message.clientMessageId,
        });
      });
    },

    async getMessage(actor: Actor, roomId: string, id: string, language: LanguageCode): Promise<MessageView> {
      const access = await readAccess(db, actor, roomId);
      const row = await messageInRoom(db, roomId, id);
      if (!row) throw new NotFoundError('message');
      return messageViewer(cipher, access.room, readerOf(actor, access, language))(row);
    },

    async listMessages(
      actor: Actor,
      roomId: string,
      filter: MessagesFilter,
      language: LanguageCode,
    ): Promise<MessagePageView> {
      const given = ['cursor', 'around', 'after_seq', 'after_change'].filter(
        (k) => filter[k as keyof MessagesFilter] !== undefined,
      );
      if (given.length > 1) {
        throw new AppError(400, 'conflicting_parameters', `give at most one of ${given.join(', ')}`, [
          { in: 'query', field: given[1] as string, message: `cannot be given with ${given[0]}` },
        ]);
      }
      const access = await readAccess(db, actor, roomId);
      const { room } = access;
      const view = messageViewer(cipher, room, readerOf(actor, access, language));
      const receipts = (await receiptsOf(db, roomId, actor.userId)).map((r) => ({
        user_id: r.userId,
        last_read_seq: r.lastReadSeq,
        read_change_seq: r.readChangeSeq,
      }));
      const answer = (data: MessageRow[], next: string | null, gap = false): MessagePageView => ({
        data: data.map(view),
        next_cursor: next,
        gap,
        last_seq: room.lastSeq,
        last_change_seq: room.lastChangeSeq,
        receipts,
      });
      const newestPage = async (gap: boolean, beforeSeq?: number) => {
        const rows = await newestMessages(db, roomId, filter.limit + 1, beforeSeq);
        const page = pages.page(
          rows,
          filter.limit,
          (m) => m.seq,
          (m) => m,
        );
        return answer(page.data, page.next_cursor, gap);
      };

      if (filter.after_seq !== undefined) {
        if (room.lastSeq - filter.after_seq > MAX_REPLAY) return newestPage(true);
        return answer(await messagesAfter(db, roomId, filter.after_seq, MAX_REPLAY), null);
      }
      if (filter.after_change !== undefined) {
        if (room.lastChangeSeq - filter.after_change > MAX_REPLAY) return newestPage(true);
        return answer(await messagesChangedAfter(db, roomId, filter.after_change, MAX_REPLAY), null);
      }
      if (filter.around !== undefined) {
        const centre = await messageInRoom(db, roomId, filter.around);
        if (!centre) throw new NotFoundError('message');
        const newer = Math.floor((filter.limit - 1) / 2);
        const to = Math.min(centre.seq + newer, room.lastSeq);
        const from = Math.max(1, to - filter.limit + 1);
        const rows = await messagesBetween(db, roomId, from, to);
        return answer(rows, from > 1 ? pages.encode(from) : null);
      }
      return newestPage(false, pages.decode(filter.cursor));
    },
  };
}
