import { desc, eq } from 'drizzle-orm';
import { Type } from 'typebox';
import { defineDataRights, EXPORT_LIMIT } from '../../platform/data-rights.ts';
import type { Db } from '../../platform/db.ts';
import { Nullable } from '../../platform/http.ts';
import { Component, DateTime, Ref, Uuid } from '../../platform/schemas.ts';
import { CHANNELS, DELIVERY_STATUSES, DeviceResponse, NotificationResponse } from './contract.ts';
import { deviceView } from './device-service.ts';
import { notificationView } from './inbox-service.ts';
import {
  NOTIFICATION_LOG_ACTIONS,
  notificationDeliveries,
  notificationDeliveryKeys,
  notificationDevices,
  notificationLogs,
  notificationPreferences,
  userNotificationKeys,
  userNotifications,
} from './schema.ts';

const ExportedNotification = Component(
  'ExportedNotification',
  Type.Object({ ...NotificationResponse.properties, channels: Type.Array(Type.Enum(CHANNELS)) }),
);

const ExportedDelivery = Component(
  'ExportedNotificationDelivery',
  Type.Object({
    id: Uuid,
    notification_id: Uuid,
    channel: Type.Enum(CHANNELS),
    status: Type.Enum(DELIVERY_STATUSES),
    attempts: Type.Integer(),
    created_at: DateTime,
    sent_at: Nullable(DateTime),
    delivered_at: Nullable(DateTime),
    failed_at: Nullable(DateTime),
  }),
);

const ExportedLogEntry = Component(
  'ExportedNotificationLogEntry',
  Type.Object({
    notification_id: Uuid,
    action: Type.Enum(NOTIFICATION_LOG_ACTIONS),
    channel: Nullable(Type.Enum(CHANNELS)),
    created_at: DateTime,
  }),
);

const ExportedPreferences = Component(
  'ExportedNotificationPreferences',
  Type.Object({
    channels: Type.Record(Type.String(), Type.Boolean()),
    types: Type.Record(Type.String(), Type.Record(Type.String(), Type.Boolean())),
  }),
);

const NotificationsSection = Component(
  'NotificationsExport',
  Type.Object({
    notifications: Type.Array(Ref(ExportedNotification), {
      description: 'Every notification made for the person, newest first',
    }),
    deliveries: Type.Array(Ref(ExportedDelivery), {
      description: 'How each notification went out on each channel, newest first',
    }),
    log: Type.Array(Ref(ExportedLogEntry), {
      description: 'What happened to each notification, newest first',
    }),
    devices: Type.Array(Ref(DeviceResponse), {
      description: 'The devices registered for push, newest first',
    }),
    preferences: Nullable(Ref(ExportedPreferences)),
  }),
);

const notificationsOf = (userId: string) => eq(userNotifications.userId, userId);
const deliveriesOf = (userId: string) => eq(notificationDeliveries.userId, userId);
const logsOf = (userId: string) => eq(notificationLogs.userId, userId);
const preferencesOf = (userId: string) => eq(notificationPreferences.userId, userId);
const devicesOf = (userId: string) => eq(notificationDevices.userId, userId);

/**
 * The notifications module's tables: a person's notifications, their deliveries and log, and their
 * preferences. Erasure deletes them all (their dedup keys go with their rows, by the key trigger);
 * notifications and their deliveries and log are kept for the retention settings' days.
 */
export function notificationDataRights({ db }: { db: Db }) {
  return defineDataRights({
    module: 'notifications',
    section: NotificationsSection,
    tables: [
      {
        table: userNotifications,
        rowsOf: notificationsOf,
        export: ['notifications'],
        erasure: { action: 'delete', detail: 'every notification made for the person' },
        retention: {
          setting: 'notification_retention_days',
          days: 180,
          after: userNotifications.createdAt,
        },
        archived: false,
      },
      {
        table: userNotificationKeys,
        rowsOf: (userId) => eq(userNotificationKeys.userId, userId),
        export: { omitted: 'the dedup keys of the notifications exported above' },
        erasure: { action: 'delete', detail: 'with the notifications they belong to' },
        archived: false,
      },
      {
        table: notificationDeliveries,
        rowsOf: deliveriesOf,
        export: ['deliveries'],
        erasure: { action: 'delete', detail: 'every delivery of the person’s notifications' },
        retention: {
          setting: 'notification_delivery_retention_days',
          days: 90,
          after: notificationDeliveries.createdAt,
        },
        archived: false,
      },
      {
        table: notificationDeliveryKeys,
        rowsOf: (userId) => eq(notificationDeliveryKeys.userId, userId),
        export: { omitted: 'the dedup keys of the deliveries exported above' },
        erasure: { action: 'delete', detail: 'with the deliveries they belong to' },
        archived: false,
      },
      {
        table: notificationLogs,
        rowsOf: logsOf,
        export: ['log'],
        erasure: { action: 'delete', detail: 'the log of the person’s notifications' },
        retention: {
          setting: 'notification_delivery_retention_days',
          days: 90,
          after: notificationLogs.createdAt,
        },
        archived: false,
      },
      {
        table: notificationDevices,
        rowsOf: devicesOf,
        export: ['devices'],
        erasure: { action: 'delete', detail: 'every device registered for push, with its token' },
        archived: false,
      },
      {
        table: notificationPreferences,
        rowsOf: preferencesOf,
        export: ['preferences'],
        erasure: { action: 'delete', detail: 'the person’s choices' },
        archived: false,
      },
    ],

    async export({ userId }) {
      const notifications = await db
        .select()
        .from(userNotifications)
        .where(notificationsOf(userId))
        .orderBy(desc(userNotifications.id))
        .limit(EXPORT_LIMIT);
      const deliveries = await db
        .select()
        .from(notificationDeliveries)
        .where(deliveriesOf(userId))
        .orderBy(desc(notificationDeliveries.id))
        .limit(EXPORT_LIMIT);
      const log = await db
        .select()
        .from(notificationLogs)
        .where(logsOf(userId))
        .orderBy(desc(notificationLogs.id))
        .limit(EXPORT_LIMIT);
      const devices = await db
        .select()
        .from(notificationDevices)
        .where(devicesOf(userId))
        .orderBy(desc(notificationDevices.id))
        .limit(EXPORT_LIMIT);
      const [preferences] = await db.select().from(notificationPreferences).where(preferencesOf(userId));
      return {
        notifications: notifications.map((n) => ({ ...notificationView(n), channels: n.channels })),
        deliveries: deliveries.map((d) => ({
          id: d.id,
          notification_id: d.notificationId,
          channel: d.channel,
          status: d.status,
          attempts: d.attempts,
          created_at: d.createdAt.toISOString(),
          sent_at: d.sentAt?.toISOString() ?? null,
          delivered_at: d.deliveredAt?.toISOString() ?? null,
          failed_at: d.failedAt?.toISOString() ?? null,
        })),
        log: log.map((l) => ({
          notification_id: l.notificationId,
          action: l.action,
          channel: l.channel,
          created_at: l.createdAt.toISOString(),
        })),
        devices: devices.map(deviceView),
        preferences: preferences
          ? { channels: preferences.channelPreferences, types: preferences.typePreferences }
          : null,
      };
    },

    async erase({ userId }, erasure) {
      const gone = await db
        .delete(userNotifications)
        .where(notificationsOf(userId))
        .returning({ id: userNotifications.id });
      await db.delete(notificationDeliveries).where(deliveriesOf(userId));
      await db.delete(notificationLogs).where(logsOf(userId));
      await db.delete(notificationPreferences).where(preferencesOf(userId));
      await db.delete(notificationDevices).where(devicesOf(userId));
      erasure.forget(gone.map((n) => n.id));
    },
  });
}
