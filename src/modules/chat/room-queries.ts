import { and, desc, eq, inArray, isNull, type SQL, sql } from 'drizzle-orm';
import type { Db } from '../../platform/db.ts';
import { notificationAddress } from '../users/queries.ts';
import { columnsOf, statement } from './prepared.ts';
import { chatParticipants, chatRooms } from './schema.ts';

export type RoomRow = typeof chatRooms.$inferSelect;
export type NewRoom = typeof chatRooms.$inferInsert;
export type ParticipantRow = typeof chatParticipants.$inferSelect;
export type NewParticipant = typeof chatParticipants.$inferInsert;

const roomStatement = statement<RoomRow>(
  sql`select ${columnsOf(chatRooms, 'r')} from ${chatRooms} r where r.id = ${sql.placeholder('id')}::uuid`,
);
const lockedRoomStatement = statement<RoomRow>(
  sql`select ${columnsOf(chatRooms, 'r')} from ${chatRooms} r where r.id = ${sql.placeholder('id')}::uuid for update`,
);
const participantStatement = statement<ParticipantRow>(
  sql`select ${columnsOf(chatParticipants, 'p')} from ${chatParticipants} p
    where p.room_id = ${sql.placeholder('room_id')}::uuid and p.user_id = ${sql.placeholder('user_id')}::uuid`,
);

export async function roomById(db: Db, id: string) {
  const [row] = await roomStatement(db, { id });
  return row;
}

export async function roomOfOrder(db: Db, orderId: string) {
  const [row] = await db
    .select()
    .from(chatRooms)
    .where(and(eq(chatRooms.chatType, 'order_chat'), eq(chatRooms.orderId, orderId)));
  return row;
}

/** The room with its row lock, for changes that must see its counters as they are. */
export async function lockRoom(db: Db, id: string) {
  const [row] = await lockedRoomStatement(db, { id });
  return row;
}

export async function participantOf(db: Db, roomId: string, userId: string) {
  const [row] = await participantStatement(db, { room_id: roomId, user_id: userId });
  return row;
}

export const participantsOf = (db: Db, roomId: string) =>
  db.select().from(chatParticipants).where(eq(chatParticipants.roomId, roomId));

/** The participants of several rooms, for a list of them. */
export const participantsOfRooms = (db: Db, roomIds: string[]) =>
  roomIds.length === 0
    ? Promise.resolve([])
    : db.select().from(chatParticipants).where(inArray(chatParticipants.roomId, roomIds));

/** A room and its first participants; a second room of the same order or pair changes nothing. */
export async function insertRoomUnlessExists(
  db: Db,
  room: NewRoom,
  participants: Omit<NewParticipant, 'roomId'>[],
) {
  const [made] = await db.insert(chatRooms).values(room).onConflictDoNothing().returning();
  if (!made) return undefined;
  await db.insert(chatParticipants).values(participants.map((p) => ({ ...p, roomId: made.id })));
  return made;
}

export async function updateRoom(db: Db, id: string, set: Partial<NewRoom>) {
  const [row] = await db.update(chatRooms).set(set).where(eq(chatRooms.id, id)).returning();
  return row as RoomRow;
}

/** A participant's row, locked until the transaction ends: changes that merge into it take turns. */
export async function lockParticipant(db: Db, id: string) {
  const [row] = await db.select().from(chatParticipants).where(eq(chatParticipants.id, id)).for('update');
  return row as ParticipantRow;
}

export async function updateParticipant(db: Db, id: string, set: Partial<NewParticipant>) {
  const [row] = await db.update(chatParticipants).set(set).where(eq(chatParticipants.id, id)).returning();
  return row as ParticipantRow;
}

/** When a room last changed for its list: its last message, else its opening. */
export const lastActivity = sql<Date>`coalesce(${chatRooms.lastMessageAt}, ${chatRooms.createdAt})`;

/** The rooms a person takes part in (not left), by last activity, newest first, after a cursor's key. */
export const myRooms = (db: Db, userId: string, limit: number, after?: { at: string; id: string }) =>
  db
    .select({ room: chatRooms, participant: chatParticipants })
    .from(chatParticipants)
    .innerJoin(chatRooms, eq(chatRooms.id, chatParticipants.roomId))
    .where(
      and(
        eq(chatParticipants.userId, userId),
        isNull(chatParticipants.leftAt),
        after
          ? sql`(${lastActivity}, ${chatRooms.id}) < (${after.at}::timestamptz, ${after.id}::uuid)`
          : undefined,
      ),
    )
    .orderBy(desc(lastActivity), desc(chatRooms.id))
    .limit(limit);

/** A person's unread messages over every room they take part in. */
export async function unreadTotal(db: Db, userId: string) {
  const [row] = await db
    .select({
      total: sql<string>`coalesce(sum(greatest(${chatRooms.lastSeq} - ${chatParticipants.lastReadSeq}, 0)), 0)`,
    })
    .from(chatParticipants)
    .innerJoin(chatRooms, eq(chatRooms.id, chatParticipants.roomId))
    .where(and(eq(chatParticipants.userId, userId), isNull(chatParticipants.leftAt)));
  return Number(row?.total ?? 0);
}

/** The names of people, for the cards of the other party (the users module's read model), in one query. */
export async function namesOf(db: Db, userIds: string[]) {
  const ids = [...new Set(userIds)];
  if (ids.length === 0) return new Map<string, string>();
  const { rows } = (await db.execute(
    sql`select ids.id, a.full_name from unnest(${sql`${`{${ids.join(',')}}`}::uuid[]`}) as ids(id)
      cross join lateral (${notificationAddress(sql`ids.id`)}) a`,
  )) as unknown as { rows: { id: string; full_name: string }[] };
  return new Map(rows.map((r) => [r.id, r.full_name]));
}

/** A person's support chat still open, if any. */
export async function openSupportChatOf(db: Db, userId: string) {
  const [row] = await db
    .select()
    .from(chatRooms)
    .where(
      and(
        eq(chatRooms.chatType, 'support_chat'),
        eq(chatRooms.requesterUserId, userId),
        isNull(chatRooms.closedAt),
      ),
    );
  return row;
}

/** The direct chat of a client and a provider, if they have one. */
export async function directChatOf(db: Db, clientUserId: string, providerUserId: string) {
  const [row] = await db
    .select()
    .from(chatRooms)
    .where(
      and(
        eq(chatRooms.chatType, 'general_chat'),
        eq(chatRooms.clientUserId, clientUserId),
        eq(chatRooms.providerUserId, providerUserId),
      ),
    );
  return row;
}

/** Open support chats no staff member took yet, oldest first: the queue. */
export const supportQueue = (db: Db, limit: number, after: SQL | undefined) =>
  db
    .select()
    .from(chatRooms)
    .where(
      and(
        eq(chatRooms.chatType, 'support_chat'),
        isNull(chatRooms.closedAt),
        after,
        sql`not exists (select from ${chatParticipants} s where s.room_id = ${chatRooms.id} and s.role = 'staff' and s.left_at is null)`,
      ),
    )
    .orderBy(chatRooms.id)
    .limit(limit);

export async function insertParticipant(db: Db, participant: NewParticipant) {
  const [row] = await db.insert(chatParticipants).values(participant).onConflictDoNothing().returning();
  return row;
}
