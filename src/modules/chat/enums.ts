/** The seed's ChatRoom.chat_type (DOMAIN.md). */
export const CHAT_TYPES = ['order_chat', 'support_chat', 'general_chat'] as const;
export type ChatType = (typeof CHAT_TYPES)[number];

/** The seed's ChatMessage.message_type: `system` and `order_update` come from the server only. */
export const MESSAGE_TYPES = ['text', 'image', 'file', 'system', 'order_update'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/**
 * A participant's part in the room: the two parties of an order or a direct chat, the person who opened a
 * support chat (`requester`), and staff who took it (`staff`).
 */
export const PARTICIPANT_ROLES = ['client', 'provider', 'requester', 'staff'] as const;
export type ParticipantRole = (typeof PARTICIPANT_ROLES)[number];

export const TEMPLATE_CATEGORIES = ['greeting', 'order_update', 'support', 'general'] as const;

export const REPORT_REASONS = [
  'spam',
  'harassment',
  'inappropriate_content',
  'fake_information',
  'other',
] as const;
export const REPORT_STATUSES = ['pending', 'under_review', 'resolved', 'dismissed'] as const;
/** What a moderator did about a report. */
export const REPORT_ACTIONS = ['delete_message', 'mute_sender', 'block_sender', 'dismiss'] as const;

/** What a chat's messages may tell a participant on; chat never goes by SMS, which is for critical notices. */
export const NOTICE_CHANNELS = ['in_app', 'push', 'email'] as const;
export type NoticeChannel = (typeof NOTICE_CHANNELS)[number];
