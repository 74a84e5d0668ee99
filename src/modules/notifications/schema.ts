import { sql } from 'drizzle-orm';
import {
  index,
  integer,
  jsonb,
  pgTable,
  pgView,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { baseColumns } from '../../platform/columns.ts';
import { LANGUAGES } from '../../platform/i18n.ts';
import {
  CHANNELS,
  DELIVERY_STATUSES,
  DEVICE_PLATFORMS,
  INBOX_STATUSES,
  NOTIFICATION_TYPES,
  PRIORITIES,
} from './contract.ts';

/**
 * What one type of notification says on one channel in one language, in ICU MessageFormat. Seeded for every
 * type, channel and language at start; staff edit them.
 */
export const notificationTemplates = pgTable(
  'notification_templates',
  {
    ...baseColumns(),
    /** `<type>.<channel>.<language>`, for people reading lists. */
    name: text('name').notNull(),
    notificationType: text('notification_type', { enum: NOTIFICATION_TYPES }).notNull(),
    channel: text('channel', { enum: CHANNELS }).notNull(),
    language: text('language', { enum: LANGUAGES }).notNull(),
    subject: text('subject').notNull(),
    content: text('content').notNull(),
    /** Who last edited it; null while it is the seeded text. */
    updatedBy: uuid('updated_by'),
  },
  (t) => [
    uniqueIndex('notification_templates_type_channel_language_uq').on(
      t.notificationType,
      t.channel,
      t.language,
    ),
  ],
);

/**
 * One notification to one person about one event: the inbox item (when it went to `in_app`) and what each
 * channel's delivery belongs to. Time-partitioned by id (partitions.ts); (event_id, user_id) is unique
 * across the partitions through `user_notification_keys`.
 */
export const userNotifications = pgTable(
  'user_notifications',
  {
    ...baseColumns(),
    userId: uuid('user_id').notNull(),
    templateId: uuid('template_id').references(() => notificationTemplates.id),
    eventId: uuid('event_id').notNull(),
    eventType: text('event_type').notNull(),
    notificationType: text('notification_type', { enum: NOTIFICATION_TYPES }).notNull(),
    priority: text('priority', { enum: PRIORITIES }).notNull(),
    /** The channels it went to; the inbox shows those that went to `in_app`. */
    channels: text('channels', { enum: CHANNELS }).array().notNull(),
    subject: text('subject').notNull(),
    message: text('message').notNull(),
    link: text('link'),
    /** The ids it is about (`order_id`, `bid_id`, ...), for the app to open them. */
    contextData: jsonb('context_data').$type<Record<string, unknown>>().notNull().default({}),
    status: text('status', { enum: INBOX_STATUSES }).notNull().default('unread'),
    seenAt: timestamp('seen_at', { withTimezone: true }),
    readAt: timestamp('read_at', { withTimezone: true }),
    archivedAt: timestamp('archived_at', { withTimezone: true }),
  },
  (t) => [
    index('user_notifications_user_idx').on(t.userId, t.id),
    index('user_notifications_user_status_idx').on(t.userId, t.status, t.id),
  ],
);

/** user_notifications' (event_id, user_id), unique across its partitions (partitioned_unique_key). */
export const userNotificationKeys = pgTable(
  'user_notification_keys',
  {
    eventId: uuid('event_id').notNull(),
    userId: uuid('user_id').notNull(),
    id: uuid('id').notNull().unique(),
  },
  (t) => [primaryKey({ columns: [t.eventId, t.userId] })],
);

/**
 * One notification on one channel: its state, attempts, times and what the provider answered. The text is
 * rendered when the notification is made; the address is read when it is sent, so none is stored here.
 * Time-partitioned by id; (event_id, user_id, channel), the dedup key, is unique across the partitions
 * through `notification_delivery_keys`.
 */
export const notificationDeliveries = pgTable(
  'notification_deliveries',
  {
    ...baseColumns(),
    /** A user_notifications id: no foreign key to a partitioned table (ARCHITECTURE.md). */
    notificationId: uuid('notification_id').notNull(),
    userId: uuid('user_id').notNull(),
    eventId: uuid('event_id').notNull(),
    notificationType: text('notification_type', { enum: NOTIFICATION_TYPES }).notNull(),
    channel: text('channel', { enum: CHANNELS }).notNull(),
    priority: text('priority', { enum: PRIORITIES }).notNull(),
    status: text('status', { enum: DELIVERY_STATUSES }).notNull().default('pending'),
    subject: text('subject').notNull(),
    body: text('body').notNull(),
    link: text('link'),
    /** Push: messages with one key replace each other on the device (one per order or chat room). */
    collapseKey: text('collapse_key'),
    attempts: integer('attempts').notNull().default(0),
    /** When the next attempt is due, while pending. */
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
    /** A worker holds the delivery until then: a second worker does not send it at the same time. */
    lockedUntil: timestamp('locked_until', { withTimezone: true }),
    lastAttemptAt: timestamp('last_attempt_at', { withTimezone: true }),
    sentAt: timestamp('sent_at', { withTimezone: true }),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
    failedAt: timestamp('failed_at', { withTimezone: true }),
    providerMessageId: text('provider_message_id'),
    /** The provider's last answer, as the adapter reported it. */
    externalResponse: jsonb('external_response').$type<Record<string, unknown>>(),
  },
  (t) => [
    index('notification_deliveries_notification_idx').on(t.notificationId),
    index('notification_deliveries_user_idx').on(t.userId, t.id),
    index('notification_deliveries_pending_idx').on(t.nextAttemptAt).where(sql`status = 'pending'`),
  ],
);

/** notification_deliveries' (event_id, user_id, channel), unique across its partitions. */
export const notificationDeliveryKeys = pgTable(
  'notification_delivery_keys',
  {
    eventId: uuid('event_id').notNull(),
    userId: uuid('user_id').notNull(),
    channel: text('channel').notNull(),
    id: uuid('id').notNull().unique(),
  },
  (t) => [primaryKey({ columns: [t.eventId, t.userId, t.channel] })],
);

export const NOTIFICATION_LOG_ACTIONS = ['created', 'attempt', 'read', 'archived'] as const;

/**
 * What happened to a notification: made, each delivery attempt with its outcome and duration, read.
 * Time-partitioned by id.
 */
export const notificationLogs = pgTable(
  'notification_logs',
  {
    ...baseColumns(),
    notificationId: uuid('notification_id').notNull(),
    deliveryId: uuid('delivery_id'),
    userId: uuid('user_id').notNull(),
    action: text('action', { enum: NOTIFICATION_LOG_ACTIONS }).notNull(),
    channel: text('channel', { enum: CHANNELS }),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    /** `duration_ms` of an attempt. */
    performanceMetrics: jsonb('performance_metrics').$type<Record<string, number>>().notNull().default({}),
  },
  (t) => [
    index('notification_logs_notification_idx').on(t.notificationId, t.id),
    index('notification_logs_delivery_idx').on(t.deliveryId),
    index('notification_logs_user_idx').on(t.userId),
  ],
);

/**
 * A person's choices: a switch per channel (`{ "email": false }`), a choice per type and channel
 * (`{ "bid_received": { "push": false } }`) over the platform's defaults, and the timing rules of part 2.
 */
export const notificationPreferences = pgTable('notification_preferences', {
  ...baseColumns(),
  userId: uuid('user_id').notNull().unique('notification_preferences_user_uq'),
  channelPreferences: jsonb('channel_preferences').$type<Record<string, boolean>>().notNull().default({}),
  typePreferences: jsonb('type_preferences')
    .$type<Record<string, Record<string, boolean>>>()
    .notNull()
    .default({}),
  timingPreferences: jsonb('timing_preferences').$type<Record<string, unknown>>().notNull().default({}),
});

/**
 * A device that takes push messages: its FCM registration token, registered by a signed-in session. It
 * goes when its session ends (`session_ended`), when FCM answers that the token is invalid or
 * unregistered, or with the account's erasure. A token is one device's: registering it again moves it.
 */
export const notificationDevices = pgTable(
  'notification_devices',
  {
    ...baseColumns(),
    userId: uuid('user_id').notNull(),
    sessionId: uuid('session_id').notNull(),
    token: text('token').notNull().unique('notification_devices_token_uq'),
    platform: text('platform', { enum: DEVICE_PLATFORMS }).notNull(),
  },
  (t) => [index('notification_devices_user_idx').on(t.userId, t.id)],
);

/**
 * The seed's NotificationQueue: what staff read of the deliveries waiting in the job queue, the pending ones
 * with their priority, when they are due and how often they were tried. Not a queue of its own: the job
 * queue holds their jobs.
 */
export const notificationQueue = pgView('notification_queue', {
  id: uuid('id').notNull(),
  notificationId: uuid('notification_id').notNull(),
  userId: uuid('user_id').notNull(),
  channel: text('channel', { enum: CHANNELS }).notNull(),
  priority: text('priority', { enum: PRIORITIES }).notNull(),
  status: text('status', { enum: DELIVERY_STATUSES }).notNull(),
  scheduledAt: timestamp('scheduled_at', { withTimezone: true }).notNull(),
  retryCount: integer('retry_count').notNull(),
}).as(
  sql`select id, notification_id, user_id, channel, priority, status, next_attempt_at as scheduled_at,
    attempts as retry_count from notification_deliveries where status = 'pending'`,
);
