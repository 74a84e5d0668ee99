import { sql } from 'drizzle-orm';
import type { Actor } from '../../platform/actor.ts';
import { writeAudit } from '../../platform/audit/service.ts';
import type { Db } from '../../platform/db.ts';
import { ConflictError, ForbiddenError, NotFoundError, RuleViolationError } from '../../platform/errors.ts';
import type { LanguageCode } from '../../platform/i18n.ts';
import { providerAccount } from '../users/queries.ts';
import { participantAccess } from './access.ts';
import { directChatOf, insertRoomUnlessExists } from './room-queries.ts';
import { changeParticipant, type RoomService } from './room-service.ts';

export type DirectService = ReturnType<typeof createDirectService>;

/**
 * Direct chats: a client writes to a provider from the provider's public profile, one room per pair, used
 * again; a provider cannot start one; either side may block the other, and then no one sends in it.
 */
export function createDirectService({ db, rooms }: { db: Db; rooms: Pick<RoomService, 'getRoom'> }) {
  return {
    async openDirectChat(actor: Actor, providerProfileId: string, language: LanguageCode) {
      const userId = actor.userId as string;
      if (!actor.roles.includes('client')) {
        throw new ForbiddenError('client_role_required', 'only a client starts a chat with a provider');
      }
      const { rows } = (await db.execute(
        sql`select * from (${providerAccount(sql`${providerProfileId}::uuid`)}) p`,
      )) as unknown as { rows: { user_id: string }[] };
      const providerUserId = rows[0]?.user_id;
      if (!providerUserId) throw new NotFoundError('provider');
      if (providerUserId === userId) {
        throw new RuleViolationError('own_profile', 'this is your own provider profile');
      }
      const existing = await directChatOf(db, userId, providerUserId);
      if (existing) return { created: false, room: await rooms.getRoom(actor, existing.id, language) };
      const made = await db.transaction(async () => {
        const room = await insertRoomUnlessExists(
          db,
          { chatType: 'general_chat', clientUserId: userId, providerUserId },
          [
            { userId, role: 'client' },
            { userId: providerUserId, role: 'provider' },
          ],
        );
        if (room) {
          await writeAudit(db, actor, [
            { action: 'create', entity: 'chat_rooms', entityId: room.id, after: room },
          ]);
        }
        return room;
      });
      // Two first taps at once: the second finds the room the first made.
      const room = made ?? (await directChatOf(db, userId, providerUserId));
      return { created: made !== undefined, room: await rooms.getRoom(actor, room?.id as string, language) };
    },

    /**
     * The caller leaves a direct or support chat: it leaves their list, and they read and write in it no
     * more. An order's parties stay in its chat, a record of the agreed work.
     */
    async leaveChat(actor: Actor, roomId: string) {
      const { room, participant } = await participantAccess(db, actor, roomId);
      if (room.chatType === 'order_chat') {
        throw new ConflictError('order_chat_kept', 'an order’s parties stay in its chat');
      }
      await db.transaction(() => changeParticipant(db, actor, participant, { leftAt: new Date() }));
    },

    /** The caller blocks the other party of a direct chat (or lifts their block): no one sends while one holds. */
    async setBlock(actor: Actor, roomId: string, blocked: boolean, language: LanguageCode) {
      const { room, participant } = await participantAccess(db, actor, roomId);
      if (room.chatType !== 'general_chat') {
        throw new ConflictError('not_a_direct_chat', 'only a direct chat can be blocked');
      }
      const blockedAt = blocked ? (participant.blockedAt ?? new Date()) : null;
      await db.transaction(() => changeParticipant(db, actor, participant, { blockedAt }));
      return rooms.getRoom(actor, roomId, language);
    },
  };
}
