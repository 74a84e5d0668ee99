import { and, eq, isNull, lt, or } from 'drizzle-orm';
import type { Db } from '../../platform/db.ts';
import { defineJob, type JobDefinition, type Jobs } from '../../platform/jobs.ts';
import { type ChannelAdapter, ChannelError, type SendOutcome } from './channels.ts';
import { type DeliveryStatus, isOutbound, type OutboundChannel, type Priority } from './contract.ts';
import { FIRST_CHECK_MS } from './delivery-reports.ts';
import type { DeviceService } from './device-service.ts';
import type { Recipients } from './recipients.ts';
import { notificationDeliveries, notificationLogs } from './schema.ts';

/** pg-boss runs higher numbers first. */
export const JOB_PRIORITY: Record<Priority, number> = { low: 0, normal: 1, high: 2, urgent: 3 };

/** Attempts per delivery: with the delays below, the last is about half an hour after the first. */
export const MAX_ATTEMPTS = 8;
const FIRST_DELAY_MS = 15_000;
/** The longest a provider's `Retry-After` holds a delivery back. */
const MAX_DELAY_MS = 3_600_000;
/** How long a worker holds a delivery it is sending; a worker that died lets it go then. */
const LEASE_MS = 120_000;

/**
 * The wait before the next attempt after `attempts` of them: exponential (15 s, 30 s, 1 min, ... 16 min) with
 * a jitter of a fifth either way, so that deliveries that failed together do not return together; never
 * sooner than the provider's `Retry-After`. The seven waits add up to 25-38 minutes, 32 on average.
 */
export function retryDelayMs(attempts: number, retryAfterMs?: number, random = Math.random) {
  const exponential = FIRST_DELAY_MS * 2 ** (attempts - 1);
  const jittered = Math.round(exponential * (0.8 + 0.4 * random()));
  return Math.min(MAX_DELAY_MS, Math.max(jittered, retryAfterMs ?? 0));
}

type Attempt = { ok: true; outcome: SendOutcome } | { ok: false; error: ChannelError };

export type Deliveries = ReturnType<typeof createDeliveries>;

/**
 * Sends each outbound delivery through its channel's adapter, once at a time: a job per attempt, holding the
 * delivery under a lease while it waits on the provider (and no connection), then recording the outcome,
 * the attempt's log row with its duration, and the next attempt's job, in one transaction.
 */
export function createDeliveries({
  db,
  jobs,
  channels,
  recipients,
  devices,
  checkJob,
}: {
  db: Db;
  jobs: Jobs;
  channels: Record<OutboundChannel, ChannelAdapter>;
  recipients: Pick<Recipients, 'find' | 'addressOf'>;
  devices: Pick<DeviceService, 'liveTokens' | 'forgetToken'>;
  /** The question about a sent message's delivery, for the channels that report it later (delivery-reports.ts). */
  checkJob: JobDefinition<{ delivery_id: string; check: number }>;
}) {
  type DeliveryRow = typeof notificationDeliveries.$inferSelect;

  async function claim(id: string): Promise<DeliveryRow | undefined> {
    const now = new Date();
    const [row] = await db
      .update(notificationDeliveries)
      .set({ lockedUntil: new Date(now.getTime() + LEASE_MS) })
      .where(
        and(
          eq(notificationDeliveries.id, id),
          eq(notificationDeliveries.status, 'pending'),
          or(isNull(notificationDeliveries.lockedUntil), lt(notificationDeliveries.lockedUntil, now)),
        ),
      )
      .returning();
    return row;
  }

  async function finish(delivery: DeliveryRow, attempt: Attempt, durationMs: number) {
    const now = new Date();
    const attempts = delivery.attempts + 1;
    const retry = !attempt.ok && attempt.error.kind === 'retryable' && attempts < MAX_ATTEMPTS;
    const status: DeliveryStatus = attempt.ok
      ? attempt.outcome.status
      : retry
        ? 'pending'
        : attempt.error.kind === 'bounced'
          ? 'bounced'
          : 'failed';
    const nextAttemptAt = retry
      ? new Date(now.getTime() + retryDelayMs(attempts, attempt.ok ? undefined : attempt.error.retryAfterMs))
      : null;
    const response = attempt.ok
      ? attempt.outcome.response
      : { error: attempt.error.message, kind: attempt.error.kind, ...attempt.error.response };
    await db.transaction(async (tx) => {
      await tx
        .update(notificationDeliveries)
        .set({
          status,
          attempts,
          lastAttemptAt: now,
          nextAttemptAt,
          lockedUntil: null,
          externalResponse: response,
          ...(attempt.ok && {
            sentAt: now,
            providerMessageId: attempt.outcome.providerMessageId ?? null,
            ...(attempt.outcome.status === 'delivered' && { deliveredAt: now }),
          }),
          ...(!attempt.ok && !retry && { failedAt: now }),
        })
        .where(eq(notificationDeliveries.id, delivery.id));
      await tx.insert(notificationLogs).values({
        notificationId: delivery.notificationId,
        deliveryId: delivery.id,
        userId: delivery.userId,
        action: 'attempt',
        channel: delivery.channel,
        details: { attempt: attempts, outcome: status, ...response },
        performanceMetrics: { duration_ms: durationMs },
      });
      if (nextAttemptAt) {
        await jobs.enqueue(
          tx,
          deliverJob,
          { delivery_id: delivery.id },
          { startAfter: nextAttemptAt, priority: JOB_PRIORITY[delivery.priority] },
        );
      }
      if (status === 'sent' && isOutbound(delivery.channel) && channels[delivery.channel].report) {
        await jobs.enqueue(
          tx,
          checkJob,
          { delivery_id: delivery.id, check: 0 },
          { startAfter: new Date(now.getTime() + FIRST_CHECK_MS) },
        );
      }
    });
  }

  async function cancel(delivery: DeliveryRow, reason: string) {
    await db
      .update(notificationDeliveries)
      .set({ status: 'cancelled', lockedUntil: null, nextAttemptAt: null, externalResponse: { reason } })
      .where(eq(notificationDeliveries.id, delivery.id));
  }

  const deliverJob = defineJob<{ delivery_id: string }>({
    name: 'notifications.deliver',
    // A worker that died mid-attempt leaves the delivery leased: the job's own retry comes after the lease.
    retryLimit: 3,
    retryDelaySeconds: LEASE_MS / 1000 + 30,
    retryBackoff: false,
    async handle({ delivery_id }) {
      const delivery = await claim(delivery_id);
      if (!delivery || !isOutbound(delivery.channel)) return;
      const recipient = await recipients.find(delivery.userId);
      if (!recipient) return cancel(delivery, 'recipient_gone');
      const channel = delivery.channel;
      const addresses =
        channel === 'push'
          ? await devices.liveTokens(delivery.userId)
          : [recipients.addressOf(recipient, channel)].filter((a): a is string => a !== null);
      if (addresses.length === 0) return cancel(delivery, 'no_address');
      const started = performance.now();
      const attempt = await sendToEach(delivery, channel, addresses);
      await finish(delivery, attempt, Math.round(performance.now() - started));
    },
  });

  /**
   * Sends to every address (a person's devices); sent when one took it. Otherwise tried again when one may
   * take it later, else the first refusal stands. A token the provider says is gone is forgotten.
   */
  async function sendToEach(delivery: DeliveryRow, channel: OutboundChannel, addresses: string[]) {
    const failures: ChannelError[] = [];
    let sent: SendOutcome | undefined;
    for (const to of addresses) {
      try {
        const outcome = await channels[channel].send({
          channel,
          to,
          subject: delivery.subject,
          text: delivery.body,
          link: delivery.link,
          type: delivery.notificationType,
          priority: delivery.priority,
          reference: delivery.id,
          collapseKey: delivery.collapseKey,
        });
        sent ??= outcome;
      } catch (error) {
        const failure =
          error instanceof ChannelError
            ? error
            : new ChannelError((error as Error).message, 'retryable', { unexpected: true });
        if (failure.addressGone) await devices.forgetToken(to);
        failures.push(failure);
      }
    }
    if (sent) return { ok: true, outcome: sent } as const;
    const retryable = failures.filter((f) => f.kind === 'retryable');
    const latest = Math.max(0, ...retryable.map((f) => f.retryAfterMs ?? 0));
    const first = (retryable[0] ?? failures[0]) as ChannelError;
    const error =
      retryable.length > 0 && latest > (first.retryAfterMs ?? 0)
        ? new ChannelError(first.message, 'retryable', first.response, latest)
        : first;
    return { ok: false, error } as const;
  }

  return { deliverJob };
}
