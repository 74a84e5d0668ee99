import { actorOf } from '../../platform/auth.ts';
import { problems } from '../../platform/documentation.ts';
import { type App, IdParams } from '../../platform/http.ts';
import { Ref } from '../../platform/schemas.ts';
import { wrongStateCodes } from './lifecycle.ts';
import { CancelOrderBody, CompleteOrderBody, NoteBody, OrderResponse } from './order-contract.ts';
import type { OrderService } from './order-service.ts';

const tags = ['orders'];
/** An order's moves through its lifecycle (DOMAIN.md): registered by `orderRoutes`, in its place in the document. */
export function orderLifecycleRoutes(app: App, orders: OrderService) {
  app.post(
    '/orders/:id/publish',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'publishOrder',
        summary: 'Publish my draft: providers can see it and bid',
        description:
          'The body may be left out. Beyond the `max_open_orders_per_client` setting of orders open for bids ' +
          'at once: 409 `open_order_limit_reached`.',
        params: IdParams,
        body: Ref(NoteBody),
        response: {
          200: Ref(OrderResponse),
          ...problems({
            403: ['not_your_order'],
            404: ['order_not_found'],
            409: ['open_order_limit_reached', ...wrongStateCodes('publish')],
          }),
        },
      },
    },
    async (request) => orders.publishOrder(actorOf(request), request.params.id, request.body),
  );

  app.post(
    '/orders/:id/cancel',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'cancelOrder',
        summary: 'Cancel an order',
        description:
          'The client while it is a draft, published, bidding or assigned; the assigned provider while it is ' +
          'assigned. Pending bids are rejected.',
        params: IdParams,
        body: Ref(CancelOrderBody),
        response: {
          200: Ref(OrderResponse),
          ...problems({
            403: ['not_your_order'],
            404: ['order_not_found'],
            409: wrongStateCodes('cancelByClient', 'cancelByProvider'),
          }),
        },
      },
    },
    async (request) => orders.cancelOrder(actorOf(request), request.params.id, request.body),
  );

  app.post(
    '/orders/:id/start',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'startOrder',
        summary: 'The assigned provider starts the work',
        description: 'The body may be left out.',
        params: IdParams,
        body: Ref(NoteBody),
        response: {
          200: Ref(OrderResponse),
          ...problems({
            403: ['not_assigned_provider'],
            404: ['order_not_found'],
            409: wrongStateCodes('start'),
          }),
        },
      },
    },
    async (request) => orders.startOrder(actorOf(request), request.params.id, request.body),
  );

  app.post(
    '/orders/:id/complete',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'completeOrder',
        summary: 'The assigned provider marks the work done; the client then confirms',
        description:
          'The order stays in progress with `work_done_at` set until the client confirms, or until it is ' +
          'confirmed automatically after the `order_auto_confirm_days` setting. The body may be left out.',
        params: IdParams,
        body: Ref(CompleteOrderBody),
        response: {
          200: Ref(OrderResponse),
          ...problems({
            403: ['not_assigned_provider'],
            404: ['order_not_found'],
            409: ['work_already_done', ...wrongStateCodes('complete')],
            422: ['invalid_file'],
          }),
        },
      },
    },
    async (request) => orders.completeOrder(actorOf(request), request.params.id, request.body),
  );

  app.post(
    '/orders/:id/confirm',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'confirmOrder',
        summary: 'The client confirms the work is done: the order is completed',
        description: 'The body may be left out.',
        params: IdParams,
        body: Ref(NoteBody),
        response: {
          200: Ref(OrderResponse),
          ...problems({
            403: ['not_your_order'],
            404: ['order_not_found'],
            409: ['work_not_done', ...wrongStateCodes('confirm')],
          }),
        },
      },
    },
    async (request) => orders.confirmOrder(actorOf(request), request.params.id, request.body),
  );
}
