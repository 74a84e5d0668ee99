import type { SQL } from 'drizzle-orm';
import type { Db } from '../../platform/db.ts';
import { defineJob, type Jobs } from '../../platform/jobs.ts';

/** What a user must hear about. Each is a job enqueued in the transaction of the change. */
export const ORDER_EVENTS = [
  'bid_received',
  'bid_accepted',
  'bid_rejected',
  'order_assigned',
  'order_status_changed',
  /** The provider marked the work done: the client should confirm (or it is confirmed for them later). */
  'order_work_done',
  'order_completed',
  'dispute_opened',
  'dispute_resolved',
  'review_received',
  /** Taken down with its subcategory or category, which staff took off the catalog: to its client and bidders. */
  'order_withdrawn_by_catalog',
  /** Back with its subcategory or category: to its client and the bidders whose bids came back with it. */
  'order_restored_by_catalog',
] as const;
export type OrderEventType = (typeof ORDER_EVENTS)[number];

export interface OrderEvent {
  type: OrderEventType;
  order_id: string;
  /** The users to tell. */
  recipient_user_ids: string[];
  bid_id?: string;
  dispute_id?: string;
  review_id?: string;
  from_status?: string;
  to_status?: string;
}

/**
 * Until the notifications module takes these over, the handler only records that the event was
 * handled; the payload carries ids, so a later handler reloads whatever it needs.
 */
export const orderEventJob = defineJob<OrderEvent>({
  name: 'orders.event',
  async handle(event, { log }) {
    log.info({ event }, 'order event');
  },
});

export type OrderEvents = ReturnType<typeof createOrderEvents>;

export function createOrderEvents(jobs: Jobs) {
  return {
    /** Enqueues the event in `tx`: it exists only if the change commits. */
    async emit(tx: Db, event: OrderEvent) {
      await jobs.enqueue(tx, orderEventJob, event);
    },
    /** `emit` inside a statement that makes the change: one event for each row of `rows` (a jsonb column). */
    emitSql(rows: SQL) {
      return jobs.enqueueSql(orderEventJob, rows);
    },
  };
}
