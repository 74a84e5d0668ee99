import { and, eq } from 'drizzle-orm';
import type { Db } from '../../platform/db.ts';
import { defineJob, type Jobs } from '../../platform/jobs.ts';
import { type ChannelAdapter, ChannelError, type DeliveryReport } from './channels.ts';
import { isOutbound, type OutboundChannel } from './contract.ts';
import { notificationDeliveries, notificationLogs } from './schema.ts';

/** The first question a minute after the send, then twice as long each time, at most an hour apart. */
export const FIRST_CHECK_MS = 60_000;
const MAX_CHECK_GAP_MS = 3_600_000;
/**
 * How long after the send a report is waited for. The gateway gives a final state itself when the operator
 * never reports (SMSPRO's 7); past this, the delivery stays `sent`: taken, and not known to have arrived.
 */
export const REPORT_WINDOW_MS = 24 * 3_600_000;

/** The wait after the `check`-th question: 1, 2, 4 ... 32 minutes, then hourly. */
export const checkDelayMs = (check: number) => Math.min(MAX_CHECK_GAP_MS, FIRST_CHECK_MS * 2 ** check);

export type DeliveryReports = ReturnType<typeof createDeliveryReports>;

/**
 * Asks the channels that report delivery at a separate request (SMS) what became of each message they took,
 * until it is delivered or failed or the report window has passed: one job per question, each logged
 * (`delivery_check`) with its answer and duration, the delivery moved and the next question queued in one
 * transaction. Only a delivery still `sent` moves, so a question asked twice changes nothing twice.
 */
export function createDeliveryReports({
  db,
  jobs,
  channels,
}: {
  db: Db;
  jobs: Jobs;
  channels: Record<OutboundChannel, ChannelAdapter>;
}) {
  const checkJob = defineJob<{ delivery_id: string; check: number }>({
    name: 'notifications.check-delivery',
    async handle({ delivery_id, check }, { log }) {
      const [delivery] = await db
        .select()
        .from(notificationDeliveries)
        .where(and(eq(notificationDeliveries.id, delivery_id), eq(notificationDeliveries.status, 'sent')));
      if (!delivery?.providerMessageId || !delivery.sentAt || !isOutbound(delivery.channel)) return;
      const channel = channels[delivery.channel];
      if (!channel.report) return;
      const started = performance.now();
      let report: DeliveryReport;
      try {
        report = await channel.report(delivery.providerMessageId);
      } catch (error) {
        if (!(error instanceof ChannelError)) throw error;
        report = {
          state: 'pending',
          response: { error: error.message, kind: error.kind, ...error.response },
        };
      }
      const durationMs = Math.round(performance.now() - started);
      const now = new Date();
      const nextAt = new Date(now.getTime() + checkDelayMs(check + 1));
      const again =
        report.state === 'pending' && nextAt.getTime() - delivery.sentAt.getTime() <= REPORT_WINDOW_MS;
      log.info(
        { deliveryId: delivery.id, check: check + 1, state: report.state, again, ...report.response },
        'delivery report asked',
      );
      await db.transaction(async (tx) => {
        if (report.state !== 'pending') {
          await tx
            .update(notificationDeliveries)
            .set({
              status: report.state,
              externalResponse: report.response,
              ...(report.state === 'delivered' ? { deliveredAt: now } : { failedAt: now }),
            })
            .where(
              and(eq(notificationDeliveries.id, delivery.id), eq(notificationDeliveries.status, 'sent')),
            );
        }
        await tx.insert(notificationLogs).values({
          notificationId: delivery.notificationId,
          deliveryId: delivery.id,
          userId: delivery.userId,
          action: 'delivery_check',
          channel: delivery.channel,
          details: {
            check: check + 1,
            state: report.state,
            gave_up: report.state === 'pending' && !again,
            ...report.response,
          },
          performanceMetrics: { duration_ms: durationMs },
        });
        if (again) {
          await jobs.enqueue(
            tx,
            checkJob,
            { delivery_id: delivery.id, check: check + 1 },
            { startAfter: nextAt },
          );
        }
      });
    },
  });

  return { checkJob };
}
