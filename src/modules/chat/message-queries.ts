import { and, asc, desc, eq, gt, gte, inArray, lte, type SQL, sql } from 'drizzle-orm';
import { type Db, prepareSql } from '../../platform/db.ts';
import type { ChatEvents } from './events.ts';
import { columnsOf, statement } from './prepared.ts';
import { chatMessageClientIds, chatMessages, chatParticipants, chatRooms } from './schema.ts';

export type MessageRow = typeof chatMessages.$inferSelect;
export type NewMessage = typeof chatMessages.$inferInsert;

/** The message a client's id already names in the room, if any. */
export async function messageByClientId(db: Db, roomId: string, clientMessageId: string) {
  const [row] = await byClientIdStatement(db, { room_id: roomId, client_message_id: clientMessageId });
  return row;
}

const p = sql.placeholder;

const byClientIdStatement = statement<MessageRow>(
  sql`select ${columnsOf(chatMessages, 'm')} from ${chatMessageClientIds} k
    join ${chatMessages} m on m.id = k.id
    where k.room_id = ${p('room_id')}::uuid and k.client_message_id = ${p('client_message_id')}::text`,
);

const newestStatement = (before: SQL) =>
  statement<MessageRow>(
    sql`select ${columnsOf(chatMessages, 'm')} from ${chatMessages} m
      where m.room_id = ${p('room_id')}::uuid${before}
      order by m.seq desc limit ${p('limit')}::int`,
  );
const newest = newestStatement(sql``);
const newestBefore = newestStatement(sql` and m.seq < ${p('before_seq')}::bigint`);

export async function messageInRoom(db: Db, roomId: string, id: string) {
  const [row] = await db
    .select()
    .from(chatMessages)
    .where(and(eq(chatMessages.roomId, roomId), eq(chatMessages.id, id)));
  return row;
}

/** Takes the room's next change_seq, under the room's row lock as a send takes its seq (appendMessageStatement). */
export async function takeNextChangeSeq(db: Db, roomId: string) {
  const [row] = await db
    .update(chatRooms)
    .set({ lastChangeSeq: sql`${chatRooms.lastChangeSeq} + 1` })
    .where(eq(chatRooms.id, roomId))
    .returning({ changeSeq: chatRooms.lastChangeSeq });
  return (row as { changeSeq: number }).changeSeq;
}

/** What a new message is given; the room's next seq, its time and its id come from the statement's caller. */
export interface AppendedMessage {
  id: string;
  event_id: string;
  room_id: string;
  /** ISO time: the message's, its room's last message's and the sender's last send's. */
  now: string;
  sender_user_id: string | null;
  message_type: string;
  content_encrypted: string | null;
  template_key: string | null;
  /** jsonb, as JSON text. */
  template_params: string | null;
  attachments: string;
  attachment_names_encrypted: string | null;
  reply_to_id: string | null;
  client_message_id: string | null;
  contact_flagged: boolean;
}

/**
 * A message appended to its room in one statement, in the transaction that holds the room's lock: the room's
 * next seq taken (the update keeps the row lock to the end of the transaction, so two sends in one room get n
 * and n+1, and a send that rolls back gives its seq back), the message inserted, the sender's read state moved
 * to it with their last send, and `chat_message_sent` told to the room's other participants who have not
 * left. Built on first use, once every subscriber is wired.
 */
export const appendMessageStatement = (db: Db, events: ChatEvents) =>
  prepareSql<MessageRow>(
    db,
    sql`with next as (
        update ${chatRooms} set last_seq = last_seq + 1, last_message_at = ${p('now')}::timestamptz,
          updated_at = ${p('now')}::timestamptz
        where id = ${p('room_id')}::uuid
        returning last_seq
      ),
      message as (
        insert into ${chatMessages} (id, created_at, updated_at, room_id, seq, sender_user_id, message_type,
          content_encrypted, template_key, template_params, attachments, attachment_names_encrypted, reply_to_id,
          client_message_id, contact_flagged)
        select ${p('id')}::uuid, ${p('now')}::timestamptz, ${p('now')}::timestamptz, ${p('room_id')}::uuid,
          next.last_seq, ${p('sender_user_id')}::uuid, ${p('message_type')}::text, ${p('content_encrypted')}::text,
          ${p('template_key')}::text, ${p('template_params')}::jsonb, ${p('attachments')}::jsonb,
          ${p('attachment_names_encrypted')}::text, ${p('reply_to_id')}::uuid, ${p('client_message_id')}::text,
          ${p('contact_flagged')}::boolean
        from next
        returning *
      ),
      sent as (
        update ${chatParticipants} s
        set last_read_seq = greatest(s.last_read_seq, m.seq), last_sent_at = m.created_at,
          last_seen_at = m.created_at, updated_at = m.created_at
        from message m
        where s.room_id = m.room_id and s.user_id = m.sender_user_id
      ),
      told as (
        ${events.emitSql(
          ['chat_message_sent'],
          sql`select jsonb_build_object('id', ${p('event_id')}::uuid, 'type', 'chat_message_sent',
              'room_id', m.room_id, 'message_id', m.id, 'sender_user_id', m.sender_user_id,
              'recipient_user_ids', coalesce((select jsonb_agg(r.user_id order by r.joined_at)
                from ${chatParticipants} r
                where r.room_id = m.room_id and r.left_at is null and r.user_id is distinct from m.sender_user_id),
                '[]'::jsonb))
            from message m`,
        )}
      )
      select ${columnsOf(chatMessages, 'message')} from message`,
  );

export async function updateMessage(db: Db, id: string, set: Partial<NewMessage>) {
  const [row] = await db.update(chatMessages).set(set).where(eq(chatMessages.id, id)).returning();
  return row as MessageRow;
}

/** The newest messages below `beforeSeq` (all when undefined), newest first. */
export const newestMessages = (db: Db, roomId: string, limit: number, beforeSeq?: number) =>
  beforeSeq === undefined
    ? newest(db, { room_id: roomId, limit })
    : newestBefore(db, { room_id: roomId, limit, before_seq: beforeSeq });

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
  receiptsStatement(db, { room_id: roomId, reader_id: readerId });

const receiptsStatement = statement<
  Pick<typeof chatParticipants.$inferSelect, 'userId' | 'lastReadSeq' | 'readChangeSeq'>
>(
  sql`select p.user_id as "userId", p.last_read_seq as "lastReadSeq", p.read_change_seq as "readChangeSeq"
    from ${chatParticipants} p
    where p.room_id = ${p('room_id')}::uuid and p.left_at is null
      and p.user_id is distinct from ${p('reader_id')}::uuid
    order by p.joined_at limit 100`,
);

export const messagesByIds = (db: Db, ids: string[]) =>
  ids.length === 0
    ? Promise.resolve([])
    : db.select().from(chatMessages).where(inArray(chatMessages.id, ids));
