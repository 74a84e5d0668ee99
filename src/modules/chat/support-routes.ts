import { Type } from 'typebox';
import { actorOf } from '../../platform/auth.ts';
import { problems } from '../../platform/documentation.ts';
import { IdParams, type RoutesPlugin } from '../../platform/http.ts';
import { Ref } from '../../platform/schemas.ts';
import {
  OpenSupportChatBody,
  RoomNoticePreferences,
  RoomNoticePreferencesBody,
  RoomPage,
  RoomResponse,
  SupportQueueQuery,
} from './contract.ts';
import type { DirectService } from './direct-service.ts';
import type { NoticePreferences } from './notice-preferences.ts';
import { languageOf } from './routes.ts';
import { SUPPORT_STAFF, type SupportService } from './support-service.ts';

/**
 * Opening chats other than an order's (support with staff, direct between a client and a provider), and a
 * participant's own place in a chat: leaving it, blocking, what it tells them.
 */
export const chatOpeningRoutes: RoutesPlugin<{
  support: SupportService;
  direct: DirectService;
  noticePreferences: NoticePreferences;
}> = async (app, { support, direct, noticePreferences }) => {
  const tags = ['chat'];
  const staff = { access: [...SUPPORT_STAFF] };

  app.post(
    '/me/support-chats',
    {
      config: { access: 'user', location: '/chats/{id}' },
      schema: {
        tags,
        operationId: 'openSupportChat',
        summary: 'Open a chat with support',
        description:
          'One open support chat per person: while one is open, this answers it (200) instead of opening another (201). Staff see it in their queue until one of them takes it.',
        body: Ref(OpenSupportChatBody),
        response: { 200: Ref(RoomResponse), 201: Ref(RoomResponse) },
      },
    },
    async (request, reply) => {
      const { created, room } = await support.openSupportChat(
        actorOf(request),
        request.body.title,
        languageOf(request),
      );
      return reply.status(created ? 201 : 200).send(room);
    },
  );

  app.get(
    '/support-chats',
    {
      config: staff,
      schema: {
        tags,
        operationId: 'listSupportQueue',
        summary: 'Support chats waiting for staff, oldest first',
        description: 'Open support chats no staff member took yet.',
        querystring: SupportQueueQuery,
        response: { 200: Ref(RoomPage) },
      },
    },
    async (request) => support.listQueue(actorOf(request), request.query, languageOf(request)),
  );

  app.post(
    '/support-chats/:id/take',
    {
      config: { ...staff, idempotency: 'off' },
      schema: {
        tags,
        operationId: 'takeSupportChat',
        summary: 'Take a support chat from the queue',
        description:
          'The caller becomes its participant and answers in it like any participant; its person is told who answers. Taking one’s own chat again changes nothing; one another staff member took is 409 `support_chat_taken`.',
        params: IdParams,
        response: {
          200: Ref(RoomResponse),
          ...problems({ 404: ['chat_not_found'], 409: ['chat_closed', 'support_chat_taken'] }),
        },
      },
    },
    async (request) => support.takeSupportChat(actorOf(request), request.params.id, languageOf(request)),
  );

  app.post(
    '/support-chats/:id/close',
    {
      config: { ...staff, idempotency: 'off' },
      schema: {
        tags,
        operationId: 'closeSupportChat',
        summary: 'Close a support chat I took',
        description:
          'It stays readable and takes no more messages. Only the staff member who took it closes it.',
        params: IdParams,
        response: { 200: Ref(RoomResponse), ...problems({ 404: ['chat_not_found'] }) },
      },
    },
    async (request) => support.closeSupportChat(actorOf(request), request.params.id, languageOf(request)),
  );

  app.post(
    '/providers/:id/chat',
    {
      config: { access: ['client'], location: '/chats/{id}' },
      schema: {
        tags,
        operationId: 'openDirectChat',
        summary: 'Write to a provider from their public profile',
        description:
          'Clients only: a provider cannot start a chat. One chat per client and provider: the first call opens it (201), later ones answer it (200). Contact details in it are hidden from the recipient.',
        params: IdParams,
        response: {
          200: Ref(RoomResponse),
          201: Ref(RoomResponse),
          ...problems({ 403: ['client_role_required'], 404: ['provider_not_found'], 422: ['own_profile'] }),
        },
      },
    },
    async (request, reply) => {
      const { created, room } = await direct.openDirectChat(
        actorOf(request),
        request.params.id,
        languageOf(request),
      );
      return reply.status(created ? 201 : 200).send(room);
    },
  );

  app.post(
    '/chats/:id/leave',
    {
      config: { access: 'user', idempotency: 'off' },
      schema: {
        tags,
        operationId: 'leaveChat',
        summary: 'Leave a direct or support chat',
        description:
          'It leaves my chats, and I read and write in it no more (404 `chat_not_found` after). An order’s parties stay in its chat (409 `order_chat_kept`).',
        params: IdParams,
        response: {
          204: Type.Null(),
          ...problems({ 404: ['chat_not_found'], 409: ['order_chat_kept'] }),
        },
      },
    },
    async (request, reply) => {
      await direct.leaveChat(actorOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  );

  for (const [action, blocked] of [
    ['block', true],
    ['unblock', false],
  ] as const) {
    app.post(
      `/chats/:id/${action}`,
      {
        config: { access: 'user', idempotency: 'off' },
        schema: {
          tags,
          operationId: blocked ? 'blockChat' : 'unblockChat',
          summary: blocked ? 'Block the other party of a direct chat' : 'Lift my block of a direct chat',
          description: blocked
            ? 'While either side blocks, no one sends in the chat (403 `chat_blocked`); it stays readable.'
            : 'The other party’s block, if any, still holds.',
          params: IdParams,
          response: {
            200: Ref(RoomResponse),
            ...problems({ 404: ['chat_not_found'], 409: ['not_a_direct_chat'] }),
          },
        },
      },
      async (request) => direct.setBlock(actorOf(request), request.params.id, blocked, languageOf(request)),
    );
  }

  const noticeDocs = {
    tags,
    params: IdParams,
  };
  app.get(
    '/chats/:id/notification-preferences',
    {
      config: { access: 'user' },
      schema: {
        ...noticeDocs,
        operationId: 'getChatNotificationPreferences',
        summary: 'What this chat’s messages tell me, per channel',
        description:
          'Each channel is `true` unless I silenced the chat there; my notification preferences (`/me/notification-preferences`) still decide within that.',
        response: { 200: Ref(RoomNoticePreferences), ...problems({ 404: ['chat_not_found'] }) },
      },
    },
    async (request) => noticePreferences.get(actorOf(request), request.params.id),
  );
  app.patch(
    '/chats/:id/notification-preferences',
    {
      config: { access: 'user', idempotency: 'off' },
      schema: {
        ...noticeDocs,
        operationId: 'setChatNotificationPreferences',
        summary: 'Silence this chat on a channel, or hear it again',
        description:
          'Changes only the channels given; `false` keeps this chat’s messages off that channel, `true` leaves it to my notification preferences. Audited.',
        body: Ref(RoomNoticePreferencesBody),
        response: { 200: Ref(RoomNoticePreferences), ...problems({ 404: ['chat_not_found'] }) },
      },
    },
    async (request) => noticePreferences.set(actorOf(request), request.params.id, request.body),
  );
};
