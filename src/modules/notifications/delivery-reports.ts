import { and, eq } from 'drizzle-orm';
import type { Db } from '../../platform/db.ts';
import { defineJob, type Jobs } from '../../platform/jobs.ts';
import { type ChannelAdapter, ChannelError, type DeliveryReport } from './channels.ts';
import { isOutbound, type OutboundChannel } from './contract.ts';
import { notificationDeliveries } from './schema.ts';

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
 * until it is delivered or failed or the report window has passed: one job per question, each logged with
 * its answer and duration, the answer kept on the delivery (`external_response`, with the question's number)
 * and the next question queued in one transaction. Only a delivery still `sent` changes, so a question asked
 * twice changes nothing twice. The questions are not `notification_logs` rows: a new action there would be a
 * new value of the personal-data export's `action`, a change the API's breaking-change policy refuses.
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
      const answer = {
        check: check + 1,
        state: report.state,
        gave_up: report.state === 'pending' && !again,
        ...report.response,
      };
      log.info({ deliveryId: delivery.id, durationMs, ...answer }, 'delivery report asked');
      await db.transaction(async (tx) => {
        await tx
          .update(notificationDeliveries)
          .set({
            externalResponse: answer,
            ...(report.state !== 'pending' && { status: report.state }),
            ...(report.state === 'delivered' && { deliveredAt: now }),
            ...(report.state === 'failed' && { failedAt: now }),
          })
          .where(and(eq(notificationDeliveries.id, delivery.id), eq(notificationDeliveries.status, 'sent')));
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
