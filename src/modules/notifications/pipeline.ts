import { and, eq } from 'drizzle-orm';
import type { Db } from '../../platform/db.ts';
import { isUniqueViolation } from '../../platform/errors.ts';
import type { LanguageCode } from '../../platform/i18n.ts';
import type { JobDefinition, Jobs } from '../../platform/jobs.ts';
import type { Channel, NotificationType, Priority } from './contract.ts';
import { JOB_PRIORITY } from './delivery.ts';
import type { DeviceService } from './device-service.ts';
import type { PreferenceService } from './preference-service.ts';
import type { Recipients } from './recipients.ts';
import {
  notificationDeliveries,
  notificationLogs,
  userNotificationKeys,
  userNotifications,
} from './schema.ts';
import { formatAmount, renderText, type Templates, type TemplateValues } from './templates.ts';

/** What an event tells one person. */
export interface Notice {
  userId: string;
  /** The template's variables but the amount and the link, which the pipeline writes for the language. */
  values: Omit<TemplateValues, 'amount' | 'link'>;
  /** Tyiyn. */
  amount?: number | null;
  /** Channels this notice stays off, whatever the person's preferences (a chat they silenced there). */
  silenced?: readonly Channel[];
}

/** One event's notifications: of one type and priority, to each recipient, about the ids in `context`. */
export interface NoticeBatch {
  eventId: string;
  eventType: string;
  type: NotificationType;
  priority: Priority;
  /** The app's path the notification opens: `/orders/<id>`. */
  path: string | null;
  /** Push messages with one key replace each other on the device: `order:<id>`, `chat:<room id>`. */
  collapseKey: string | null;
  context: Record<string, unknown>;
  notices: Notice[];
}

export type Pipeline = ReturnType<typeof createPipeline>;

/**
 * Turns what an event tells into notifications: for each recipient still there, the channels their
 * preferences enable and they have an address for, rendered in their language, an inbox item, a delivery
 * per channel and a job for each outbound one, in the caller's transaction. (event, recipient) and (event,
 * recipient, channel) are unique in the database, so an event handled twice notifies no one twice.
 */
export function createPipeline({
  db,
  jobs,
  deliverJob,
  recipients,
  devices,
  preferences,
  templates,
  defaultLanguage,
  linkBase,
}: {
  db: Db;
  jobs: Jobs;
  deliverJob: JobDefinition<{ delivery_id: string }>;
  recipients: Recipients;
  devices: Pick<DeviceService, 'hasDevice'>;
  preferences: Pick<PreferenceService, 'enabledChannels'>;
  templates: Pick<Templates, 'forType'>;
  defaultLanguage: () => Promise<LanguageCode>;
  linkBase: () => Promise<string>;
}) {
  async function alreadyNotified(eventId: string, userId: string) {
    const [key] = await db
      .select({ id: userNotificationKeys.id })
      .from(userNotificationKeys)
      .where(and(eq(userNotificationKeys.eventId, eventId), eq(userNotificationKeys.userId, userId)));
    return key !== undefined;
  }

  async function notifyOne(batch: NoticeBatch, notice: Notice, fallback: LanguageCode, base: string) {
    const recipient = await recipients.find(notice.userId);
    if (!recipient) return;
    if (await alreadyNotified(batch.eventId, notice.userId)) return;
    const channels: Channel[] = [];
    for (const channel of await preferences.enabledChannels(notice.userId, batch.type)) {
      if (notice.silenced?.includes(channel)) continue;
      const reachable =
        channel === 'in_app' ||
        (channel === 'push'
          ? await devices.hasDevice(notice.userId)
          : recipients.addressOf(recipient, channel) !== null);
      if (reachable) channels.push(channel);
    }
    const language = recipient.language ?? fallback;
    const chosen = await templates.forType(batch.type, channels, language, fallback);
    if (chosen.size === 0) return;
    const link = batch.path ? `${base}${batch.path}` : null;
    const values: TemplateValues = {
      ...notice.values,
      ...(notice.amount != null && { amount: formatAmount(notice.amount, language) }),
      link: link ?? '',
    };
    const rendered = [...chosen].map(([channel, template]) => ({
      channel,
      template,
      subject: renderText(template.subject, template.language, values),
      body: renderText(template.content, template.language, values),
    }));
    const shown = rendered.find((r) => r.channel === 'in_app') ?? (rendered[0] as (typeof rendered)[number]);
    const [notification] = await db
      .insert(userNotifications)
      .values({
        userId: notice.userId,
        templateId: shown.template.id,
        eventId: batch.eventId,
        eventType: batch.eventType,
        notificationType: batch.type,
        priority: batch.priority,
        channels: rendered.map((r) => r.channel),
        subject: shown.subject,
        message: shown.body,
        link,
        contextData: batch.context,
      })
      .returning({ id: userNotifications.id });
    const notificationId = (notification as { id: string }).id;
    const now = new Date();
    const deliveries = await db
      .insert(notificationDeliveries)
      .values(
        rendered.map((r) => ({
          notificationId,
          userId: notice.userId,
          eventId: batch.eventId,
          notificationType: batch.type,
          channel: r.channel,
          priority: batch.priority,
          subject: r.subject,
          body: r.body,
          link,
          collapseKey: r.channel === 'push' ? batch.collapseKey : null,
          // The inbox item is the in-app delivery: there as soon as it is written.
          ...(r.channel === 'in_app'
            ? { status: 'delivered' as const, deliveredAt: now, sentAt: now }
            : { nextAttemptAt: now }),
        })),
      )
      .returning({ id: notificationDeliveries.id, channel: notificationDeliveries.channel });
    await db.insert(notificationLogs).values({
      notificationId,
      userId: notice.userId,
      action: 'created',
      details: {
        event_id: batch.eventId,
        event_type: batch.eventType,
        channels: rendered.map((r) => r.channel),
      },
    });
    for (const delivery of deliveries.filter((d) => d.channel !== 'in_app')) {
      await jobs.enqueue(
        db,
        deliverJob,
        { delivery_id: delivery.id },
        { priority: JOB_PRIORITY[batch.priority] },
      );
    }
  }

  return {
    /** Run inside the event's handler transaction: everything it writes commits with the event's record. */
    async notify(batch: NoticeBatch) {
      const fallback = await defaultLanguage();
      const base = await linkBase();
      for (const notice of batch.notices) {
        try {
          await db.transaction(() => notifyOne(batch, notice, fallback, base));
        } catch (error) {
          // Another run of the same event got there first: it notified this person, once.
          if (!isUniqueViolation(error)) throw error;
        }
      }
    },
  };
}
