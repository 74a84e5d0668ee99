import { actorOf } from '../../platform/auth.ts';
import { problems } from '../../platform/documentation.ts';
import { IdParams, type RoutesPlugin } from '../../platform/http.ts';
import { Ref } from '../../platform/schemas.ts';
import {
  MessageParams,
  ReportMessageBody,
  ReportPage,
  ReportResponse,
  ReportsQuery,
  ResolveReportBody,
  SlowModeBody,
  SlowModeResponse,
} from './contract.ts';
import { REPORT_MODERATORS, type ReportService } from './report-service.ts';
import { languageOf } from './routes.ts';

/** Reports of messages and what moderators do about them. */
export const chatReportRoutes: RoutesPlugin<{ reports: ReportService }> = async (app, { reports }) => {
  const tags = ['chat'];
  const moderators = { access: [...REPORT_MODERATORS] };

  app.post(
    '/chats/:id/messages/:message_id/reports',
    {
      config: { access: 'user', location: '/chat-reports/{id}' },
      schema: {
        tags,
        operationId: 'reportChatMessage',
        summary: 'Report a message of a chat I take part in',
        description:
          'Once per message and reporter (409 `report_exists`); not one’s own message (422 `own_message`). The report’s moderators then read the chat, the reported message with its context.',
        params: MessageParams,
        body: Ref(ReportMessageBody),
        response: {
          201: Ref(ReportResponse),
          ...problems({
            404: ['chat_not_found', 'message_not_found'],
            409: ['report_exists'],
            422: ['invalid_file', 'own_message'],
          }),
        },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(
          await reports.reportMessage(
            actorOf(request),
            request.params.id,
            request.params.message_id,
            request.body,
            languageOf(request),
          ),
        ),
  );

  app.get(
    '/chat-reports/:id',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'getChatReport',
        summary: 'A report: its status, for its reporter; with the message’s context, for moderators',
        description: 'Anyone else’s report is 404 `chat_report_not_found`.',
        params: IdParams,
        response: { 200: Ref(ReportResponse), ...problems({ 404: ['chat_report_not_found'] }) },
      },
    },
    async (request) => reports.getReport(actorOf(request), request.params.id, languageOf(request)),
  );

  app.get(
    '/chat-reports',
    {
      config: moderators,
      schema: {
        tags,
        operationId: 'listChatReports',
        summary: 'Reports of chat messages, oldest first',
        description:
          'Pending and under review unless `status` says otherwise; each with the message and its context.',
        querystring: ReportsQuery,
        response: { 200: Ref(ReportPage) },
      },
    },
    async (request) => reports.listReports(actorOf(request), request.query, languageOf(request)),
  );

  app.post(
    '/chat-reports/:id/review',
    {
      config: { ...moderators, idempotency: 'off' },
      schema: {
        tags,
        operationId: 'reviewChatReport',
        summary: 'Take a pending report under review',
        description: 'Only a pending report (409 `report_not_pending`).',
        params: IdParams,
        response: {
          200: Ref(ReportResponse),
          ...problems({ 404: ['chat_report_not_found'], 409: ['report_not_pending'] }),
        },
      },
    },
    async (request) => reports.reviewReport(actorOf(request), request.params.id, languageOf(request)),
  );

  app.post(
    '/chat-reports/:id/resolve',
    {
      config: { ...moderators, idempotency: 'off' },
      schema: {
        tags,
        operationId: 'resolveChatReport',
        summary: 'Resolve a report: delete the message, mute or block its sender, or dismiss it',
        description:
          '`delete_message` leaves a tombstone; `mute_sender` stops the sender writing in this chat for `mute_minutes`; `block_sender` keeps them out of every chat for `block_days`; `dismiss` does nothing to anyone. A decided report is 409 `report_decided`. Audited.',
        params: IdParams,
        body: Ref(ResolveReportBody),
        response: {
          200: Ref(ReportResponse),
          ...problems({ 404: ['chat_report_not_found'], 409: ['report_decided'] }),
        },
      },
    },
    async (request) =>
      reports.resolveReport(actorOf(request), request.params.id, request.body, languageOf(request)),
  );

  app.put(
    '/chats/:id/slow-mode',
    {
      config: moderators,
      schema: {
        tags,
        operationId: 'setChatSlowMode',
        summary: 'Slow a chat down',
        description:
          'Each participant then sends at most one message per `seconds` (429 `chat_slow_mode` sooner); 0 turns it off. Audited.',
        params: IdParams,
        body: Ref(SlowModeBody),
        response: { 200: Ref(SlowModeResponse), ...problems({ 404: ['chat_not_found'] }) },
      },
    },
    async (request) => reports.setSlowMode(actorOf(request), request.params.id, request.body.seconds),
  );
};
