import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { baseColumns } from '../../platform/columns.ts';
import { encryptedColumn } from '../../platform/encrypted-columns.ts';
import type { TranslationsValue } from '../../platform/i18n.ts';
import {
  CHAT_TYPES,
  MESSAGE_TYPES,
  PARTICIPANT_ROLES,
  REPORT_ACTIONS,
  REPORT_REASONS,
  REPORT_STATUSES,
  TEMPLATE_CATEGORIES,
} from './enums.ts';

/**
 * A conversation: an order's chat (opened when a bid is accepted), a support chat with staff, or a direct
 * chat between a client and a provider. `last_seq` and `last_change_seq` are the room's counters, moved in
 * the transaction of each message and change, so the room's row lock orders them.
 */
export const chatRooms = pgTable(
  'chat_rooms',
  {
    ...baseColumns(),
    chatType: text('chat_type', { enum: CHAT_TYPES }).notNull(),
    title: text('title'),
    /** The order of an order chat: an orders id, by value (another module's row). */
    orderId: uuid('order_id'),
    /** The two parties of an order or direct chat. */
    clientUserId: uuid('client_user_id'),
    providerUserId: uuid('provider_user_id'),
    /** Who opened a support chat. */
    requesterUserId: uuid('requester_user_id'),
    isActive: boolean('is_active').notNull().default(true),
    lastSeq: bigint('last_seq', { mode: 'number' }).notNull().default(0),
    lastChangeSeq: bigint('last_change_seq', { mode: 'number' }).notNull().default(0),
    lastMessageAt: timestamp('last_message_at', { withTimezone: true }),
    /** A support chat closed by staff, or the moment an order chat's order was completed or cancelled. */
    closedAt: timestamp('closed_at', { withTimezone: true }),
    /** The order's latest dispute, from the orders' events: moderators handling it read the chat. */
    disputeId: uuid('dispute_id'),
    /** Set by moderators: a participant sends at most one message per this many seconds. */
    slowModeSeconds: integer('slow_mode_seconds').notNull().default(0),
  },
  (t) => [
    uniqueIndex('chat_rooms_order_uq').on(t.orderId).where(sql`chat_type = 'order_chat'`),
    uniqueIndex('chat_rooms_pair_uq')
      .on(t.clientUserId, t.providerUserId)
      .where(sql`chat_type = 'general_chat'`),
    index('chat_rooms_support_queue_idx').on(t.chatType, t.id).where(sql`closed_at is null`),
    index('chat_rooms_requester_idx').on(t.requesterUserId),
    index('chat_rooms_client_idx').on(t.clientUserId),
    index('chat_rooms_provider_idx').on(t.providerUserId),
  ],
);

/**
 * A person in a room: their part, when they joined and left, their read state (`last_read_seq`, never per
 * message), when the room last saw them, and what moderators or the other party set on them.
 */
export const chatParticipants = pgTable(
  'chat_participants',
  {
    ...baseColumns(),
    roomId: uuid('room_id')
      .notNull()
      .references(() => chatRooms.id),
    userId: uuid('user_id').notNull(),
    role: text('role', { enum: PARTICIPANT_ROLES }).notNull(),
    joinedAt: timestamp('joined_at', { withTimezone: true }).notNull().defaultNow(),
    leftAt: timestamp('left_at', { withTimezone: true }),
    /** A moderator muted them in this room: they read, but may not send, until then. */
    mutedUntil: timestamp('muted_until', { withTimezone: true }),
    lastReadSeq: bigint('last_read_seq', { mode: 'number' }).notNull().default(0),
    /** The room's change_seq of their last read receipt. */
    readChangeSeq: bigint('read_change_seq', { mode: 'number' }).notNull().default(0),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }),
    /** In a direct chat: they blocked the other party, and no one sends in the room since. */
    blockedAt: timestamp('blocked_at', { withTimezone: true }),
    /** The seed's notification_preferences: what this room's messages tell them (`{"push": false}`). */
    notificationPreferences: jsonb('notification_preferences')
      .$type<Record<string, boolean>>()
      .notNull()
      .default({}),
    /** When they last sent, for the room's slow mode. */
    lastSentAt: timestamp('last_sent_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('chat_participants_room_user_uq').on(t.roomId, t.userId),
    index('chat_participants_user_idx').on(t.userId),
  ],
);

/** What a message's attachment is, beside its name (encrypted in `attachment_names_encrypted`). */
export interface StoredAttachment {
  file_id: string;
  content_type: string;
  size_bytes: number;
}

/**
 * One message of a room, in its room's `seq` order. Time-partitioned by id (partitions.ts): (room_id, seq)
 * and (room_id, client_message_id) are unique across the partitions through the key tables below. The text
 * and the attachments' names are ciphertext of the platform's key ring; a tombstone (deleted, erased, or
 * past the text's retention) keeps the row and its seq with neither.
 */
export const chatMessages = pgTable(
  'chat_messages',
  {
    ...baseColumns(),
    roomId: uuid('room_id')
      .notNull()
      .references(() => chatRooms.id),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    /** The room's change_seq of its last edit or delete; null while it is as sent. */
    changeSeq: bigint('change_seq', { mode: 'number' }),
    /** Null for the server's own messages. */
    senderUserId: uuid('sender_user_id'),
    messageType: text('message_type', { enum: MESSAGE_TYPES }).notNull(),
    contentEncrypted: text('content_encrypted'),
    /** A server message: its text's key and parameters, rendered in each reader's language. */
    templateKey: text('template_key'),
    templateParams: jsonb('template_params').$type<Record<string, string | number>>(),
    attachments: jsonb('attachments').$type<StoredAttachment[]>().notNull().default([]),
    /** The attachments' file names, a JSON array in their order, encrypted. */
    attachmentNamesEncrypted: text('attachment_names_encrypted'),
    replyToId: uuid('reply_to_id'),
    clientMessageId: text('client_message_id'),
    /** Contact details or an off-platform deal found in the text: masked for the recipient, shown to moderators. */
    contactFlagged: boolean('contact_flagged').notNull().default(false),
    editedAt: timestamp('edited_at', { withTimezone: true }),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
    /** The author, a moderator resolving a report, or the erasure of the author's account. */
    deletedBy: text('deleted_by', { enum: ['author', 'moderator', 'erasure'] }),
    /** The text was deleted after its retention; the row stays as metadata. */
    textExpiredAt: timestamp('text_expired_at', { withTimezone: true }),
  },
  (t) => [
    index('chat_messages_room_seq_idx').on(t.roomId, t.seq),
    index('chat_messages_room_created_idx').on(t.roomId, t.createdAt),
    index('chat_messages_room_change_idx').on(t.roomId, t.changeSeq).where(sql`change_seq is not null`),
    index('chat_messages_sender_idx').on(t.senderUserId),
  ],
);

/** chat_messages' (room_id, seq), unique across its partitions (partitioned_unique_key). */
export const chatMessageSeqs = pgTable(
  'chat_message_seqs',
  {
    roomId: uuid('room_id').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    id: uuid('id').notNull().unique(),
  },
  (t) => [primaryKey({ columns: [t.roomId, t.seq] })],
);

/** chat_messages' (room_id, client_message_id), unique across its partitions: a retried send finds its first. */
export const chatMessageClientIds = pgTable(
  'chat_message_client_ids',
  {
    roomId: uuid('room_id').notNull(),
    clientMessageId: text('client_message_id').notNull(),
    id: uuid('id').notNull().unique(),
  },
  (t) => [primaryKey({ columns: [t.roomId, t.clientMessageId] })],
);

/** A text staff prepared, in ru, ky and en with named ICU variables, for the roles that may send it. */
export const chatTemplates = pgTable(
  'chat_templates',
  {
    ...baseColumns(),
    name: text('name').notNull(),
    category: text('category', { enum: TEMPLATE_CATEGORIES }).notNull(),
    content: jsonb('content').$type<TranslationsValue>().notNull(),
    variables: text('variables').array().notNull().default(sql`'{}'::text[]`),
    /** Who may send it: `client`, `provider`, `staff`. */
    roles: text('roles').array().notNull().default(sql`'{}'::text[]`),
    isActive: boolean('is_active').notNull().default(true),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
    updatedBy: uuid('updated_by'),
  },
  (t) => [index('chat_templates_category_idx').on(t.category, t.id)],
);

/** A participant's report of a message, and what a moderator did about it. */
export const chatReports = pgTable(
  'chat_reports',
  {
    ...baseColumns(),
    roomId: uuid('room_id')
      .notNull()
      .references(() => chatRooms.id),
    /** A chat_messages id: no foreign key to a partitioned table (ARCHITECTURE.md). */
    messageId: uuid('message_id').notNull(),
    reporterUserId: uuid('reporter_user_id').notNull(),
    reportedUserId: uuid('reported_user_id'),
    reason: text('reason', { enum: REPORT_REASONS }).notNull(),
    description: text('description'),
    evidenceFileIds: uuid('evidence_file_ids').array().notNull().default(sql`'{}'::uuid[]`),
    status: text('status', { enum: REPORT_STATUSES }).notNull().default('pending'),
    reviewedByUserId: uuid('reviewed_by_user_id'),
    reviewedAt: timestamp('reviewed_at', { withTimezone: true }),
    action: text('action', { enum: REPORT_ACTIONS }),
    resolutionNote: text('resolution_note'),
  },
  (t) => [
    uniqueIndex('chat_reports_message_reporter_uq').on(t.messageId, t.reporterUserId),
    index('chat_reports_status_idx').on(t.status, t.id),
    index('chat_reports_reporter_idx').on(t.reporterUserId),
    index('chat_reports_reported_idx').on(t.reportedUserId),
  ],
);

/** A person kept out of every chat until a time, by a moderator resolving a report. */
export const chatRestrictions = pgTable(
  'chat_restrictions',
  {
    ...baseColumns(),
    userId: uuid('user_id').notNull(),
    until: timestamp('until', { withTimezone: true }).notNull(),
    reportId: uuid('report_id').references(() => chatReports.id),
    createdByUserId: uuid('created_by_user_id'),
  },
  (t) => [index('chat_restrictions_user_idx').on(t.userId, t.until)],
);

/** The chat's ciphertext columns, for key rotation (ARCHITECTURE.md, "Encrypted columns"). */
export const chatEncryptedColumns = [
  encryptedColumn(chatMessages, 'contentEncrypted'),
  encryptedColumn(chatMessages, 'attachmentNamesEncrypted'),
];
