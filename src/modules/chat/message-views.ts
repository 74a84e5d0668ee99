import type { FieldCipher } from '../../platform/crypto.ts';
import type { LanguageCode } from '../../platform/i18n.ts';
import { maskContacts } from './contacts.ts';
import type { MessageView } from './contract.ts';
import type { MessageRow } from './message-queries.ts';
import type { RoomRow } from './room-queries.ts';
import { renderSystemText } from './texts.ts';

/** Who reads a message, which decides its language and whether contact details are masked. */
export interface Reader {
  userId: string | null;
  language: LanguageCode;
  /** Staff reading as moderators: they see the original and what was flagged. */
  moderating: boolean;
}

/** Rooms where contact details are hidden from the recipient: direct chats, before any order is agreed. */
export const masksContacts = (room: Pick<RoomRow, 'chatType'>) => room.chatType === 'general_chat';

export type MessageViewer = (row: MessageRow) => MessageView;

/** Makes the views of one room's messages for one reader. */
export function messageViewer(
  cipher: Pick<FieldCipher, 'decrypt'>,
  room: Pick<RoomRow, 'chatType'>,
  reader: Reader,
): MessageViewer {
  const masking = masksContacts(room) && !reader.moderating;
  return (m) => {
    const gone = m.deletedAt !== null || m.textExpiredAt !== null;
    const names: (string | null)[] =
      !gone && m.attachmentNamesEncrypted ? JSON.parse(cipher.decrypt(m.attachmentNamesEncrypted)) : [];
    let content: string | null = null;
    if (!gone && m.templateKey) content = renderSystemText(m.templateKey, reader.language, m.templateParams);
    else if (!gone && m.contentEncrypted) content = cipher.decrypt(m.contentEncrypted);
    const masked = masking && m.contactFlagged && content !== null && m.senderUserId !== reader.userId;
    return {
      id: m.id,
      room_id: m.roomId,
      seq: m.seq,
      change_seq: m.changeSeq,
      type: m.messageType,
      sender_user_id: m.senderUserId,
      content: masked && content !== null ? maskContacts(content) : content,
      template_key: m.templateKey,
      attachments: gone
        ? []
        : m.attachments.map((a, i) => ({
            file_id: a.file_id,
            name: names[i] ?? null,
            content_type: a.content_type,
            size_bytes: a.size_bytes,
          })),
      reply_to_id: m.replyToId,
      client_message_id: m.clientMessageId,
      flagged: reader.moderating && m.contactFlagged,
      masked,
      created_at: m.createdAt.toISOString(),
      edited_at: m.editedAt?.toISOString() ?? null,
      deleted_at: m.deletedAt?.toISOString() ?? null,
    };
  };
}
