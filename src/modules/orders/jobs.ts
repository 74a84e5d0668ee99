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

/**
 * The orders' vocabulary keeps only the words of open orders: hourly, those of the orders that left the
 * open set since (accepted ones above all) go, unless another open order holds them. One statement, safe
 * to run twice.
 */
export const pruneOrderVocabularyJob = (orders: OrderService) =>
  defineJob<Record<string, never>>({
    name: 'orders.prune-vocabulary',
    cron: '23 * * * *',
    async handle(_data, { log }) {
      const dropped = await orders.pruneVocabulary();
      if (dropped > 0) log.info({ dropped }, 'words of closed orders dropped from the vocabulary');
    },
  });

export const orderJobs = (orders: OrderService) => [
  autoConfirmOrdersJob(orders),
  pruneOrderVocabularyJob(orders),
];
