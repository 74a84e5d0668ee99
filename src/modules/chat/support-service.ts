import type { Actor } from '../../platform/actor.ts';
import { writeAudit } from '../../platform/audit/service.ts';
import type { Db } from '../../platform/db.ts';
import { ConflictError } from '../../platform/errors.ts';
import type { LanguageCode } from '../../platform/i18n.ts';
import { idPages, type PageRequest } from '../../platform/pagination.ts';
import { chatNotFound } from './access.ts';
import type { MessageService } from './message-service.ts';
import {
  insertParticipant,
  insertRoomUnlessExists,
  lockRoom,
  namesOf,
  openSupportChatOf,
  participantsOf,
  type RoomRow,
  roomById,
  supportQueue,
  updateRoom,
} from './room-queries.ts';
import type { RoomService } from './room-service.ts';
import { chatRooms } from './schema.ts';

/** Staff who answer support chats. */
export const SUPPORT_STAFF = ['admin', 'moderator'] as const;

const queuePages = idPages('chat.support-queue', chatRooms.id);

export type SupportService = ReturnType<typeof createSupportService>;

/**
 * Support chats: a person opens one (one open at a time: asking again answers it), staff see the queue of
 * those no one took, take one (they become its participant), answer in it and close it.
 */
export function createSupportService({
  db,
  rooms,
  messages,
}: {
  db: Db;
  rooms: Pick<RoomService, 'views' | 'getRoom'>;
  messages: Pick<MessageService, 'postServerMessage'>;
}) {
  async function supportRoom(id: string) {
    const room = await roomById(db, id);
    if (room?.chatType !== 'support_chat') throw chatNotFound();
    return room;
  }

  return {
    /** The caller's open support chat, made when they have none: `created` says which. */
    async openSupportChat(actor: Actor, title: string | undefined, language: LanguageCode) {
      const userId = actor.userId as string;
      const open = await openSupportChatOf(db, userId);
      if (open) return { created: false, room: await rooms.getRoom(actor, open.id, language) };
      const made = await db.transaction(async () => {
        const room = (await insertRoomUnlessExists(
          db,
          { chatType: 'support_chat', requesterUserId: userId, title: title ?? null },
          [{ userId, role: 'requester' }],
        )) as RoomRow;
        await writeAudit(db, actor, [
          { action: 'create', entity: 'chat_rooms', entityId: room.id, after: room },
        ]);
        return room;
      });
      return { created: true, room: await rooms.getRoom(actor, made.id, language) };
    },

    async listQueue(actor: Actor, request: PageRequest, language: LanguageCode) {
      const page = queuePages(request, 'oldest');
      const rows = await supportQueue(db, page.limit, page.where);
      const result = page.page(
        rows,
        (r) => r.id,
        (r) => r,
      );
      const data = await rooms.views(
        result.data.map((room) => ({ room, participant: undefined })),
        actor.userId as string,
        language,
        true,
      );
      return { data, next_cursor: result.next_cursor };
    },

    /** Staff take a chat from the queue: they become its participant, and its person is told who answers. */
    async takeSupportChat(actor: Actor, id: string, language: LanguageCode) {
      await supportRoom(id);
      await db.transaction(async () => {
        const room = (await lockRoom(db, id)) as RoomRow;
        if (room.closedAt) throw new ConflictError('chat_closed', 'this support chat is closed');
        const staff = (await participantsOf(db, id)).find((p) => p.role === 'staff' && p.leftAt === null);
        if (staff && staff.userId !== actor.userId) {
          throw new ConflictError('support_chat_taken', 'another staff member answers this chat');
        }
        if (staff) return;
        const joined = await insertParticipant(db, {
          roomId: id,
          userId: actor.userId as string,
          role: 'staff',
        });
        await writeAudit(db, actor, [
          { action: 'create', entity: 'chat_participants', entityId: joined?.id ?? id, after: joined },
        ]);
        const names = await namesOf(db, [actor.userId as string]);
        await messages.postServerMessage(room, {
          type: 'system',
          templateKey: 'support.taken',
          params: { staff_name: names.get(actor.userId as string) ?? '' },
          clientMessageId: `support.taken:${actor.userId}`,
        });
      });
      return rooms.getRoom(actor, id, language);
    },

    /** The staff member who took it closes it: it stays readable and takes no more messages. */
    async closeSupportChat(actor: Actor, id: string, language: LanguageCode) {
      await supportRoom(id);
      await db.transaction(async () => {
        const room = (await lockRoom(db, id)) as RoomRow;
        const staff = (await participantsOf(db, id)).find(
          (p) => p.role === 'staff' && p.leftAt === null && p.userId === actor.userId,
        );
        if (!staff) throw chatNotFound();
        if (room.closedAt) return;
        await messages.postServerMessage(room, {
          type: 'system',
          templateKey: 'support.closed',
          params: {},
          clientMessageId: 'support.closed',
        });
        const closed = await updateRoom(db, id, { closedAt: new Date() });
        await writeAudit(db, actor, [
          {
            action: 'update',
            entity: 'chat_rooms',
            entityId: id,
            before: { closedAt: null },
            after: { closedAt: closed.closedAt },
          },
        ]);
      });
      return rooms.getRoom(actor, id, language);
    },
  };
}
