import { type Static, Type } from 'typebox';
import { Nullable } from '../../platform/http.ts';
import { Component, DateOnly, DateTime, Money, Ref, Uuid } from '../../platform/schemas.ts';
import { ORDER_STATUSES, URGENCIES } from './schema.ts';

export const OrderStatus = Type.Enum(ORDER_STATUSES);
export const Urgency = Type.Enum(URGENCIES);

/** What every view of an order shows of it, the whole order's (`Order`) and a line of a list's alike. */
export const orderFacts = {
  id: Uuid,
  status: OrderStatus,
  client_user_id: Uuid,
  subcategory_id: Uuid,
  category_id: Uuid,
  title: Type.String(),
  service_area_id: Uuid,
  service_date: Nullable(DateOnly),
  urgency: Urgency,
  budget_min: Nullable(Money),
  budget_max: Nullable(Money),
  currency: Type.String(),
  final_price: Nullable(Money),
  bid_count: Type.Integer(),
  published_at: Nullable(DateTime),
  created_at: DateTime,
  updated_at: DateTime,
};

/** The order's client, shown to its parties and staff only. */
export const ClientUserId = Nullable(
  Type.String({
    format: 'uuid',
    description: 'The client’s user id; null to anyone but the order’s parties and staff, as in the feed',
  }),
);

/**
 * An order as a line of a list, and as what a view of something else (a bid, agreed work) shows of its
 * order: one shape everywhere.
 */
export const OrderSummaryResponse = Component(
  'OrderSummary',
  Type.Object({
    ...orderFacts,
    client_user_id: ClientUserId,
    time_from: Nullable(Type.String()),
    time_to: Nullable(Type.String()),
    primary_photo_file_id: Nullable(Uuid),
    is_deleted: Type.Boolean(),
  }),
);
export type OrderSummaryView = Static<typeof OrderSummaryResponse>;

/** A line of a list of orders the caller is a party to, or staff: the summary, with its client always. */
export const OrderLine = Component(
  'OrderLine',
  Type.Intersect([Ref(OrderSummaryResponse), Type.Object({ client_user_id: Uuid })]),
);
export type OrderLineView = OrderSummaryView & { client_user_id: string };
