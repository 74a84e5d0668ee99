import { defineJob } from '../../platform/jobs.ts';
import type { OrderService } from './order-service.ts';

/**
 * Work the provider marked done and the client never confirmed is confirmed for them after the
 * `order_auto_confirm_days` setting. Hourly; each order is re-checked under its lock, so a second run,
 * or a run racing a client's confirm, completes nothing twice.
 */
export const autoConfirmOrdersJob = (orders: OrderService) =>
  defineJob<Record<string, never>>({
    name: 'orders.auto-confirm',
    cron: '7 * * * *',
    async handle(_data, { log }) {
      const confirmed = await orders.autoConfirmOrders();
      if (confirmed > 0) log.info({ confirmed }, 'orders confirmed automatically');
    },
  });

export const orderJobs = (orders: OrderService) => [autoConfirmOrdersJob(orders)];
