import { Type } from 'typebox';
import { actorOf } from '../../platform/auth.ts';
import { problems } from '../../platform/documentation.ts';
import { IdParams, type RoutesPlugin } from '../../platform/http.ts';
import { ListQuery } from '../../platform/pagination.ts';
import { Ref } from '../../platform/schemas.ts';
import {
  ChangedCountResponse,
  DevicePage,
  DeviceResponse,
  InboxQuery,
  NotificationPage,
  NotificationResponse,
  PreferencesResponse,
  RegisterDeviceBody,
  UnreadCountResponse,
  UpdatePreferencesBody,
} from './contract.ts';
import type { DeviceService } from './device-service.ts';
import type { InboxService } from './inbox-service.ts';
import type { PreferenceService } from './preference-service.ts';

/** A person's own inbox and preferences. */
export const notificationRoutes: RoutesPlugin<{
  inbox: InboxService;
  preferences: PreferenceService;
  devices: DeviceService;
}> = async (app, { inbox, preferences, devices }) => {
  const tags = ['notifications'];
  const user = { access: 'user' as const };
  // Marking is not creating: a repeated request lands on the same state, so no key is kept.
  const marking = { access: 'user' as const, idempotency: 'off' as const };

  app.get(
    '/me/notifications',
    {
      config: user,
      schema: {
        tags,
        operationId: 'listMyNotifications',
        summary: 'My in-app notifications, newest first',
        description:
          'Without `status`, unread and read items (not archived). Only the caller’s own items, in their notification language.',
        querystring: InboxQuery,
        response: { 200: Ref(NotificationPage) },
      },
    },
    async (request) => {
      const { limit, cursor, status, type } = request.query;
      return inbox.listNotifications(actorOf(request), { status, type }, { limit, cursor });
    },
  );

  app.get(
    '/me/notifications/unread-count',
    {
      config: user,
      schema: {
        tags,
        operationId: 'countMyUnreadNotifications',
        summary: 'How many of my notifications are unread',
        description: 'For the badge on the app’s bell; archived items do not count.',
        response: { 200: Ref(UnreadCountResponse) },
      },
    },
    async (request) => inbox.unreadCount(actorOf(request)),
  );

  app.post(
    '/me/notifications/seen',
    {
      config: marking,
      schema: {
        tags,
        operationId: 'markMyNotificationsSeen',
        summary: 'Mark every notification I have not seen as seen',
        description: 'The app opened the inbox: items get `seen_at` and stay unread until read.',
        response: { 200: Ref(ChangedCountResponse) },
      },
    },
    async (request) => inbox.markSeen(actorOf(request)),
  );

  app.post(
    '/me/notifications/read-all',
    {
      config: marking,
      schema: {
        tags,
        operationId: 'markAllMyNotificationsRead',
        summary: 'Mark every unread notification of mine read',
        description: 'Archived items stay as they are.',
        response: { 200: Ref(ChangedCountResponse) },
      },
    },
    async (request) => inbox.markAllRead(actorOf(request)),
  );

  app.post(
    '/me/notifications/:id/read',
    {
      config: marking,
      schema: {
        tags,
        operationId: 'markMyNotificationRead',
        summary: 'Mark one of my notifications read',
        description:
          'Reading it again keeps when it was first read; an archived item stays archived. Another person’s id is 404 `notification_not_found`.',
        params: IdParams,
        response: { 200: Ref(NotificationResponse), ...problems({ 404: ['notification_not_found'] }) },
      },
    },
    async (request) => inbox.markRead(actorOf(request), request.params.id),
  );

  app.post(
    '/me/notifications/:id/archive',
    {
      config: marking,
      schema: {
        tags,
        operationId: 'archiveMyNotification',
        summary: 'Put one of my notifications away',
        description:
          'It leaves the default list and the unread count; `status=archived` lists it. Another person’s id is 404 `notification_not_found`.',
        params: IdParams,
        response: { 200: Ref(NotificationResponse), ...problems({ 404: ['notification_not_found'] }) },
      },
    },
    async (request) => inbox.archive(actorOf(request), request.params.id),
  );

  app.get(
    '/me/notification-preferences',
    {
      config: user,
      schema: {
        tags,
        operationId: 'getMyNotificationPreferences',
        summary: 'What I hear about, and where: every type and channel',
        description:
          'Each cell gives its effective value (`enabled`): the user’s choice for the type and channel, else the platform’s default, and off when the user switched the channel off; a critical type’s default channels are always on (`locked`).',
        response: { 200: Ref(PreferencesResponse) },
      },
    },
    async (request) => preferences.getPreferences(actorOf(request)),
  );

  app.put(
    '/me/notification-preferences',
    {
      config: user,
      schema: {
        tags,
        operationId: 'updateMyNotificationPreferences',
        summary: 'Change my channel switches and my choices per type and channel',
        description:
          'Only what the body names changes; null puts a cell back to the platform’s default. Turning off a critical type’s channel is 409 `notification_type_critical`, turning on SMS for a type that never uses it 409 `channel_not_allowed`; either changes nothing.',
        body: Ref(UpdatePreferencesBody),
        response: {
          200: Ref(PreferencesResponse),
          ...problems({ 409: ['channel_not_allowed', 'notification_type_critical'] }),
        },
      },
    },
    async (request) => preferences.updatePreferences(actorOf(request), request.body),
  );

  app.post(
    '/me/devices',
    {
      config: { access: 'user', location: '/me/devices/{id}' },
      schema: {
        tags,
        operationId: 'registerMyDevice',
        summary: 'Register this device’s push token for my session',
        description:
          'The device takes my push messages while this session lasts: it goes when the session ends, when FCM says the token is invalid or unregistered, or with the account’s erasure. A token registered before (by any session) moves to this one.',
        body: Ref(RegisterDeviceBody),
        response: {
          201: Ref(DeviceResponse),
          ...problems({ 400: ['invalid_text'], 404: ['device_not_found'] }),
        },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await devices.registerDevice(actorOf(request), request.body)),
  );

  app.get(
    '/me/devices',
    {
      config: user,
      schema: {
        tags,
        operationId: 'listMyDevices',
        summary: 'My devices that take push messages, newest first',
        description: 'Their tokens are not shown.',
        querystring: ListQuery({}),
        response: { 200: Ref(DevicePage) },
      },
    },
    async (request) => devices.listDevices(actorOf(request), request.query),
  );

  app.delete(
    '/me/devices/:id',
    {
      config: user,
      schema: {
        tags,
        operationId: 'removeMyDevice',
        summary: 'Stop push messages to one of my devices',
        description: 'Another person’s device is 404 `device_not_found`.',
        params: IdParams,
        response: { 204: Type.Null(), ...problems({ 404: ['device_not_found'] }) },
      },
    },
    async (request, reply) => {
      await devices.removeDevice(actorOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  );
};
