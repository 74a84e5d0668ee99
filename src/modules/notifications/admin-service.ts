import { and, inArray } from 'drizzle-orm';
import type { Actor } from '../../platform/actor.ts';
import type { Db } from '../../platform/db.ts';
import { ConflictError, NotFoundError } from '../../platform/errors.ts';
import { idPages, type PageRequest } from '../../platform/pagination.ts';
import { type ChannelAdapter, ChannelError } from './channels.ts';
import { type Channel, isOutbound, type OutboundChannel, type UpdateTemplateInput } from './contract.ts';
import type { DeviceService } from './device-service.ts';
import type { Recipients } from './recipients.ts';
import { notificationQueue } from './schema.ts';
import type { Templates } from './templates.ts';

const queuePages = idPages('notifications.queue', notificationQueue.id);

export type NotificationAdmin = ReturnType<typeof createNotificationAdmin>;

/** What staff do with notifications: edit, preview and try templates, and read the queue. */
export function createNotificationAdmin({
  db,
  templates,
  recipients,
  devices,
  channels,
}: {
  db: Db;
  templates: Templates;
  recipients: Pick<Recipients, 'find' | 'addressOf'>;
  devices: Pick<DeviceService, 'liveTokens'>;
  channels: Record<OutboundChannel, ChannelAdapter>;
}) {
  return {
    listTemplates: templates.list,
    updateTemplate: (actor: Actor, id: string, input: UpdateTemplateInput) =>
      templates.update(actor, id, input),

    /** The template, or the text given in its place, rendered against the sample values. */
    async previewTemplate(id: string, input: Partial<UpdateTemplateInput>) {
      const template = await templates.get(id);
      return templates.preview({
        language: template.language,
        subject: input.subject ?? template.subject,
        content: input.content ?? template.content,
      });
    },

    /** Sends the template, rendered against the sample values, to the caller's own address on its channel. */
    async testSendTemplate(actor: Actor, id: string) {
      const template = await templates.get(id);
      const channel: Channel = template.channel;
      if (!isOutbound(channel)) {
        throw new ConflictError('template_not_sendable', 'an in-app template shows in its preview');
      }
      const recipient = actor.userId ? await recipients.find(actor.userId) : undefined;
      if (!recipient) throw new NotFoundError('user');
      const [to] =
        channel === 'push'
          ? await devices.liveTokens(recipient.userId)
          : [recipients.addressOf(recipient, channel)];
      if (!to) throw new ConflictError('no_address', `your account has no address for ${channel}`);
      const rendered = templates.preview(template);
      try {
        const outcome = await channels[channel].send({
          channel,
          to,
          subject: rendered.subject,
          text: rendered.content,
          link: null,
          type: template.notificationType,
          priority: 'normal',
          reference: `test-${template.id}-${Date.now()}`,
          collapseKey: null,
        });
        return { channel, status: outcome.status, provider_message_id: outcome.providerMessageId ?? null };
      } catch (error) {
        if (!(error instanceof ChannelError)) throw error;
        return {
          channel,
          status: error.kind === 'bounced' ? ('bounced' as const) : ('failed' as const),
          provider_message_id: null,
        };
      }
    },

    /** The deliveries waiting for an attempt, oldest first. */
    async listQueue(filter: { channel?: Channel[] }, request: PageRequest) {
      const page = queuePages(request, 'oldest');
      const rows = await db
        .select()
        .from(notificationQueue)
        .where(
          and(page.where, filter.channel ? inArray(notificationQueue.channel, filter.channel) : undefined),
        )
        .orderBy(page.orderBy)
        .limit(page.limit);
      return page.page(
        rows,
        (r) => r.id,
        (r) => ({
          id: r.id,
          notification_id: r.notificationId,
          user_id: r.userId,
          channel: r.channel,
          priority: r.priority,
          status: r.status,
          scheduled_at: r.scheduledAt.toISOString(),
          retry_count: r.retryCount,
        }),
      );
    },
  };
}
