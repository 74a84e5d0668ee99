import { type Static, Type } from 'typebox';
import { Nullable } from '../../platform/http.ts';
import { ListQuery, OneOrMore, Page, Sort } from '../../platform/pagination.ts';
import { Component, DateTime, Ref, Uuid } from '../../platform/schemas.ts';
import { Text } from '../../platform/validation.ts';
import { UNAVAILABLE_STANDINGS } from '../users/contract.ts';
import { ProviderCardResponse } from '../users/profile-contract.ts';
import { BID_STATUSES } from './schema.ts';
import { OrderSummaryResponse } from './summary-contract.ts';

export const BidStatus = Type.Enum(BID_STATUSES);

const bidFields = {
  amount: Type.Integer({
    minimum: 1,
    maximum: 1_000_000_000,
    description: 'Tyiyn (1 KGS = 100 tyiyn); within the category’s price range',
  }),
  message: Nullable(Text({ maxLength: 2000, description: 'What the provider tells the client' })),
  estimated_duration_hours: Nullable(Type.Integer({ minimum: 1, maximum: 10_000 })),
  is_negotiable: Type.Boolean({ description: 'The provider is open to talk about the price' }),
};

export const CreateBidBody = Component(
  'CreateBidBody',
  Type.Object(
    {
      amount: bidFields.amount,
      message: Type.Optional(bidFields.message),
      estimated_duration_hours: Type.Optional(bidFields.estimated_duration_hours),
      is_negotiable: Type.Optional(bidFields.is_negotiable),
    },
    { additionalProperties: false },
  ),
);
export type CreateBidInput = Static<typeof CreateBidBody>;

export const UpdateBidBody = Component(
  'UpdateBidBody',
  Type.Partial(Type.Object(bidFields), {
    additionalProperties: false,
    minProperties: 1,
  }),
);
export type UpdateBidInput = Static<typeof UpdateBidBody>;

export const RejectBidBody = Component(
  'RejectBidBody',
  Type.Object(
    {
      reason: Type.Optional(Text({ maxLength: 500, description: 'Shown to the provider' })),
    },
    { additionalProperties: false },
  ),
);
export type RejectBidInput = Static<typeof RejectBidBody>;

export const AcceptBidBody = Component(
  'AcceptBidBody',
  Type.Object(
    {
      amount: Type.Integer({
        minimum: 1,
        description:
          'The bid’s amount as the client saw it. The provider may change a pending bid; if it changed since, the accept is refused (409 `bid_changed`) and nothing changes, so nobody is assigned at a price the client never saw.',
      }),
    },
    { additionalProperties: false },
  ),
);
export type AcceptBidInput = Static<typeof AcceptBidBody>;

export const BidResponse = Component(
  'Bid',
  Type.Object({
    id: Uuid,
    order_id: Uuid,
    provider_profile_id: Uuid,
    ...bidFields,
    currency: Type.String(),
    status: BidStatus,
    decided_at: Nullable(DateTime),
    reject_reason: Nullable(Type.String()),
    created_at: DateTime,
    updated_at: DateTime,
  }),
);
export type BidView = Static<typeof BidResponse>;

/** A bid as the order's client sees it: with the provider's public card (null once they left the directory). */
export const OrderBidResponse = Component(
  'OrderBid',
  Type.Object({
    ...BidResponse.properties,
    provider: Nullable(Ref(ProviderCardResponse)),
    provider_available: Type.Boolean({
      description:
        'Whether the provider can still take the work: false once their account is blocked or closed, and then a pending bid cannot be accepted (409 `provider_unavailable`)',
    }),
    provider_unavailable_reason: Nullable(
      Type.Enum(UNAVAILABLE_STANDINGS, {
        description:
          'Why `provider_available` is false: `blocked` (the platform blocked the account) or `closed` (the provider closed or erased it); null while available',
      }),
    ),
  }),
);
export type OrderBidView = Static<typeof OrderBidResponse>;
export const OrderBidPage = Page('OrderBidPage', OrderBidResponse);

export const ORDER_BID_SORTS = ['newest', 'amount'] as const;

export const OrderBidsQuery = ListQuery({
  status: OneOrMore(BID_STATUSES, 'Bid statuses'),
  sort: Sort(ORDER_BID_SORTS, { default: 'newest', description: '`amount`: lowest first' }),
});
export type OrderBidsFilter = Static<typeof OrderBidsQuery>;

export const MyBidResponse = Component(
  'MyBid',
  Type.Object({ ...BidResponse.properties, order: Ref(OrderSummaryResponse) }),
);
export type MyBidView = Static<typeof MyBidResponse>;
export const MyBidPage = Page('MyBidPage', MyBidResponse);

export const MyBidsQuery = ListQuery({ status: OneOrMore(BID_STATUSES, 'Bid statuses') });
export type MyBidsFilter = Static<typeof MyBidsQuery>;
