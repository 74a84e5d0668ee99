import { type SQL, sql } from 'drizzle-orm';
import { bids, orderAssignments, orderReviews, orders } from './schema.ts';

/*
 * The orders module's published read models (ARCHITECTURE.md, "Read models"): what another module may read
 * of this module's tables in its own SQL. Their columns are a contract, held by read-models.test.ts beside
 * this file.
 */

/** A row of `orderNotice`. */
export interface OrderNotice {
  title: string;
  status: string;
  client_user_id: string;
  /** The provider of the bid asked about, else the assigned one; null for neither. */
  provider_user_id: string | null;
  /** Tyiyn: the bid's amount, else the agreed price; null for neither. */
  amount: number | null;
  currency: string;
  bid_count: number;
  /** The rating of the review asked about; null without one. */
  rating: number | null;
}

/**
 * What a notification about an order says: one row for a live order, none for a deleted or missing one.
 * `bidId` and `reviewId` may be null; a bid or review of another order is not read.
 */
export const orderNotice = (orderId: SQL, bidId: SQL, reviewId: SQL) =>
  sql`select o.title, o.status, o.client_user_id,
      coalesce(b.provider_user_id, a.provider_user_id) as provider_user_id,
      coalesce(b.amount, o.final_price) as amount, o.currency, o.bid_count, r.rating
    from ${orders} o
    left join ${bids} b on b.id = ${bidId} and b.order_id = o.id
    left join ${orderAssignments} a on a.order_id = o.id
    left join ${orderReviews} r on r.id = ${reviewId} and r.order_id = o.id
    where o.id = ${orderId} and not o.is_deleted`;
