import { Type } from 'typebox';
import { actorOf } from '../../platform/auth.ts';
import { problems } from '../../platform/documentation.ts';
import { IdParams, type RoutesPlugin } from '../../platform/http.ts';
import { Ref } from '../../platform/schemas.ts';
import { TemplateBody, TemplatePage, TemplateResponse, TemplatesQuery } from './contract.ts';
import type { TemplateService } from './template-service.ts';

/** Staff who write chat templates. */
const TEMPLATE_EDITORS = ['admin', 'moderator'] as const;

/** Chat templates: staff write them; users list those they may send. */
export const chatTemplateRoutes: RoutesPlugin<{ templates: TemplateService }> = async (
  app,
  { templates },
) => {
  const tags = ['chat'];
  const staff = { access: [...TEMPLATE_EDITORS] };
  const invalid = problems({ 400: ['template_invalid'] });

  app.get(
    '/me/chat-templates',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'listMyChatTemplates',
        summary: 'The chat templates I may send',
        description:
          'Active templates for one of my roles; send one with `template_id` and its `variables` on the message.',
        querystring: TemplatesQuery,
        response: { 200: Ref(TemplatePage) },
      },
    },
    async (request) => templates.listTemplates(actorOf(request), request.query, true),
  );

  app.get(
    '/chat-templates',
    {
      config: staff,
      schema: {
        tags,
        operationId: 'listChatTemplates',
        summary: 'Every chat template, oldest first',
        description: 'Active or not.',
        querystring: TemplatesQuery,
        response: { 200: Ref(TemplatePage) },
      },
    },
    async (request) => templates.listTemplates(actorOf(request), request.query, false),
  );

  app.post(
    '/chat-templates',
    {
      config: { ...staff, location: '/chat-templates/{id}' },
      schema: {
        tags,
        operationId: 'createChatTemplate',
        summary: 'Write a chat template',
        description:
          'Its text in ru, ky and en, in ICU MessageFormat, naming only its declared `variables` (`{count, plural, one {# час} few {# часа} many {# часов} other {# часа}}`); one that does not render is 400 `template_invalid`, naming the language.',
        body: Ref(TemplateBody),
        response: { 201: Ref(TemplateResponse), ...invalid },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await templates.createTemplate(actorOf(request), request.body)),
  );

  app.get(
    '/chat-templates/:id',
    {
      config: staff,
      schema: {
        tags,
        operationId: 'getChatTemplate',
        summary: 'One chat template',
        description: 'A deleted one is 404 `chat_template_not_found`.',
        params: IdParams,
        response: { 200: Ref(TemplateResponse), ...problems({ 404: ['chat_template_not_found'] }) },
      },
    },
    async (request) => templates.getTemplate(request.params.id),
  );

  app.put(
    '/chat-templates/:id',
    {
      config: staff,
      schema: {
        tags,
        operationId: 'updateChatTemplate',
        summary: 'Rewrite a chat template',
        description: 'The whole template, checked as when it was written.',
        params: IdParams,
        body: Ref(TemplateBody),
        response: {
          200: Ref(TemplateResponse),
          ...problems({ 400: ['template_invalid'], 404: ['chat_template_not_found'] }),
        },
      },
    },
    async (request) => templates.updateTemplate(actorOf(request), request.params.id, request.body),
  );

  app.delete(
    '/chat-templates/:id',
    {
      config: staff,
      schema: {
        tags,
        operationId: 'deleteChatTemplate',
        summary: 'Delete a chat template',
        description: 'Messages sent from it keep their text.',
        params: IdParams,
        response: { 204: Type.Null(), ...problems({ 404: ['chat_template_not_found'] }) },
      },
    },
    async (request, reply) => {
      await templates.deleteTemplate(actorOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  );
};
