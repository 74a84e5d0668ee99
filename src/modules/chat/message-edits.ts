import type { Actor } from '../../platform/actor.ts';
import { writeAudit } from '../../platform/audit/service.ts';
import type { FieldCipher } from '../../platform/crypto.ts';
import type { Db } from '../../platform/db.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../../platform/errors.ts';
import type { LanguageCode } from '../../platform/i18n.ts';
import type { FileService } from '../../platform/storage/service.ts';
import { participantAccess } from './access.ts';
import { hasContacts } from './contacts.ts';
import type { MessageView } from './contract.ts';
import {
  type MessageRow,
  messageInRoom,
  type NewMessage,
  takeNextChangeSeq,
  updateMessage,
} from './message-queries.ts';
import { messageViewer } from './message-views.ts';
import { lockRoom, type RoomRow } from './room-queries.ts';

/** How long after sending its author may still edit a message. */
export const EDIT_WINDOW_MS = 15 * 60_000;

/** What a tombstone keeps of a message: its place (room, seq), sender, type and times; no text, no files. */
export const TOMBSTONE = {
  contentEncrypted: null,
  attachmentNamesEncrypted: null,
  attachments: [],
} satisfies Partial<NewMessage>;

export type MessageEdits = ReturnType<typeof createMessageEdits>;

/**
 * A message's author edits its text within 15 minutes (it shows as edited, and when), or deletes it (a
 * tombstone keeps its seq). Each is a change of the room with its own `change_seq`, for `after_change`.
 */
export function createMessageEdits({
  db,
  cipher,
  files,
}: {
  db: Db;
  cipher: FieldCipher;
  files: Pick<FileService, 'attach'>;
}) {
  /** The author's own live message, under the room's lock, and the room's next change. */
  async function change(
    actor: Actor,
    roomId: string,
    id: string,
    language: LanguageCode,
    set: (message: MessageRow, now: Date) => Promise<Partial<NewMessage>>,
  ): Promise<MessageView> {
    await participantAccess(db, actor, roomId);
    return db.transaction(async () => {
      const room = (await lockRoom(db, roomId)) as RoomRow;
      const message = await messageInRoom(db, roomId, id);
      if (!message || message.deletedAt) throw new NotFoundError('message');
      if (message.senderUserId !== actor.userId) {
        throw new ForbiddenError('not_message_author', 'only the author changes a message');
      }
      const changes = await set(message, new Date());
      const changeSeq = await takeNextChangeSeq(db, roomId);
      const after = await updateMessage(db, id, { ...changes, changeSeq });
      await writeAudit(db, actor, [
        {
          action: 'update',
          entity: 'chat_messages',
          entityId: id,
          before: { changeSeq: message.changeSeq, editedAt: message.editedAt, deletedAt: message.deletedAt },
          after: { changeSeq, editedAt: after.editedAt, deletedAt: after.deletedAt },
        },
      ]);
      return messageViewer(cipher, room, { userId: actor.userId, language, moderating: false })(after);
    });
  }

  return {
    async editMessage(actor: Actor, roomId: string, id: string, content: string, language: LanguageCode) {
      return change(actor, roomId, id, language, async (message, now) => {
        if (
          message.messageType === 'system' ||
          message.messageType === 'order_update' ||
          message.textExpiredAt
        ) {
          throw new ConflictError('message_not_editable', 'this message cannot be edited');
        }
        if (now.getTime() - message.createdAt.getTime() > EDIT_WINDOW_MS) {
          throw new ConflictError(
            'edit_window_passed',
            'a message can be edited for 15 minutes after it was sent',
          );
        }
        return {
          contentEncrypted: cipher.encrypt(content),
          contactFlagged: hasContacts(content),
          editedAt: now,
        };
      });
    },

    /** The author's delete: the text and files go, the tombstone stays in its place. */
    async deleteMessage(actor: Actor, roomId: string, id: string, language: LanguageCode) {
      return change(actor, roomId, id, language, async (message, now) => {
        if (message.attachments.length > 0) {
          await files.attach(actor, [], 'chat_attachment', {
            entity: 'chat_messages',
            id: message.id,
            field: 'attachment_file_ids',
          });
        }
        return { ...TOMBSTONE, deletedAt: now, deletedBy: 'author' };
      });
    },
  };
}
