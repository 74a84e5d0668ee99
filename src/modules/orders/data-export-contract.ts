import { Type } from 'typebox';
import { Nullable } from '../../platform/http.ts';
import { Component, DateOnly, DateTime, Ref, Uuid } from '../../platform/schemas.ts';
import { ProgressNote } from './assignment-contract.ts';
import { BidResponse } from './bid-contract.ts';
import { DisputeResponse } from './dispute-contract.ts';
import {
  Location,
  OrderAddonResponse,
  OrderHistoryEntry,
  OrderPhotoResponse,
  OrderResponse,
} from './order-contract.ts';
import { OrderReviewResponse } from './review-contract.ts';

// What a person's data export holds of the orders module (data-rights.ts fills it).

const order = OrderResponse.properties;

const ExportedOrder = Component(
  'ExportedOrder',
  Type.Object({
    id: order.id,
    status: order.status,
    subcategory_id: order.subcategory_id,
    category_id: order.category_id,
    title: order.title,
    description: order.description,
    service_area_id: order.service_area_id,
    address: Nullable(Type.String({ description: 'Null once removed (an erased client’s order)' })),
    location: Nullable(Ref(Location)),
    service_date: order.service_date,
    time_from: order.time_from,
    time_to: order.time_to,
    urgency: order.urgency,
    budget_min: order.budget_min,
    budget_max: order.budget_max,
    currency: order.currency,
    final_price: order.final_price,
    bid_count: order.bid_count,
    addons: Type.Array(Ref(OrderAddonResponse)),
    photos: Type.Array(Ref(OrderPhotoResponse)),
    history: Type.Array(Ref(OrderHistoryEntry), { description: 'Every status change, oldest first' }),
    published_at: order.published_at,
    assigned_at: order.assigned_at,
    started_at: order.started_at,
    work_done_at: order.work_done_at,
    completed_at: order.completed_at,
    cancelled_at: order.cancelled_at,
    cancel_reason: order.cancel_reason,
    created_at: order.created_at,
    updated_at: order.updated_at,
    is_deleted: Type.Boolean(),
  }),
);

const ExportedAssignment = Component(
  'ExportedAssignment',
  Type.Object({
    id: Uuid,
    order_id: Uuid,
    bid_id: Uuid,
    role: Type.Enum(['client', 'provider'], { description: 'The person’s side of the agreed work' }),
    start_date: Nullable(DateOnly),
    progress_notes: Type.Array(Ref(ProgressNote)),
    completion_notes: Nullable(Type.String()),
    completion_photo_file_ids: Type.Array(Uuid),
    client_rating: Nullable(Type.Integer()),
    created_at: DateTime,
    updated_at: DateTime,
  }),
);

const ExportedSearch = Component(
  'ExportedSearch',
  Type.Object({
    query: Nullable(Type.String()),
    filters: Type.Record(Type.String(), Type.Unknown()),
    result_count: Type.Integer(),
    created_at: DateTime,
  }),
);

export const OrdersSection = Component(
  'OrdersExport',
  Type.Object({
    orders: Type.Array(Ref(ExportedOrder), {
      description: 'The orders the person placed as a client, newest first',
    }),
    bids: Type.Array(Type.Intersect([Ref(BidResponse), Type.Object({ is_deleted: Type.Boolean() })]), {
      description: 'The bids the person made as a provider, newest first',
    }),
    assignments: Type.Array(Ref(ExportedAssignment), {
      description: 'The agreed work the person took part in, on either side, newest first',
    }),
    reviews_written: Type.Array(Ref(OrderReviewResponse)),
    reviews_received: Type.Array(Ref(OrderReviewResponse)),
    disputes: Type.Array(Ref(DisputeResponse), {
      description: 'Disputes the person opened or that are over an order they are a party to',
    }),
    searches: Type.Array(Ref(ExportedSearch), { description: 'The person’s order searches, newest first' }),
  }),
);
