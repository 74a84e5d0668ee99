import { and, asc, desc, eq, gt, gte, inArray, isNull, lt, lte, ne, sql } from 'drizzle-orm';
import type { Db } from '../../platform/db.ts';
import { chatMessageClientIds, chatMessages, chatParticipants, chatRooms } from './schema.ts';

export type MessageRow = typeof chatMessages.$inferSelect;
export type NewMessage = typeof chatMessages.$inferInsert;

/** The message a client's id already names in the room, if any. */
export async function messageByClientId(db: Db, roomId: string, clientMessageId: string) {
  const [row] = await db
    .select({ message: chatMessages })
    .from(chatMessageClientIds)
    .innerJoin(chatMessages, eq(chatMessages.id, chatMessageClientIds.id))
    .where(
      and(eq(chatMessageClientIds.roomId, roomId), eq(chatMessageClientIds.clientMessageId, clientMessageId)),
    );
  return row?.message;
}

export async function messageInRoom(db: Db, roomId: string, id: string) {
  const [row] = await db
    .select()
    .from(chatMessages)
    .where(and(eq(chatMessages.roomId, roomId), eq(chatMessages.id, id)));
  return row;
}

/**
 * Takes the room's next seq: the update holds the room's row lock to the end of the transaction, so two
 * sends in one room get n and n+1, and a send that rolls back gives its seq back.
 */
export async function takeNextSeq(db: Db, roomId: string, at: Date) {
  const [row] = await db
    .update(chatRooms)
    .set({ lastSeq: sql`${chatRooms.lastSeq} + 1`, lastMessageAt: at })
    .where(eq(chatRooms.id, roomId))
    .returning({ seq: chatRooms.lastSeq });
  return (row as { seq: number }).seq;
}

/** Takes the room's next change_seq, under the room's row lock as `takeNextSeq`. */
export async function takeNextChangeSeq(db: Db, roomId: string) {
  const [row] = await db
    .update(chatRooms)
    .set({ lastChangeSeq: sql`${chatRooms.lastChangeSeq} + 1` })
    .where(eq(chatRooms.id, roomId))
    .returning({ changeSeq: chatRooms.lastChangeSeq });
  return (row as { changeSeq: number }).changeSeq;
}

export async function insertMessage(db: Db, message: NewMessage) {
  const [row] = await db.insert(chatMessages).values(message).returning();
  return row as MessageRow;
}

export async function updateMessage(db: Db, id: string, set: Partial<NewMessage>) {
  const [row] = await db.update(chatMessages).set(set).where(eq(chatMessages.id, id)).returning();
  return row as MessageRow;
}

/** The sender has read what they sent, and sent it now (for the room's slow mode). */
export async function markSent(db: Db, roomId: string, userId: string, seq: number, at: Date) {
  await db
    .update(chatParticipants)
    .set({
      lastReadSeq: sql`greatest(${chatParticipants.lastReadSeq}, ${seq})`,
      lastSentAt: at,
      lastSeenAt: at,
    })
    .where(and(eq(chatParticipants.roomId, roomId), eq(chatParticipants.userId, userId)));
}

/** The newest messages below `beforeSeq` (all when undefined), newest first. */
export const newestMessages = (db: Db, roomId: string, limit: number, beforeSeq?: number) =>
  db
    .select()
    .from(chatMessages)
    .where(
      and(
        eq(chatMessages.roomId, roomId),
        beforeSeq === undefined ? undefined : lt(chatMessages.seq, beforeSeq),
      ),
    )
    .orderBy(desc(chatMessages.seq))
    .limit(limit);

/** Messages with seq in [from, to], newest first. */
export const messagesBetween = (db: Db, roomId: string, from: number, to: number) =>
  db
    .select()
    .from(chatMessages)
    .where(and(eq(chatMessages.roomId, roomId), gte(chatMessages.seq, from), lte(chatMessages.seq, to)))
    .orderBy(desc(chatMessages.seq));

/** Every message after `seq`, oldest first. */
export const messagesAfter = (db: Db, roomId: string, seq: number, limit: number) =>
  db
    .select()
    .from(chatMessages)
    .where(and(eq(chatMessages.roomId, roomId), gt(chatMessages.seq, seq)))
    .orderBy(asc(chatMessages.seq))
    .limit(limit);

/** Every message edited or deleted after `changeSeq`, in change order, as each is now. */
export const messagesChangedAfter = (db: Db, roomId: string, changeSeq: number, limit: number) =>
  db
    .select()
    .from(chatMessages)
    .where(and(eq(chatMessages.roomId, roomId), gt(chatMessages.changeSeq, changeSeq)))
    .orderBy(asc(chatMessages.changeSeq))
    .limit(limit);

/** Each room's last message, for a list of rooms. */
export async function lastMessagesOf(db: Db, rooms: { id: string; lastSeq: number }[]) {
  const wanted = rooms.filter((r) => r.lastSeq > 0);
  if (wanted.length === 0) return new Map<string, MessageRow>();
  const rows = await db
    .select()
    .from(chatMessages)
    .where(
      sql`(${chatMessages.roomId}, ${chatMessages.seq}) in (${sql.join(
        wanted.map((r) => sql`(${r.id}::uuid, ${r.lastSeq}::bigint)`),
        sql`, `,
      )})`,
    );
  return new Map(rows.map((m) => [m.roomId, m]));
}

/** The other participants' read state in a room: the read receipts. */
export const receiptsOf = (db: Db, roomId: string, readerId: string | null) =>
  db
    .select({
      userId: chatParticipants.userId,
      lastReadSeq: chatParticipants.lastReadSeq,
      readChangeSeq: chatParticipants.readChangeSeq,
    })
    .from(chatParticipants)
    .where(
      and(
        eq(chatParticipants.roomId, roomId),
        isNull(chatParticipants.leftAt),
        readerId ? ne(chatParticipants.userId, readerId) : undefined,
      ),
    )
    .orderBy(asc(chatParticipants.joinedAt))
    .limit(100);

export const messagesByIds = (db: Db, ids: string[]) =>
  ids.length === 0
    ? Promise.resolve([])
    : db.select().from(chatMessages).where(inArray(chatMessages.id, ids));
