import type { DomainEvent, Emitter } from '../../platform/events.ts';

/** What the orders module tells: each is emitted in the transaction of the change. */
export const ORDER_EVENTS = [
  'bid_received',
  'bid_accepted',
  'bid_rejected',
  /** The provider took back a pending bid (or their account was closed, erased or blocked): to the client. */
  'bid_withdrawn',
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

export interface OrderEvent extends DomainEvent<OrderEventType> {
  order_id: string;
  /** The users to tell. */
  recipient_user_ids: string[];
  bid_id?: string;
  dispute_id?: string;
  review_id?: string;
  from_status?: string;
  to_status?: string;
}

export type OrderEvents = Emitter<OrderEvent>;
