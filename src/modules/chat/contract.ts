import { type Static, Type } from 'typebox';
import { Nullable } from '../../platform/http.ts';
import { ListQuery, OneOrMore, Page } from '../../platform/pagination.ts';
import { Component, DateTime, Ref, Uuid } from '../../platform/schemas.ts';
import { Text } from '../../platform/validation.ts';
import {
  CHAT_TYPES,
  MESSAGE_TYPES,
  PARTICIPANT_ROLES,
  REPORT_ACTIONS,
  REPORT_REASONS,
  REPORT_STATUSES,
  TEMPLATE_CATEGORIES,
} from './enums.ts';

/** The longest text a message carries. */
export const MAX_MESSAGE_LENGTH = 4_000;
/** Past this many messages (or changes) a resume answers `gap: true` and the newest page instead. */
export const MAX_REPLAY = 1_000;

const Seq = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

const Attachment = Component(
  'ChatAttachment',
  Type.Object({
    file_id: Uuid,
    name: Nullable(Type.String({ description: 'The file’s name as uploaded; null once the text is gone' })),
    content_type: Type.String(),
    size_bytes: Type.Integer({ minimum: 0 }),
  }),
);

export const MessageResponse = Component(
  'ChatMessage',
  Type.Object(
    {
      id: Uuid,
      room_id: Uuid,
      seq: Type.Integer({
        minimum: 1,
        description: 'The message’s place in its room: 1, 2, 3, … with no gap',
      }),
      change_seq: Nullable(
        Type.Integer({ description: 'The room’s change of its last edit or delete; null while as sent' }),
      ),
      type: Type.Enum(MESSAGE_TYPES),
      sender_user_id: Nullable(Uuid),
      content: Nullable(
        Type.String({
          description:
            'The text; a server message in the reader’s language. Null for a tombstone (deleted, erased, or past its retention)',
        }),
      ),
      template_key: Nullable(Type.String({ description: 'A server message’s text key' })),
      attachments: Type.Array(Ref(Attachment), { maxItems: 10 }),
      reply_to_id: Nullable(Uuid),
      client_message_id: Nullable(Type.String()),
      flagged: Type.Boolean({
        description: 'For moderators: contact details or an off-platform deal were found in the text',
      }),
      masked: Type.Boolean({
        description: 'Contact details in the text are hidden from this reader (direct chats)',
      }),
      created_at: DateTime,
      edited_at: Nullable(DateTime),
      deleted_at: Nullable(DateTime),
    },
    { description: 'One message of a chat, as this reader sees it' },
  ),
);
export type MessageView = Static<typeof MessageResponse>;

const Receipt = Component(
  'ChatReadReceipt',
  Type.Object({
    user_id: Uuid,
    last_read_seq: Seq,
    read_change_seq: Type.Integer({ minimum: 0, description: 'The room’s change that moved it' }),
  }),
);

export const MessagePage = Component(
  'ChatMessagePage',
  Type.Object(
    {
      data: Type.Array(Ref(MessageResponse)),
      next_cursor: Nullable(Type.String({ description: 'Older messages; null on the last page' })),
      gap: Type.Boolean({
        description:
          'A resume (`after_seq`, `after_change`) found more than 1,000 to replay: this is the newest page instead, and the app refetches',
      }),
      last_seq: Seq,
      last_change_seq: Seq,
      receipts: Type.Array(Ref(Receipt), {
        description: 'How far each other participant has read',
        maxItems: 100,
      }),
    },
    {
      description:
        'Newest first by default and around a message; a resume (`after_seq`, `after_change`) is oldest first and whole',
    },
  ),
);
export type MessagePageView = Static<typeof MessagePage>;

export const MessagesQuery = ListQuery({
  around: Type.Optional(
    Type.String({ format: 'uuid', description: 'A message of the room to centre a page on' }),
  ),
  after_seq: Type.Optional(Type.Integer({ minimum: 0, description: 'Resume: every message after this seq' })),
  after_change: Type.Optional(
    Type.Integer({ minimum: 0, description: 'Resume: every edit and delete after this change_seq' }),
  ),
});
export type MessagesFilter = Static<typeof MessagesQuery>;

export const MessageParams = Type.Object({
  id: Type.String({ format: 'uuid', description: 'The chat' }),
  message_id: Type.String({ format: 'uuid', description: 'A message of the chat' }),
});

export const SendMessageBody = Component(
  'SendChatMessage',
  Type.Object(
    {
      client_message_id: Type.String({
        pattern: '^[A-Za-z0-9_.:-]{8,64}$',
        description: 'Chosen by the app for this message; a retry with it answers the first message',
      }),
      content: Type.Optional(Text({ maxLength: MAX_MESSAGE_LENGTH })),
      reply_to_id: Type.Optional(Uuid),
      template_id: Type.Optional(
        Type.String({
          format: 'uuid',
          description: 'Send a template instead of `content`, filled on the server',
        }),
      ),
      variables: Type.Optional(
        Type.Record(
          Type.String({ maxLength: 32 }),
          Type.Union([Type.String({ maxLength: 200 }), Type.Number()]),
          {
            maxProperties: 20,
            description: 'The template’s variables',
          },
        ),
      ),
      attachment_file_ids: Type.Optional(
        Type.Array(Uuid, {
          maxItems: 10,
          uniqueItems: true,
          description: 'Uploads of purpose `chat_attachment`',
        }),
      ),
    },
    { additionalProperties: false },
  ),
);
export type SendMessageInput = Static<typeof SendMessageBody>;

export const MarkReadBody = Component(
  'MarkChatRead',
  Type.Object({ seq: Seq }, { additionalProperties: false }),
);

export const ReadStateResponse = Component(
  'ChatReadState',
  Type.Object({ last_read_seq: Seq, unread: Type.Integer({ minimum: 0 }) }),
);

const PartyCard = Component(
  'ChatPartyCard',
  Type.Object({
    user_id: Uuid,
    full_name: Type.String(),
    role: Type.Enum(PARTICIPANT_ROLES),
    last_seen_at: Nullable(
      Type.String({ format: 'date-time', description: 'When the room last saw them: a send or a read' }),
    ),
  }),
);

export const RoomResponse = Component(
  'ChatRoom',
  Type.Object(
    {
      id: Uuid,
      type: Type.Enum(CHAT_TYPES),
      title: Nullable(Type.String()),
      order_id: Nullable(Uuid),
      is_active: Type.Boolean(),
      last_seq: Seq,
      last_change_seq: Seq,
      last_message_at: Nullable(DateTime),
      last_message: Nullable(Ref(MessageResponse)),
      unread_count: Type.Integer({ minimum: 0, description: 'The room’s last seq minus my last read seq' }),
      last_read_seq: Nullable(Seq),
      other_party: Nullable(Ref(PartyCard)),
      closed_at: Nullable(DateTime),
      slow_mode_seconds: Type.Integer({ minimum: 0 }),
      blocked: Type.Boolean({ description: 'A direct chat one side blocked: no one sends in it' }),
      created_at: DateTime,
    },
    { description: 'A chat as the caller sees it' },
  ),
);
export type RoomView = Static<typeof RoomResponse>;

export const RoomPage = Page('ChatRoomPage', RoomResponse);
export const MyChatsQuery = ListQuery({});

export const UnreadTotalResponse = Component(
  'ChatUnreadTotal',
  Type.Object({ total: Type.Integer({ minimum: 0, description: 'Unread messages over all my chats' }) }),
);

export const OpenSupportChatBody = Component(
  'OpenSupportChat',
  Type.Object(
    { title: Type.Optional(Text({ maxLength: 200, description: 'What it is about, in a few words' })) },
    { additionalProperties: false },
  ),
);

export const SupportQueueQuery = ListQuery({});

export const EditMessageBody = Component(
  'EditChatMessage',
  Type.Object({ content: Text({ maxLength: MAX_MESSAGE_LENGTH }) }, { additionalProperties: false }),
);

export const ReportMessageBody = Component(
  'ReportChatMessage',
  Type.Object(
    {
      reason: Type.Enum(REPORT_REASONS),
      description: Type.Optional(Text({ maxLength: 2000 })),
      evidence_file_ids: Type.Optional(
        Type.Array(Uuid, {
          maxItems: 5,
          uniqueItems: true,
          description: 'Uploads of purpose `chat_attachment`',
        }),
      ),
    },
    { additionalProperties: false },
  ),
);
export type ReportMessageInput = Static<typeof ReportMessageBody>;

export const ReportResponse = Component(
  'ChatReport',
  Type.Object({
    id: Uuid,
    room_id: Uuid,
    message_id: Uuid,
    reporter_user_id: Uuid,
    reported_user_id: Nullable(Uuid),
    reason: Type.Enum(REPORT_REASONS),
    description: Nullable(Type.String()),
    evidence_file_ids: Type.Array(Uuid, { maxItems: 5 }),
    status: Type.Enum(REPORT_STATUSES),
    action: Nullable(Type.Enum(REPORT_ACTIONS)),
    resolution_note: Nullable(Type.String()),
    reviewed_at: Nullable(DateTime),
    created_at: DateTime,
    message: Nullable(Ref(MessageResponse)),
    context: Type.Array(Ref(MessageResponse), {
      maxItems: 11,
      description: 'For moderators: the messages around the reported one, oldest first',
    }),
  }),
);
export type ReportView = Static<typeof ReportResponse>;
export const ReportPage = Page('ChatReportPage', ReportResponse);
export const ReportsQuery = ListQuery({
  status: OneOrMore(REPORT_STATUSES, 'Only reports in these states; without it, pending and under review'),
});

export const ResolveReportBody = Component(
  'ResolveChatReport',
  Type.Object(
    {
      action: Type.Enum(REPORT_ACTIONS),
      mute_minutes: Type.Optional(
        Type.Integer({
          minimum: 1,
          maximum: 43_200,
          description: '`mute_sender`: how long, 60 unless given',
        }),
      ),
      block_days: Type.Optional(
        Type.Integer({ minimum: 1, maximum: 365, description: '`block_sender`: how long, 7 unless given' }),
      ),
      note: Type.Optional(Text({ maxLength: 2000 })),
    },
    { additionalProperties: false },
  ),
);
export type ResolveReportInput = Static<typeof ResolveReportBody>;

export const SlowModeBody = Component(
  'SetChatSlowMode',
  Type.Object(
    { seconds: Type.Integer({ minimum: 0, maximum: 3600, description: '0 turns slow mode off' }) },
    { additionalProperties: false },
  ),
);

export const SlowModeResponse = Component(
  'ChatSlowMode',
  Type.Object({ slow_mode_seconds: Type.Integer({ minimum: 0 }) }),
);

const TemplateContent = Component(
  'ChatTemplateContent',
  Type.Object(
    {
      ru: Text({ maxLength: MAX_MESSAGE_LENGTH }),
      ky: Text({ maxLength: MAX_MESSAGE_LENGTH }),
      en: Text({ maxLength: MAX_MESSAGE_LENGTH }),
    },
    {
      additionalProperties: false,
      description: 'ICU MessageFormat in each language, with the named variables',
    },
  ),
);

const VariableName = Type.String({ pattern: '^[a-z][a-z0-9_]{0,31}$' });
const TEMPLATE_ROLES = ['client', 'provider', 'staff'] as const;

export const TemplateBody = Component(
  'ChatTemplateInput',
  Type.Object(
    {
      name: Text({ maxLength: 120 }),
      category: Type.Enum(TEMPLATE_CATEGORIES),
      content: Ref(TemplateContent),
      variables: Type.Array(VariableName, { maxItems: 20, uniqueItems: true }),
      roles: Type.Array(Type.Enum(TEMPLATE_ROLES), {
        minItems: 1,
        maxItems: 3,
        uniqueItems: true,
        description: 'Who may send it: `staff` stands for every staff role',
      }),
      is_active: Type.Optional(Type.Boolean({ default: true })),
    },
    { additionalProperties: false },
  ),
);
export type TemplateInput = Static<typeof TemplateBody>;

export const TemplateResponse = Component(
  'ChatTemplate',
  Type.Object({
    id: Uuid,
    name: Type.String(),
    category: Type.Enum(TEMPLATE_CATEGORIES),
    content: Ref(TemplateContent),
    variables: Type.Array(Type.String(), { maxItems: 20 }),
    roles: Type.Array(Type.Enum(TEMPLATE_ROLES), { maxItems: 3 }),
    is_active: Type.Boolean(),
    updated_at: DateTime,
  }),
);
export type TemplateView = Static<typeof TemplateResponse>;
export const TemplatePage = Page('ChatTemplatePage', TemplateResponse);
export const TemplatesQuery = ListQuery({
  category: OneOrMore(TEMPLATE_CATEGORIES, 'Only templates of these categories'),
});

const noticeSwitch = (channel: string) =>
  Type.Boolean({ description: `Whether this chat's messages tell me by ${channel}` });

export const RoomNoticePreferences = Component(
  'ChatNotificationPreferences',
  Type.Object(
    { in_app: noticeSwitch('the in-app inbox'), push: noticeSwitch('push'), email: noticeSwitch('email') },
    {
      description:
        'What this chat’s messages tell me on each channel, within my notification preferences: `false` silences the chat there, `true` leaves it to them. Chat never goes by SMS.',
    },
  ),
);
export type RoomNoticePreferences = Static<typeof RoomNoticePreferences>;

export const RoomNoticePreferencesBody = Component(
  'ChatNotificationPreferencesBody',
  Type.Partial(RoomNoticePreferences, { minProperties: 1, additionalProperties: false }),
);
