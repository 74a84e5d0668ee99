import { STAFF_ROLES } from '../../platform/actor.ts';
import { actorOf } from '../../platform/auth.ts';
import { problems } from '../../platform/documentation.ts';
import { IdParams, type RoutesPlugin } from '../../platform/http.ts';
import { Ref } from '../../platform/schemas.ts';
import { fileResponse, IMAGE_TYPES, sendStoredFile } from '../../platform/storage/reply.ts';
import { wrongStateCodes } from './lifecycle.ts';
import {
  AdminOrdersQuery,
  CreateOrderBody,
  MyOrdersQuery,
  OrderDeleteResponse,
  OrderHistoryQuery,
  OrderHistoryResponse,
  OrderPhotoParams,
  OrderResponse,
  OrderRestoreResponse,
  OrderSummaryPage,
  UpdateOrderBody,
} from './order-contract.ts';
import { orderLifecycleRoutes } from './order-lifecycle-routes.ts';
import type { OrderService } from './order-service.ts';

const tags = ['orders'];
const ORDER_MODERATORS = ['admin', 'moderator'] as const;
/** What an order's body may break, written or changed. */
const ORDER_INPUT_PROBLEMS = [
  'addon_not_found',
  'budget_out_of_range',
  'duplicate_addon',
  'invalid_budget_range',
  'invalid_file',
  'invalid_primary_photo',
  'invalid_time_range',
  'service_area_not_found',
  'service_date_in_past',
  'service_date_too_far',
];

export const orderRoutes: RoutesPlugin<{ orders: OrderService }> = async (app, { orders }) => {
  app.post(
    '/orders',
    {
      config: { access: 'user', location: '/orders/{id}' },
      schema: {
        tags,
        operationId: 'createOrder',
        summary: 'Create an order (a draft, or published at once with `publish: true`)',
        description:
          'Any signed-in user may order; the first order makes the caller a client. Budgets are tyiyn within ' +
          'the category’s price range; add-ons must belong to the subcategory; photos are the caller’s ' +
          '`order_photo` uploads. A client keeps at most the `max_drafts_per_client` setting of drafts (one ' +
          'more is 409 `draft_limit_reached`) and has at most `max_open_orders_per_client` orders open for ' +
          'bids (publishing one more is 409 `open_order_limit_reached`). ' +
          'Send an `Idempotency-Key`: a retry answers with the first order.',
        body: Ref(CreateOrderBody),
        response: {
          201: Ref(OrderResponse),
          ...problems({
            409: ['draft_limit_reached', 'open_order_limit_reached'],
            422: [...ORDER_INPUT_PROBLEMS, 'subcategory_not_found'],
          }),
        },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await orders.createOrder(actorOf(request), request.body)),
  );

  app.get(
    '/orders/:id',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'getOrder',
        summary: 'One order, as the caller may see it',
        description:
          'The client, the assigned provider and staff see everything (address, location; contact details while ' +
          'the work is agreed). Anyone else sees only published or bidding orders, without address, location, ' +
          'contacts or `client_user_id`; other orders are 404. A draft is its client’s alone: 404 to staff too.',
        params: IdParams,
        response: { 200: Ref(OrderResponse), ...problems({ 404: ['order_not_found'] }) },
      },
    },
    async (request) => orders.getOrder(actorOf(request), request.params.id),
  );

  app.patch(
    '/orders/:id',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'updateOrder',
        summary: 'Change my order while it is a draft, published or bidding',
        description:
          'Only the fields sent change; the same rules as at creation apply to them. An order past bidding is 409; anyone else’s order is 404 (or 403 when the caller may see it but not change it).',
        params: IdParams,
        body: Ref(UpdateOrderBody),
        response: {
          200: Ref(OrderResponse),
          ...problems({
            403: ['not_your_order'],
            404: ['order_not_found'],
            409: wrongStateCodes('edit'),
            422: ORDER_INPUT_PROBLEMS,
          }),
        },
      },
    },
    async (request) => orders.updateOrder(actorOf(request), request.params.id, request.body),
  );

  app.delete(
    '/orders/:id',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'deleteOrder',
        summary: 'Soft-delete an order with its bids, add-ons and photos',
        description:
          'The client, while the order is a draft, published or bidding and no bid is accepted; admins and ' +
          'moderators at any time but while it is disputed (409 `order_is_disputed`: settle the dispute first), ' +
          'and not an order they bid on or work on (403 `own_case`; their own order they delete as its client).',
        params: IdParams,
        response: {
          200: Ref(OrderDeleteResponse),
          ...problems({
            403: ['not_your_order', 'own_case'],
            404: ['order_not_found'],
            409: ['order_has_accepted_bid', ...wrongStateCodes('deleteByClient')],
          }),
        },
      },
    },
    async (request) => {
      const result = await orders.deleteOrder(actorOf(request), request.params.id);
      return { deletion_id: result.deletionId, counts: result.counts };
    },
  );

  orderLifecycleRoutes(app, orders);

  app.get(
    '/orders/:id/history',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'listOrderHistory',
        summary: 'Every status change of an order, oldest first, a page at a time',
        description: 'For its client, its assigned provider and staff (a draft: its client only).',
        params: IdParams,
        querystring: OrderHistoryQuery,
        response: {
          200: Ref(OrderHistoryResponse),
          ...problems({ 403: ['not_your_order'], 404: ['order_not_found'] }),
        },
      },
    },
    async (request) => orders.listOrderHistory(actorOf(request), request.params.id, request.query),
  );

  app.get(
    '/orders/:id/photos/:photo_id',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'getOrderPhoto',
        summary: 'A photo of an order the caller may see',
        description:
          'One photo of an order, for whoever may see the order (its client, its assigned provider, staff, and providers while it is open for bids).',
        params: OrderPhotoParams,
        response: {
          200: fileResponse(IMAGE_TYPES, 'The image, with the type detected at upload'),
          ...problems({ 404: ['order_not_found', 'photo_not_found'] }),
        },
      },
    },
    async (request, reply) => {
      const { file, stream } = await orders.openOrderPhoto(
        actorOf(request),
        request.params.id,
        request.params.photo_id,
      );
      return sendStoredFile(reply, { file, stream }, { cacheControl: 'private, max-age=300' });
    },
  );

  app.get(
    '/me/orders',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'listMyOrders',
        summary: 'My orders as a client, newest first',
        description: 'The caller’s orders as a client, drafts included, a page at a time; filter by status.',
        querystring: MyOrdersQuery,
        response: { 200: Ref(OrderSummaryPage) },
      },
    },
    async (request) => orders.listMyOrders(actorOf(request), request.query),
  );

  app.get(
    '/admin/orders',
    {
      config: { access: STAFF_ROLES },
      schema: {
        tags: ['admin', ...tags],
        operationId: 'adminListOrders',
        summary: 'All orders, newest first (staff)',
        description: 'Drafts are never listed: a draft is its client’s alone.',
        querystring: AdminOrdersQuery,
        response: { 200: Ref(OrderSummaryPage) },
      },
    },
    async (request) => orders.adminListOrders(request.query),
  );

  app.post(
    '/admin/orders/:id/restore',
    {
      config: { access: ORDER_MODERATORS },
      schema: {
        tags: ['admin', ...tags],
        operationId: 'adminRestoreOrder',
        summary: 'Restore a deleted order and exactly what its deletion took',
        description: 'Not an order one placed, bid on or works on (403 `own_case`).',
        params: IdParams,
        response: {
          200: Ref(OrderRestoreResponse),
          ...problems({
            403: ['own_case'],
            404: ['order_not_found'],
            409: ['not_deleted', 'parent_deleted'],
          }),
        },
      },
    },
    async (request) => orders.restoreOrder(actorOf(request), request.params.id),
  );
};
