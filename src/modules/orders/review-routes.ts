import { Type } from 'typebox';
import { actorOf } from '../../platform/auth.ts';
import { problems } from '../../platform/documentation.ts';
import { IdParams, type RoutesPlugin } from '../../platform/http.ts';
import { ListQuery } from '../../platform/pagination.ts';
import { Ref } from '../../platform/schemas.ts';
import { wrongStateCodes } from './lifecycle.ts';
import {
  CreateReviewBody,
  OrderReviewPage,
  OrderReviewParams,
  OrderReviewResponse,
  PublicReviewPage,
} from './review-contract.ts';
import type { ReviewService } from './review-service.ts';

const staff = { access: ['admin', 'moderator'] as const };

export const reviewRoutes: RoutesPlugin<{ reviews: ReviewService }> = async (app, { reviews }) => {
  const tags = ['reviews'];

  app.post(
    '/orders/:id/reviews',
    {
      config: { access: 'user', location: '/orders/{order_id}/reviews/{id}' },
      schema: {
        tags,
        operationId: 'createOrderReview',
        summary: 'Rate the other party of a completed order (once)',
        description:
          'The client rates the assigned provider, the assigned provider rates the client; each once per order ' +
          '(409 `review_already_exists`, also when staff removed the first one). The order must be `completed` ' +
          '(409 `order_is_<status>`). Anyone else gets 404; staff get 403.',
        params: IdParams,
        body: Ref(CreateReviewBody),
        response: {
          201: Ref(OrderReviewResponse),
          ...problems({
            403: ['not_a_party'],
            404: ['order_not_found'],
            409: ['review_already_exists', ...wrongStateCodes('review')],
          }),
        },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await reviews.createReview(actorOf(request), request.params.id, request.body)),
  );

  app.get(
    '/orders/:id/reviews',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'listOrderReviews',
        summary: 'The reviews of an order, newest first (its two parties and staff)',
        description: 'Staff also see reviews they removed (`is_deleted`).',
        params: IdParams,
        querystring: ListQuery({}),
        response: { 200: Ref(OrderReviewPage), ...problems({ 404: ['order_not_found'] }) },
      },
    },
    async (request) => reviews.listOrderReviews(actorOf(request), request.params.id, request.query),
  );

  app.get(
    '/orders/:id/reviews/:review_id',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'getOrderReview',
        summary: 'One review of an order (its two parties and staff)',
        description:
          'The `Location` of a written review. Staff also see a review they removed (`is_deleted`).',
        params: OrderReviewParams,
        response: {
          200: Ref(OrderReviewResponse),
          ...problems({ 404: ['order_not_found', 'review_not_found'] }),
        },
      },
    },
    async (request) => reviews.getOrderReview(actorOf(request), request.params.id, request.params.review_id),
  );

  app.get(
    '/providers/:id/reviews',
    {
      config: { access: 'public', shared: { maxAgeSeconds: 0 } },
      schema: {
        tags: ['reviews', 'directory'],
        operationId: 'listProviderReviews',
        summary: 'What clients wrote about a provider, newest first',
        description: 'The author is shown by first name only.',
        params: IdParams,
        querystring: ListQuery({}),
        response: { 200: Ref(PublicReviewPage), ...problems({ 404: ['provider_not_found'] }) },
      },
    },
    async (request) => reviews.listProviderReviews(request.params.id, request.query),
  );

  app.delete(
    '/admin/reviews/:id',
    {
      config: staff,
      schema: {
        tags: ['admin', 'reviews'],
        operationId: 'adminRemoveReview',
        summary: 'Take a review down; it stops counting in the rating it was part of',
        description: 'Not a review one wrote or one about oneself (403 `own_case`).',
        params: IdParams,
        response: {
          204: Type.Null(),
          ...problems({ 403: ['own_case'], 404: ['review_not_found'], 409: ['review_already_removed'] }),
        },
      },
    },
    async (request, reply) => {
      await reviews.removeReview(actorOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/admin/reviews/:id/restore',
    {
      config: staff,
      schema: {
        tags: ['admin', 'reviews'],
        operationId: 'adminRestoreReview',
        summary: 'Put a removed review back; it counts again',
        description: 'Not a review one wrote or one about oneself (403 `own_case`).',
        params: IdParams,
        response: {
          200: Ref(OrderReviewResponse),
          ...problems({ 403: ['own_case'], 404: ['review_not_found'], 409: ['not_deleted'] }),
        },
      },
    },
    async (request) => reviews.restoreReview(actorOf(request), request.params.id),
  );
};
