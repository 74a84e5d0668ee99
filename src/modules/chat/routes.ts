import { actorOf } from '../../platform/auth.ts';
import { problems } from '../../platform/documentation.ts';
import { IdParams, type RoutesPlugin } from '../../platform/http.ts';
import { negotiateLanguage } from '../../platform/i18n.ts';
import { Ref } from '../../platform/schemas.ts';
import {
  EditMessageBody,
  MarkReadBody,
  MessagePage,
  MessageParams,
  MessageResponse,
  MessagesQuery,
  MyChatsQuery,
  ReadStateResponse,
  RoomPage,
  RoomResponse,
  SendMessageBody,
  UnreadTotalResponse,
} from './contract.ts';
import type { MessageEdits } from './message-edits.ts';
import type { MessageService } from './message-service.ts';
import type { RoomService } from './room-service.ts';

/** The reader's language, for server messages: the app's Accept-Language. */
export const languageOf = (request: { headers: Record<string, unknown> }) =>
  negotiateLanguage(request.headers['accept-language'] as string | undefined);

/** A person's chats: rooms, messages, read state. */
export const chatRoutes: RoutesPlugin<{
  rooms: RoomService;
  messages: MessageService;
  edits: MessageEdits;
  /** Messages one user may send a minute: the setting `chat_messages_per_minute`. */
  messagesPerMinute: () => Promise<number>;
}> = async (app, { rooms, messages, edits, messagesPerMinute }) => {
  const tags = ['chat'];
  const user = { access: 'user' as const };

  app.get(
    '/me/chats',
    {
      config: user,
      schema: {
        tags,
        operationId: 'listMyChats',
        summary: 'My chats, by last activity',
        description:
          'Each with its last message, my unread count (the room’s last seq minus my last read seq) and the other party’s card. Rooms I left are not listed.',
        querystring: MyChatsQuery,
        response: { 200: Ref(RoomPage) },
      },
    },
    async (request) => rooms.listMyChats(actorOf(request), request.query, languageOf(request)),
  );

  app.get(
    '/me/chats/unread',
    {
      config: user,
      schema: {
        tags,
        operationId: 'countMyUnreadChatMessages',
        summary: 'How many messages I have not read, over all my chats',
        description: 'For the badge on the app’s chat tab.',
        response: { 200: Ref(UnreadTotalResponse) },
      },
    },
    async (request) => rooms.unreadTotal(actorOf(request)),
  );

  app.get(
    '/chats/:id',
    {
      config: user,
      schema: {
        tags,
        operationId: 'getChat',
        summary: 'One chat',
        description:
          'Its participants who have not left read it, and moderators through a dispute on its order or a report of one of its messages; anyone else gets 404 `chat_not_found`.',
        params: IdParams,
        response: { 200: Ref(RoomResponse), ...problems({ 404: ['chat_not_found'] }) },
      },
    },
    async (request) => rooms.getRoom(actorOf(request), request.params.id, languageOf(request)),
  );

  app.get(
    '/orders/:id/chat',
    {
      config: user,
      schema: {
        tags,
        operationId: 'getOrderChat',
        summary: 'The chat of an order',
        description:
          'Opened when a bid is accepted, with the client and the assigned provider. 404 `chat_not_found` before that, and to anyone who may not read it.',
        params: IdParams,
        response: { 200: Ref(RoomResponse), ...problems({ 404: ['chat_not_found'] }) },
      },
    },
    async (request) => rooms.getOrderChat(actorOf(request), request.params.id, languageOf(request)),
  );

  app.get(
    '/chats/:id/messages',
    {
      config: user,
      schema: {
        tags,
        operationId: 'listChatMessages',
        summary: 'A chat’s messages: newest first, around one, or everything after what the app has',
        description:
          'Without parameters, the newest page, then older ones by `cursor`. `around` centres a page on a message (jumping to a reply). `after_seq` answers every message after that seq, oldest first; `after_change` every edit and delete after that change. Past 1,000 the answer has `gap: true` and the newest page instead, so the app refetches rather than trusting a partial replay. At most one of `cursor`, `around`, `after_seq`, `after_change`.',
        params: IdParams,
        querystring: MessagesQuery,
        response: {
          200: Ref(MessagePage),
          ...problems({
            400: ['conflicting_parameters', 'invalid_cursor'],
            404: ['chat_not_found', 'message_not_found'],
          }),
        },
      },
    },
    async (request) =>
      messages.listMessages(actorOf(request), request.params.id, request.query, languageOf(request)),
  );

  app.get(
    '/chats/:id/messages/:message_id',
    {
      config: user,
      schema: {
        tags,
        operationId: 'getChatMessage',
        summary: 'One message of a chat',
        description: 'As the chat’s history shows it to the caller.',
        params: MessageParams,
        response: {
          200: Ref(MessageResponse),
          ...problems({ 404: ['chat_not_found', 'message_not_found'] }),
        },
      },
    },
    async (request) =>
      messages.getMessage(
        actorOf(request),
        request.params.id,
        request.params.message_id,
        languageOf(request),
      ),
  );

  app.post(
    '/chats/:id/messages',
    {
      config: {
        access: 'user',
        location: '/chats/{room_id}/messages/{id}',
        // The client's id makes a retry safe already; an Idempotency-Key would only keep a second copy.
        idempotency: 'off',
        rateLimit: {
          max: () => messagesPerMinute(),
          timeWindow: 60_000,
          hook: 'preHandler',
          keyGenerator: (request) => `chat:${request.actor?.userId ?? request.ip}`,
        },
      },
      schema: {
        tags,
        operationId: 'sendChatMessage',
        summary: 'Send a message',
        description:
          'Text up to 4,000 characters, attachments (uploads of purpose `chat_attachment`) or both, optionally a reply to a message of the same chat; or a template (`template_id`, `variables`) in place of the text, filled on the server in the sender’s language. The message takes the room’s next `seq`. `client_message_id` makes the send safe to retry: a retry answers the first message (201 again), never a second one. Refused in a closed chat (`chat_closed`; an order’s chat 30 days after the order closed), to a muted or blocked sender (`chat_muted`, `chat_blocked`), in slow mode (`chat_slow_mode`), and past the messages a user may send a minute (`rate_limited`).',
        params: IdParams,
        body: Ref(SendMessageBody),
        response: {
          201: Ref(MessageResponse),
          ...problems({
            403: ['chat_blocked', 'chat_muted'],
            404: ['chat_not_found'],
            409: ['chat_closed', 'client_message_id_taken'],
            422: [
              'invalid_file',
              'message_empty',
              'message_too_long',
              'reply_not_in_room',
              'template_and_content',
              'template_unavailable',
              'template_variables_missing',
              'too_many_attachments',
            ],
            429: ['chat_slow_mode', 'rate_limited'],
          }),
        },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(
          await messages.sendMessage(actorOf(request), request.params.id, request.body, languageOf(request)),
        ),
  );

  app.patch(
    '/chats/:id/messages/:message_id',
    {
      config: user,
      schema: {
        tags,
        operationId: 'editChatMessage',
        summary: 'Edit my message’s text',
        description:
          'Within 15 minutes of sending it (409 `edit_window_passed` after); it then shows `edited_at`. An edit is a change of the room (`change_seq`), which `after_change` replays. Only the author edits (403 `not_message_author`); server messages cannot be edited.',
        params: MessageParams,
        body: Ref(EditMessageBody),
        response: {
          200: Ref(MessageResponse),
          ...problems({
            403: ['not_message_author'],
            404: ['chat_not_found', 'message_not_found'],
            409: ['edit_window_passed', 'message_not_editable'],
          }),
        },
      },
    },
    async (request) =>
      edits.editMessage(
        actorOf(request),
        request.params.id,
        request.params.message_id,
        request.body.content,
        languageOf(request),
      ),
  );

  app.delete(
    '/chats/:id/messages/:message_id',
    {
      config: user,
      schema: {
        tags,
        operationId: 'deleteChatMessage',
        summary: 'Delete my message',
        description:
          'Its text and attachments go; a tombstone keeps its place (`seq`) and shows `deleted_at`. A change of the room, as an edit is. Only the author deletes (403 `not_message_author`).',
        params: MessageParams,
        response: {
          200: Ref(MessageResponse),
          ...problems({ 403: ['not_message_author'], 404: ['chat_not_found', 'message_not_found'] }),
        },
      },
    },
    async (request) =>
      edits.deleteMessage(
        actorOf(request),
        request.params.id,
        request.params.message_id,
        languageOf(request),
      ),
  );

  app.post(
    '/chats/:id/read',
    {
      config: { access: 'user', idempotency: 'off' },
      schema: {
        tags,
        operationId: 'markChatRead',
        summary: 'Mark a chat read up to a message',
        description:
          'Moves my `last_read_seq` forward to `seq`, never back and never past the room’s last message; the other party sees it as a read receipt.',
        params: IdParams,
        body: Ref(MarkReadBody),
        response: { 200: Ref(ReadStateResponse), ...problems({ 404: ['chat_not_found'] }) },
      },
    },
    async (request) => rooms.markRead(actorOf(request), request.params.id, request.body.seq),
  );
};
