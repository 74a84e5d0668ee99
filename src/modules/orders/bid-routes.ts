import { actorOf } from '../../platform/auth.ts';
import { problems } from '../../platform/documentation.ts';
import { IdParams, type RoutesPlugin } from '../../platform/http.ts';
import { Ref } from '../../platform/schemas.ts';
import { AssignmentResponse } from './assignment-contract.ts';
import type { AssignmentService } from './assignment-service.ts';
import {
  AcceptBidBody,
  BidResponse,
  CreateBidBody,
  MyBidPage,
  MyBidsQuery,
  OrderBidPage,
  OrderBidsQuery,
  RejectBidBody,
  UpdateBidBody,
} from './bid-contract.ts';
import type { BidService } from './bid-service.ts';
import { wrongStateCodes } from './lifecycle.ts';

export const bidRoutes: RoutesPlugin<{
  bids: BidService;
  assignments: AssignmentService;
  /** Bids one user may make a minute. */
  bidsPerMinute?: number;
}> = async (app, { bids, assignments, bidsPerMinute = 30 }) => {
  const tags = ['bids'];

  app.post(
    '/orders/:id/bids',
    {
      config: {
        access: 'user',
        location: '/bids/{id}',
        // Per user, so checked once the caller is known (preHandler runs after authentication).
        rateLimit: {
          max: bidsPerMinute,
          timeWindow: 60_000,
          hook: 'preHandler',
          keyGenerator: (request) => `bid:${request.actor?.userId ?? request.ip}`,
        },
      },
      schema: {
        tags,
        operationId: 'createBid',
        summary: 'Bid on an order open for bids',
        description:
          'Providers only, in a subcategory they offer, never on their own order, one live bid per order (withdraw it to bid again), and none after the client rejected one (409 `bid_rejected`). `amount` is in tyiyn, within the category’s price range. The first bid moves the order from `published` to `bidding`. At most 30 bids a minute per user.',
        params: IdParams,
        body: Ref(CreateBidBody),
        response: {
          201: Ref(BidResponse),
          ...problems({
            403: ['own_order', 'plan_limit_reached', 'provider_profile_required', 'subcategory_not_offered'],
            404: ['order_not_found'],
            409: ['bid_already_exists', 'bid_rejected', ...wrongStateCodes('bid')],
            422: ['amount_out_of_range'],
          }),
        },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await bids.createBid(actorOf(request), request.params.id, request.body)),
  );

  app.get(
    '/orders/:id/bids',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'listOrderBids',
        summary: 'The bids on an order',
        description:
          'The order’s client sees every bid, each with the provider’s public card and whether the provider can still take the work (`provider_available`, and why not in `provider_unavailable_reason`); a provider sees only their own bids on it; anyone else gets 404.',
        params: IdParams,
        querystring: OrderBidsQuery,
        response: { 200: Ref(OrderBidPage), ...problems({ 404: ['order_not_found'] }) },
      },
    },
    async (request) => bids.listOrderBids(actorOf(request), request.params.id, request.query),
  );

  app.get(
    '/bids/:id',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'getBid',
        summary: 'One bid (its bidder, the order’s client, staff)',
        description: 'The `Location` of a new bid. Anyone else gets 404.',
        params: IdParams,
        response: { 200: Ref(BidResponse), ...problems({ 404: ['bid_not_found'] }) },
      },
    },
    async (request) => bids.getBid(actorOf(request), request.params.id),
  );

  app.patch(
    '/bids/:id',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'updateBid',
        summary: 'Change my pending bid while the order is open for bids',
        description:
          'Only the fields sent change; `amount` stays within the category’s price range. A bid that is no longer pending, or an order no longer open for bids, is 409. The client sees the change at once.',
        params: IdParams,
        body: Ref(UpdateBidBody),
        response: {
          200: Ref(BidResponse),
          ...problems({
            404: ['bid_not_found'],
            409: ['bid_is_accepted', 'bid_is_rejected', 'bid_is_withdrawn', ...wrongStateCodes('bid')],
            422: ['amount_out_of_range'],
          }),
        },
      },
    },
    async (request) => bids.updateBid(actorOf(request), request.params.id, request.body),
  );

  app.post(
    '/bids/:id/withdraw',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'withdrawBid',
        summary: 'Withdraw my pending bid; I may bid on the order again',
        description:
          'Only a pending bid (409 `bid_is_<status>` otherwise). The order’s bid count goes down and its client is told.',
        params: IdParams,
        response: {
          200: Ref(BidResponse),
          ...problems({
            404: ['bid_not_found'],
            409: ['bid_is_accepted', 'bid_is_rejected', 'bid_is_withdrawn'],
          }),
        },
      },
    },
    async (request) => bids.withdrawBid(actorOf(request), request.params.id),
  );

  app.post(
    '/bids/:id/reject',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'rejectBid',
        summary: 'Turn down a pending bid on my order',
        description:
          'The reason, if given, is shown to the provider. Send `{}` for none. A rejected provider cannot bid on this order again (a provider who withdraws can).',
        params: IdParams,
        body: Ref(RejectBidBody),
        response: {
          200: Ref(BidResponse),
          ...problems({
            404: ['bid_not_found'],
            409: ['bid_is_accepted', 'bid_is_rejected', 'bid_is_withdrawn', ...wrongStateCodes('accept')],
          }),
        },
      },
    },
    async (request) => bids.rejectBid(actorOf(request), request.params.id, request.body),
  );

  app.post(
    '/bids/:id/accept',
    {
      // The accept makes the order's assignment.
      config: { access: 'user', location: '/orders/{order_id}/assignment' },
      schema: {
        tags,
        operationId: 'acceptBid',
        summary: 'Accept a pending bid on my order',
        description:
          'At once: this bid accepted, every other pending bid rejected, the order `assigned` at the bid’s amount, and the assignment made. Answers 201 with the assignment it made (its `Location`), which carries the provider’s contact details. Of two accepts on one order only one succeeds; the other gets 409. `amount` is the bid’s amount as the client saw it: if the provider changed it since, 409 `bid_changed`. A provider whose account is blocked or closed cannot be chosen: 409 `provider_unavailable`, and nothing changes (the order’s bid list says so in `provider_available`); nor can a client whose own account was closed, blocked or erased while the request was on its way (409 `client_unavailable`).',
        params: IdParams,
        body: Ref(AcceptBidBody),
        response: {
          201: Ref(AssignmentResponse),
          ...problems({
            404: ['bid_not_found'],
            409: [
              'bid_changed',
              'bid_is_accepted',
              'bid_is_rejected',
              'bid_is_withdrawn',
              'client_unavailable',
              'provider_unavailable',
              ...wrongStateCodes('accept'),
            ],
          }),
        },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const { orderId } = await bids.acceptBid(actor, request.params.id, request.body);
      return reply.status(201).send(await assignments.getAssignment(actor, orderId));
    },
  );

  app.get(
    '/me/bids',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'listMyBids',
        summary: 'My bids as a provider, newest first',
        description:
          'The caller’s bids, each with the essentials of its order, a page at a time; filter by the bids’ status.',
        querystring: MyBidsQuery,
        response: { 200: Ref(MyBidPage) },
      },
    },
    async (request) => bids.listMyBids(actorOf(request), request.query),
  );
};
