import type { DomainEvent, Emitter } from '../../platform/events.ts';

/** What the chat module tells: each is emitted in the transaction of the change, with ids only. */
export const CHAT_EVENTS = ['chat_message_sent'] as const;
export type ChatEventType = (typeof CHAT_EVENTS)[number];

export interface ChatEvent extends DomainEvent<ChatEventType> {
  room_id: string;
  message_id: string;
  /** Null for the server's own messages. */
  sender_user_id: string | null;
  /** The room's other participants when it was sent. */
  recipient_user_ids: string[];
}

export type ChatEvents = Emitter<ChatEvent>;
