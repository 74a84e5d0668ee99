import type { OrderRow } from './lifecycle.ts';
import type { OrderLineView, OrderSummaryView } from './summary-contract.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

type Wanted = Pick<
  OrderRow,
  'serviceDate' | 'timeFrom' | 'timeTo' | 'urgency' | 'budgetMin' | 'budgetMax' | 'currency'
>;

/** When the work is wanted and what the client offers for it, as every view of an order shows them. */
export const whenAndBudget = (o: Wanted) => ({
  service_date: o.serviceDate,
  time_from: o.timeFrom,
  time_to: o.timeTo,
  urgency: o.urgency,
  budget_min: o.budgetMin,
  budget_max: o.budgetMax,
  currency: o.currency,
});

/**
 * The order as a line of a list or as what a bid or agreed work shows of it; `showClient` when the viewer is
 * one of its parties or staff (`client_user_id` is null to anyone else, as in the feed).
 */
export const orderSummaryView = (
  o: OrderRow,
  { primaryPhoto, showClient }: { primaryPhoto: string | null; showClient: boolean },
): OrderSummaryView => ({
  id: o.id,
  status: o.status,
  client_user_id: showClient ? o.clientUserId : null,
  subcategory_id: o.subcategoryId,
  category_id: o.categoryId,
  title: o.title,
  service_area_id: o.serviceAreaId,
  ...whenAndBudget(o),
  final_price: o.finalPrice,
  bid_count: o.bidCount,
  primary_photo_file_id: primaryPhoto,
  is_deleted: o.isDeleted,
  published_at: iso(o.publishedAt),
  created_at: o.createdAt.toISOString(),
  updated_at: o.updatedAt.toISOString(),
});

/** A line of a list of orders the caller is a party to, or staff: the summary with its client. */
export const orderLineView = (o: OrderRow, primaryPhoto: string | null): OrderLineView => ({
  ...orderSummaryView(o, { primaryPhoto, showClient: true }),
  client_user_id: o.clientUserId,
});
