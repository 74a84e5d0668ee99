import { Type } from 'typebox';
import { Nullable } from '../../platform/http.ts';
import { Component, DateOnly, Uuid } from '../../platform/schemas.ts';
import { ORDER_STATUSES } from './schema.ts';

/** What a view of something else (agreed work, a bid) shows of its order: one shape, the bid's a part of it. */
const orderBrief = {
  id: Uuid,
  title: Type.String(),
  status: Type.Enum(ORDER_STATUSES),
  subcategory_id: Uuid,
  service_area_id: Uuid,
  service_date: Nullable(DateOnly),
  currency: Type.String(),
};

/** The order of agreed work: when, and at what price. */
export const AssignmentOrderSummary = Component(
  'AssignmentOrderSummary',
  Type.Object({
    ...orderBrief,
    time_from: Nullable(Type.String()),
    time_to: Nullable(Type.String()),
    final_price: Nullable(Type.Integer({ description: 'Tyiyn: the accepted bid’s amount' })),
  }),
);

/** The order of a provider's bid. */
export const BidOrderSummary = Component('BidOrderSummary', Type.Object(orderBrief));
