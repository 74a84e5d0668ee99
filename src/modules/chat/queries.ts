import { type SQL, sql } from 'drizzle-orm';
import { chatMessages, chatParticipants, chatRooms } from './schema.ts';

/*
 * The chat module's published read models (ARCHITECTURE.md, "Read models"): what another module may read
 * of this module's tables in its own SQL. Their columns are a contract, held by the chat's tests.
 */

/** A row of `chatMessageNotice`. */
export interface ChatMessageNotice {
  room_id: string;
  chat_type: string;
  /** The room's title (an order chat's is its order's); null without one. */
  title: string | null;
  order_id: string | null;
  sender_user_id: string | null;
}

/**
 * What a notification of a chat message says: one row for a message still there (not deleted), none
 * otherwise. Never its text: a notification tells who wrote where, and the app opens the chat.
 */
export const chatMessageNotice = (messageId: SQL) =>
  sql`select r.id as room_id, r.chat_type, r.title, r.order_id, m.sender_user_id
    from ${chatMessages} m join ${chatRooms} r on r.id = m.room_id
    where m.id = ${messageId} and m.deleted_at is null`;

/** A row of `chatNoticeSilenced`. */
export interface ChatNoticeSilenced {
  user_id: string;
  /** The channels (`in_app`, `push`, `email`) on which they silenced the room. */
  channels: string[];
}

/**
 * Who silenced a room on which channels (ChatParticipant.notification_preferences): one row per participant
 * with at least one channel switched off, none for the rest.
 */
export const chatNoticeSilenced = (roomId: SQL) =>
  sql`select p.user_id, array_agg(k.key order by k.key) as channels
    from ${chatParticipants} p, jsonb_each(p.notification_preferences) k
    where p.room_id = ${roomId} and k.value = 'false'::jsonb
    group by p.user_id`;
