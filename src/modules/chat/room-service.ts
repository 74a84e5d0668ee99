import { Type } from 'typebox';
import type { Actor } from '../../platform/actor.ts';
import { writeAudit } from '../../platform/audit/service.ts';
import type { FieldCipher } from '../../platform/crypto.ts';
import type { Db } from '../../platform/db.ts';
import type { LanguageCode } from '../../platform/i18n.ts';
import { listCursor, type PageRequest, type PageResult } from '../../platform/pagination.ts';
import { DateTime, Uuid } from '../../platform/schemas.ts';
import type { BidAccepted } from '../orders/extensions.ts';
import { chatNotFound, participantAccess, readAccess } from './access.ts';
import type { RoomView } from './contract.ts';
import { lastMessagesOf, takeNextChangeSeq } from './message-queries.ts';
import { messageViewer } from './message-views.ts';
import {
  insertParticipant,
  insertRoomUnlessExists,
  lockRoom,
  myRooms,
  type NewParticipant,
  namesOf,
  type ParticipantRow,
  participantOf,
  participantsOfRooms,
  type RoomRow,
  roomOfOrder,
  unreadTotal,
  updateParticipant,
} from './room-queries.ts';

const myChatPages = listCursor('chat.my-chats:activity', Type.Tuple([DateTime, Uuid]));

export type RoomService = ReturnType<typeof createRoomService>;

/** Changes a participant's place (a block, a mute) and audits what it was and what it is. */
export async function changeParticipant(
  db: Db,
  actor: Actor,
  place: ParticipantRow,
  set: Partial<NewParticipant>,
) {
  const before = Object.fromEntries(Object.keys(set).map((key) => [key, place[key as keyof ParticipantRow]]));
  const after = await updateParticipant(db, place.id, set);
  await writeAudit(db, actor, [
    { action: 'update', entity: 'chat_participants', entityId: place.id, before, after: set },
  ]);
  return after;
}

/** Rooms: the order chat opened on accept, a room as its reader sees it, a person's chats and read state. */
export function createRoomService({ db, cipher }: { db: Db; cipher: FieldCipher }) {
  /** The rooms as `reader` sees them: last message, unread count and the other party's card. */
  async function views(
    rows: { room: RoomRow; participant: ParticipantRow | undefined }[],
    readerId: string,
    language: LanguageCode,
    moderating = false,
  ): Promise<RoomView[]> {
    const last = await lastMessagesOf(
      db,
      rows.map((r) => r.room),
    );
    const others = new Map<string, ParticipantRow>();
    const blocked = new Set<string>();
    const everyone = await participantsOfRooms(
      db,
      rows.map((r) => r.room.id),
    );
    for (const { room } of rows) {
      const all = everyone.filter((p) => p.roomId === room.id);
      if (all.some((p) => p.blockedAt !== null)) blocked.add(room.id);
      const rest = all.filter((p) => p.userId !== readerId);
      // The other party of an order or direct chat; in a support chat, the staff who took it.
      const other = rest.find((p) => p.role !== 'staff' && p.role !== 'requester') ?? rest[0];
      if (other) others.set(room.id, other);
    }
    const names = await namesOf(
      db,
      [...others.values()].map((p) => p.userId),
    );
    return rows.map(({ room, participant }) => {
      const message = last.get(room.id);
      const other = others.get(room.id);
      return {
        id: room.id,
        type: room.chatType,
        title: room.title,
        order_id: room.orderId,
        is_active: room.isActive,
        last_seq: room.lastSeq,
        last_change_seq: room.lastChangeSeq,
        last_message_at: room.lastMessageAt?.toISOString() ?? null,
        last_message: message
          ? messageViewer(cipher, room, { userId: readerId, language, moderating })(message)
          : null,
        unread_count: participant ? Math.max(0, room.lastSeq - participant.lastReadSeq) : 0,
        last_read_seq: participant?.lastReadSeq ?? null,
        other_party: other
          ? {
              user_id: other.userId,
              full_name: names.get(other.userId) ?? '',
              role: other.role,
              last_seen_at: other.lastSeenAt?.toISOString() ?? null,
            }
          : null,
        closed_at: room.closedAt?.toISOString() ?? null,
        slow_mode_seconds: room.slowModeSeconds,
        blocked: blocked.has(room.id),
        created_at: room.createdAt.toISOString(),
      };
    });
  }

  return {
    views,

    /**
     * The accept hook's handler: the order's chat, with its client and assigned provider, in the accept's
     * transaction. An order accepted again (after its agreed work was cancelled) keeps its one room.
     */
    async openOrderChat(accepted: BidAccepted) {
      const room = await insertRoomUnlessExists(
        db,
        {
          chatType: 'order_chat',
          orderId: accepted.orderId,
          clientUserId: accepted.clientUserId,
          providerUserId: accepted.providerUserId,
        },
        [
          { userId: accepted.clientUserId, role: 'client' },
          { userId: accepted.providerUserId, role: 'provider' },
        ],
      );
      if (room) {
        await writeAudit(db, accepted.actor, [
          { action: 'create', entity: 'chat_rooms', entityId: room.id, after: room },
        ]);
        return;
      }
      // The order's room from an earlier accept: the provider agreed now takes part in it too.
      const existing = (await roomOfOrder(db, accepted.orderId)) as RoomRow;
      await insertParticipant(db, { roomId: existing.id, userId: accepted.providerUserId, role: 'provider' });
    },

    async getRoom(actor: Actor, roomId: string, language: LanguageCode): Promise<RoomView> {
      const access = await readAccess(db, actor, roomId);
      const [view] = await views(
        [{ room: access.room, participant: access.participant }],
        actor.userId as string,
        language,
        access.moderating,
      );
      return view as RoomView;
    },

    /** The chat of an order, for its parties (and moderators on a dispute). */
    async getOrderChat(actor: Actor, orderId: string, language: LanguageCode): Promise<RoomView> {
      const room = await roomOfOrder(db, orderId);
      if (!room) throw chatNotFound();
      return this.getRoom(actor, room.id, language);
    },

    async listMyChats(
      actor: Actor,
      request: PageRequest,
      language: LanguageCode,
    ): Promise<PageResult<RoomView>> {
      const userId = actor.userId as string;
      const after = myChatPages.decode(request.cursor);
      const rows = await myRooms(db, userId, request.limit + 1, after && { at: after[0], id: after[1] });
      const page = myChatPages.page(
        rows,
        request.limit,
        (r) => [(r.room.lastMessageAt ?? r.room.createdAt).toISOString(), r.room.id] as [string, string],
        (r) => r,
      );
      return { data: await views(page.data, userId, language), next_cursor: page.next_cursor };
    },

    async unreadTotal(actor: Actor) {
      return { total: await unreadTotal(db, actor.userId as string) };
    },

    /**
     * Moves the caller's read state forward to `seq` (never back, never past the room's last message); a
     * move is a change of the room, the other party's read receipt.
     */
    async markRead(actor: Actor, roomId: string, seq: number) {
      await participantAccess(db, actor, roomId);
      return db.transaction(async () => {
        const room = (await lockRoom(db, roomId)) as RoomRow;
        const me = (await participantOf(db, roomId, actor.userId as string)) as ParticipantRow;
        const target = Math.min(seq, room.lastSeq);
        let lastRead = me.lastReadSeq;
        if (target > me.lastReadSeq) {
          const changeSeq = await takeNextChangeSeq(db, roomId);
          const moved = await updateParticipant(db, me.id, {
            lastReadSeq: target,
            readChangeSeq: changeSeq,
            lastSeenAt: new Date(),
          });
          lastRead = moved.lastReadSeq;
        } else {
          await updateParticipant(db, me.id, { lastSeenAt: new Date() });
        }
        return { last_read_seq: lastRead, unread: Math.max(0, room.lastSeq - lastRead) };
      });
    },
  };
}
