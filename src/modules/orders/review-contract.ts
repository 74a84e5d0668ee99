import { type Static, Type } from 'typebox';
import { Nullable } from '../../platform/http.ts';
import { Page } from '../../platform/pagination.ts';
import { Component, DateTime, Uuid } from '../../platform/schemas.ts';
import { Text } from '../../platform/validation.ts';
import { REVIEW_DIRECTIONS, REVIEW_HIDDEN_REASONS } from './schema.ts';

const Rating = Type.Integer({ minimum: 1, maximum: 5, description: '1 (worst) to 5 (best)' });

export const CreateReviewBody = Component(
  'CreateReviewBody',
  Type.Object(
    {
      rating: Rating,
      comment: Type.Optional(Text({ maxLength: 2000 })),
    },
    { additionalProperties: false },
  ),
);
export type CreateReviewInput = Static<typeof CreateReviewBody>;

/** A review as the two parties of the order and staff see it. */
export const OrderReviewResponse = Component(
  'OrderReview',
  Type.Object({
    id: Uuid,
    order_id: Uuid,
    direction: Type.Enum(REVIEW_DIRECTIONS, {
      description: '`client_to_provider`: the client rates the provider; `provider_to_client` the reverse',
    }),
    author_user_id: Uuid,
    subject_user_id: Uuid,
    rating: Rating,
    comment: Nullable(Type.String()),
    created_at: DateTime,
    updated_at: DateTime,
    is_deleted: Type.Boolean({ description: 'Removed by staff; only staff see removed reviews' }),
    deleted_at: Nullable(DateTime),
    hidden_reason: Nullable(
      Type.Enum(REVIEW_HIDDEN_REASONS, {
        description:
          '`order_cancelled_by_ruling`: a dispute ruling cancelled the order, so the review shows to no one but staff and is out of the average and count. Null for a review that shows',
      }),
    ),
  }),
);
export type OrderReviewView = Static<typeof OrderReviewResponse>;
export const OrderReviewPage = Page('OrderReviewPage', OrderReviewResponse);

/** A provider's review as anyone sees it: the author by first name only, never contact details. */
export const PublicReviewResponse = Component(
  'PublicReview',
  Type.Object({
    id: Uuid,
    rating: Rating,
    comment: Nullable(Type.String()),
    author_name: Nullable(Type.String({ description: 'The first name of the client who wrote it' })),
    subcategory_id: Uuid,
    created_at: DateTime,
  }),
);
export type PublicReviewView = Static<typeof PublicReviewResponse>;
export const PublicReviewPage = Page('PublicReviewPage', PublicReviewResponse);

export const OrderReviewParams = Type.Object({
  id: Type.String({ format: 'uuid', description: 'The order' }),
  review_id: Type.String({ format: 'uuid', description: 'The review' }),
});
