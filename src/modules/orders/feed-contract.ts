import { type Static, Type } from 'typebox';
import { Nullable } from '../../platform/http.ts';
import { ListQuery, Page, Sort } from '../../platform/pagination.ts';
import { Component, DateOnly, DateTime, Money, Uuid } from '../../platform/schemas.ts';
import { URGENCIES } from './schema.ts';

/**
 * An order open for bids as providers find it in the feed and in search: the area, never the address or
 * the location, and nothing about the client beyond what the order says.
 */
export const OrderListingResponse = Component(
  'OrderListing',
  Type.Object({
    id: Uuid,
    title: Type.String(),
    description: Type.String(),
    category_id: Uuid,
    subcategory_id: Uuid,
    service_area_id: Uuid,
    service_date: Nullable(DateOnly),
    time_from: Nullable(Type.String()),
    time_to: Nullable(Type.String()),
    urgency: Type.Enum(URGENCIES),
    budget_min: Nullable(Money),
    budget_max: Nullable(Money),
    currency: Type.String(),
    status: Type.Enum(['published', 'bidding']),
    bid_count: Type.Integer({ description: 'Bids made, less the withdrawn ones' }),
    published_at: Nullable(DateTime),
    created_at: DateTime,
  }),
);
export type OrderListingView = Static<typeof OrderListingResponse>;
export const OrderListingPage = Page('OrderListingPage', OrderListingResponse);

export const FEED_SORTS = ['newest', 'urgent'] as const;

export const FeedQuery = ListQuery({
  sort: Sort(FEED_SORTS, {
    default: 'newest',
    description: '`urgent`: most urgent first, then newest',
  }),
  subcategory_id: Type.Optional(
    Type.String({ format: 'uuid', description: 'One of the subcategories I offer' }),
  ),
});
export type FeedFilter = Static<typeof FeedQuery>;

export const SEARCH_SORTS = ['relevance', 'newest', 'urgent'] as const;

export const OrderSearchQuery = ListQuery({
  q: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 100,
      description: 'Words of the title or description, in any order; typos tolerated (ru, ky, en)',
    }),
  ),
  category_id: Type.Optional(Uuid),
  subcategory_id: Type.Optional(Uuid),
  area_id: Type.Optional(Type.String({ format: 'uuid', description: 'A city takes in its districts' })),
  budget_min: Type.Optional(Money),
  budget_max: Type.Optional(Money),
  urgency: Type.Optional(Type.Enum(URGENCIES)),
  date_from: Type.Optional(Type.String({ format: 'date', description: 'Service date from (inclusive)' })),
  date_to: Type.Optional(Type.String({ format: 'date', description: 'Service date to (inclusive)' })),
  sort: Type.Optional(Sort(SEARCH_SORTS, { description: 'Default: `relevance` with `q`, `newest` without' })),
});
export type OrderSearchFilter = Static<typeof OrderSearchQuery>;
