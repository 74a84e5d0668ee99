import type { BidView, MyBidView } from './bid-contract.ts';
import type { OrderRow } from './lifecycle.ts';
import type { bids } from './schema.ts';
import { orderSummaryView } from './summary-views.ts';

export type BidRow = typeof bids.$inferSelect;

export const bidView = (b: BidRow): BidView => ({
  id: b.id,
  order_id: b.orderId,
  provider_profile_id: b.providerProfileId,
  amount: b.amount,
  currency: b.currency,
  message: b.message,
  estimated_duration_hours: b.estimatedDurationHours,
  is_negotiable: b.isNegotiable,
  status: b.status,
  decided_at: b.decidedAt?.toISOString() ?? null,
  reject_reason: b.rejectReason,
  created_at: b.createdAt.toISOString(),
  updated_at: b.updatedAt.toISOString(),
});

/**
 * A provider's own bid, with what they need to know of the order; its client's id once the bid is accepted
 * (the provider is then a party to the order).
 */
export const myBidView = (
  { bid, order }: { bid: BidRow; order: OrderRow },
  primaryPhoto: string | null,
): MyBidView => ({
  ...bidView(bid),
  order: orderSummaryView(order, { primaryPhoto, showClient: bid.status === 'accepted' }),
});
