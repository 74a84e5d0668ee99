import { type Static, type TSchema, Type } from 'typebox';
import { Nullable } from '../../platform/http.ts';
import { LanguageCodeSchema } from '../../platform/i18n.ts';
import { ListQuery, OneOrMore, Page } from '../../platform/pagination.ts';
import { Component, DateTime, Ref, Uuid } from '../../platform/schemas.ts';
import { Text } from '../../platform/validation.ts';

/**
 * What a notification is about (DOMAIN.md), with the three the system needs that the seed lacks:
 * `review_received`, `new_sign_in` and `refund_update`.
 */
export const NOTIFICATION_TYPES = [
  'bid_received',
  'bid_accepted',
  'bid_rejected',
  'order_assigned',
  'order_update',
  'order_completed',
  'chat_message',
  'payment_success',
  'payment_failed',
  'refund_update',
  'dispute_update',
  'review_received',
  'verification_update',
  'new_sign_in',
  'system_alert',
  'promotional',
] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

export const CHANNELS = ['in_app', 'push', 'email', 'sms'] as const;
export type Channel = (typeof CHANNELS)[number];
/** The channels an adapter sends on; `in_app` is the inbox itself. */
export type OutboundChannel = Exclude<Channel, 'in_app'>;
export const isOutbound = (channel: Channel): channel is OutboundChannel => channel !== 'in_app';

export const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;

export const DEVICE_PLATFORMS = ['android', 'ios', 'web'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const DELIVERY_STATUSES = ['pending', 'sent', 'delivered', 'failed', 'bounced', 'cancelled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** Where an inbox item is: new, opened, or put away. */
export const INBOX_STATUSES = ['unread', 'read', 'archived'] as const;
export type InboxStatus = (typeof INBOX_STATUSES)[number];

/**
 * Types a person must hear about whatever they chose: someone signed in to their account, money moved.
 * Their channels that are on by default cannot be turned off.
 */
export const CRITICAL_TYPES: readonly NotificationType[] = [
  'new_sign_in',
  'payment_success',
  'payment_failed',
  'refund_update',
];

/** SMS costs money: only the critical types may go by SMS, never promotional mail. */
export const channelAllowed = (type: NotificationType, channel: Channel) =>
  channel !== 'sms' || CRITICAL_TYPES.includes(type);

/** An object with one property of `schema` for each of `keys`. */
const keyed = <K extends string, S extends TSchema>(keys: readonly K[], schema: S) =>
  Object.fromEntries(keys.map((k) => [k, schema])) as Record<K, S>;

export const NotificationResponse = Component(
  'Notification',
  Type.Object(
    {
      id: Uuid,
      type: Type.Enum(NOTIFICATION_TYPES),
      priority: Type.Enum(PRIORITIES),
      status: Type.Enum(INBOX_STATUSES),
      subject: Type.String({ description: 'In the recipient’s notification language' }),
      message: Type.String(),
      link: Nullable(
        Type.String({ description: 'Where the app opens: a deep link to the order, chat, ...' }),
      ),
      context: Type.Record(Type.String(), Type.Unknown(), {
        description: 'The ids the notification is about (`order_id`, `bid_id`, ...)',
      }),
      created_at: DateTime,
      seen_at: Nullable(DateTime),
      read_at: Nullable(DateTime),
      archived_at: Nullable(DateTime),
    },
    { description: 'One item of the in-app inbox' },
  ),
);
export type NotificationView = Static<typeof NotificationResponse>;

export const InboxQuery = ListQuery({
  status: OneOrMore(INBOX_STATUSES, 'Only items in these states; without it, unread and read (not archived)'),
  type: OneOrMore(NOTIFICATION_TYPES, 'Only items of these types'),
});
export type InboxFilter = Pick<Static<typeof InboxQuery>, 'status' | 'type'>;

export const UnreadCountResponse = Component(
  'NotificationUnreadCount',
  Type.Object(
    { unread: Type.Integer({ minimum: 0 }) },
    { description: 'Unread inbox items, archived ones aside' },
  ),
);

export const ChangedCountResponse = Component(
  'NotificationsChanged',
  Type.Object({ changed: Type.Integer({ minimum: 0, description: 'How many items this changed' }) }, {}),
);

const Cell = Component(
  'NotificationPreferenceCell',
  Type.Object({
    enabled: Type.Boolean({ description: 'What is sent: the effective value of the cell' }),
    choice: Nullable(
      Type.Boolean({ description: 'The user’s own choice for this type and channel; null: none' }),
    ),
    default: Type.Boolean({ description: 'The platform’s default for this type and channel' }),
    locked: Type.Boolean({
      description: 'A critical type’s channel that is always on, or a channel the type never uses (SMS)',
    }),
  }),
);

const ChannelSwitches = Component(
  'NotificationChannelSwitches',
  Type.Object(keyed(CHANNELS, Type.Boolean()), {
    description: 'The user’s switch per channel; off stops every type but the critical ones',
  }),
);

const TypePreference = Component(
  'NotificationTypePreference',
  Type.Object({
    type: Type.Enum(NOTIFICATION_TYPES),
    critical: Type.Boolean(),
    channels: Ref(Component('NotificationPreferenceCells', Type.Object(keyed(CHANNELS, Ref(Cell))))),
  }),
);

export const PreferencesResponse = Component(
  'NotificationPreferences',
  Type.Object(
    {
      channels: Ref(ChannelSwitches),
      types: Type.Array(Ref(TypePreference), {
        description: 'Every type, in a fixed order, with every channel',
      }),
    },
    { description: 'What the user hears about, and where' },
  ),
);
export type PreferencesView = Static<typeof PreferencesResponse>;

const ChoiceMap = Component(
  'NotificationChannelChoices',
  Type.Object(keyed(CHANNELS, Type.Optional(Nullable(Type.Boolean()))), {
    additionalProperties: false,
    description: 'Per channel: on, off, or null for the platform default',
  }),
);

const SwitchChanges = Component(
  'NotificationChannelSwitchChanges',
  Type.Object(keyed(CHANNELS, Type.Optional(Type.Boolean())), {
    additionalProperties: false,
    description: 'The user’s switch per channel',
  }),
);

const TypeChoices = Component(
  'NotificationTypeChoices',
  Type.Object(keyed(NOTIFICATION_TYPES, Type.Optional(Ref(ChoiceMap))), { additionalProperties: false }),
);

export const UpdatePreferencesBody = Component(
  'UpdateNotificationPreferencesBody',
  Type.Object(
    {
      channels: Type.Optional(Ref(SwitchChanges)),
      types: Type.Optional(Ref(TypeChoices)),
    },
    { additionalProperties: false },
  ),
);
export type UpdatePreferencesInput = Static<typeof UpdatePreferencesBody>;

export const TemplateResponse = Component(
  'NotificationTemplate',
  Type.Object(
    {
      id: Uuid,
      name: Type.String(),
      type: Type.Enum(NOTIFICATION_TYPES),
      channel: Type.Enum(CHANNELS),
      language: LanguageCodeSchema,
      subject: Type.String({ description: 'ICU MessageFormat' }),
      content: Type.String({ description: 'ICU MessageFormat' }),
      updated_at: DateTime,
    },
    { description: 'A template of one type, channel and language' },
  ),
);
export type TemplateView = Static<typeof TemplateResponse>;

export const TemplateQuery = ListQuery({
  type: OneOrMore(NOTIFICATION_TYPES, 'Only templates of these types'),
});

export const UpdateTemplateBody = Component(
  'UpdateNotificationTemplateBody',
  Type.Object(
    {
      subject: Text({ maxLength: 500 }),
      content: Text({ maxLength: 5000 }),
    },
    { additionalProperties: false },
  ),
);
export type UpdateTemplateInput = Static<typeof UpdateTemplateBody>;

export const QueueEntryResponse = Component(
  'NotificationQueueEntry',
  Type.Object(
    {
      id: Uuid,
      notification_id: Uuid,
      user_id: Uuid,
      channel: Type.Enum(CHANNELS),
      priority: Type.Enum(PRIORITIES),
      status: Type.Enum(DELIVERY_STATUSES),
      scheduled_at: DateTime,
      retry_count: Type.Integer({ minimum: 0 }),
    },
    { description: 'A delivery waiting for its next attempt' },
  ),
);

export const QueueQuery = ListQuery({
  channel: OneOrMore(CHANNELS, 'Only deliveries on these channels'),
});

export const PreviewTemplateBody = Component(
  'PreviewNotificationTemplateBody',
  Type.Object(
    {
      subject: Type.Optional(Text({ maxLength: 500 })),
      content: Type.Optional(Text({ maxLength: 5000 })),
    },
    {
      additionalProperties: false,
      description: 'Text to preview in place of the stored one; leave out to preview it',
    },
  ),
);

export const PreviewResponse = Component(
  'NotificationTemplatePreview',
  Type.Object(
    { subject: Type.String(), content: Type.String() },
    { description: 'The template rendered against sample values' },
  ),
);

export const TestSendResponse = Component(
  'NotificationTestSend',
  Type.Object(
    {
      channel: Type.Enum(CHANNELS),
      status: Type.Enum(DELIVERY_STATUSES),
      provider_message_id: Nullable(Type.String()),
    },
    { description: 'How the test message to the caller went' },
  ),
);

export const RegisterDeviceBody = Component(
  'RegisterDeviceBody',
  Type.Object(
    {
      token: Type.String({ minLength: 1, maxLength: 4096, description: 'The FCM registration token' }),
      platform: Type.Enum(DEVICE_PLATFORMS),
    },
    { additionalProperties: false },
  ),
);
export type RegisterDeviceInput = Static<typeof RegisterDeviceBody>;

export const DeviceResponse = Component(
  'NotificationDevice',
  Type.Object(
    {
      id: Uuid,
      platform: Type.Enum(DEVICE_PLATFORMS),
      session_id: Uuid,
      created_at: DateTime,
      updated_at: DateTime,
    },
    {
      description: 'A device of mine that takes push messages (its token not shown)',
    },
  ),
);
export type DeviceView = Static<typeof DeviceResponse>;

export const NotificationPage = Page('NotificationPage', NotificationResponse);
export const DevicePage = Page('DevicePage', DeviceResponse);
export const TemplatePage = Page('NotificationTemplatePage', TemplateResponse);
export const QueuePage = Page('NotificationQueuePage', QueueEntryResponse);
