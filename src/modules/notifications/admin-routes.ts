import { actorOf } from '../../platform/auth.ts';
import { problems } from '../../platform/documentation.ts';
import { IdParams, type RoutesPlugin } from '../../platform/http.ts';
import { Ref } from '../../platform/schemas.ts';
import type { NotificationAdmin } from './admin-service.ts';
import {
  PreviewResponse,
  PreviewTemplateBody,
  QueuePage,
  QueueQuery,
  TemplatePage,
  TemplateQuery,
  TemplateResponse,
  TestSendResponse,
  UpdateTemplateBody,
} from './contract.ts';

/** Staff's notification routes: templates (admins edit them) and the delivery queue. */
export const notificationAdminRoutes: RoutesPlugin<{ admin: NotificationAdmin }> = async (app, { admin }) => {
  const tags = ['admin', 'notifications'];
  const readers = { access: ['admin', 'moderator'] as const };
  const editors = { access: ['admin'] as const };

  app.get(
    '/admin/notification-templates',
    {
      config: readers,
      schema: {
        tags,
        operationId: 'adminListNotificationTemplates',
        summary: 'Every notification template, per type, channel and language',
        description: 'Seeded for every type on every channel it may use, in ru, ky and en.',
        querystring: TemplateQuery,
        response: { 200: Ref(TemplatePage) },
      },
    },
    async (request) => {
      const { limit, cursor, type } = request.query;
      return admin.listTemplates({ type }, { limit, cursor });
    },
  );

  app.put(
    '/admin/notification-templates/:id',
    {
      config: editors,
      schema: {
        tags,
        operationId: 'adminUpdateNotificationTemplate',
        summary: 'Change a template’s subject and text (ICU MessageFormat)',
        description:
          'A text that does not parse, or names a variable no notification gives, is 400 `template_invalid` naming the field and the line and column; nothing is saved.',
        params: IdParams,
        body: Ref(UpdateTemplateBody),
        response: {
          200: Ref(TemplateResponse),
          ...problems({ 400: ['template_invalid'], 404: ['notification_template_not_found'] }),
        },
      },
    },
    async (request) => admin.updateTemplate(actorOf(request), request.params.id, request.body),
  );

  app.post(
    '/admin/notification-templates/:id/preview',
    {
      config: { ...readers, idempotency: 'off' as const },
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        tags,
        operationId: 'adminPreviewNotificationTemplate',
        summary: 'A template rendered against sample data',
        description:
          'The stored text, or the `subject` and `content` given, rendered as a recipient would read them; a text that does not parse is 400 `template_invalid`.',
        params: IdParams,
        body: Ref(PreviewTemplateBody),
        response: {
          200: Ref(PreviewResponse),
          ...problems({ 400: ['template_invalid'], 404: ['notification_template_not_found'] }),
        },
      },
    },
    async (request) => admin.previewTemplate(request.params.id, request.body),
  );

  app.post(
    '/admin/notification-templates/:id/test',
    {
      config: { ...editors, idempotency: 'off' as const },
      schema: {
        tags,
        operationId: 'adminTestNotificationTemplate',
        summary: 'Send a template, rendered against sample data, to myself',
        description:
          'On the template’s channel, to the caller’s own address: 409 `no_address` without one, 409 `template_not_sendable` for an in-app template (its preview shows it).',
        params: IdParams,
        response: {
          200: Ref(TestSendResponse),
          ...problems({
            404: ['notification_template_not_found', 'user_not_found'],
            409: ['no_address', 'template_not_sendable'],
          }),
        },
      },
    },
    async (request) => admin.testSendTemplate(actorOf(request), request.params.id),
  );

  app.get(
    '/admin/notification-queue',
    {
      config: readers,
      schema: {
        tags,
        operationId: 'adminListNotificationQueue',
        summary: 'Deliveries waiting for their next attempt, oldest first',
        description:
          'What the job queue holds for notifications: each pending delivery with its priority, when it is due and how often it was tried.',
        querystring: QueueQuery,
        response: { 200: Ref(QueuePage) },
      },
    },
    async (request) => {
      const { limit, cursor, channel } = request.query;
      return admin.listQueue({ channel }, { limit, cursor });
    },
  );
};
