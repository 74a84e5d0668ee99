import { actorOf } from '../../platform/auth.ts';
import { problems } from '../../platform/documentation.ts';
import { IdParams, type RoutesPlugin } from '../../platform/http.ts';
import { ListQuery } from '../../platform/pagination.ts';
import { Ref } from '../../platform/schemas.ts';
import {
  AdminDisputePage,
  AdminDisputeResponse,
  AdminDisputesQuery,
  CloseDisputeBody,
  DisputePage,
  DisputeResponse,
  OpenDisputeBody,
  OrderDisputeParams,
  ResolveDisputeBody,
} from './dispute-contract.ts';
import { DISPUTE_READERS, type DisputeService } from './dispute-service.ts';
import { wrongStateCodes } from './lifecycle.ts';

const staff = { access: ['admin', 'moderator'] as const };

export const disputeRoutes: RoutesPlugin<{ disputes: DisputeService }> = async (app, { disputes }) => {
  const tags = ['disputes'];
  const adminTags = ['admin', 'disputes'];

  app.post(
    '/orders/:id/disputes',
    {
      config: { access: 'user', location: '/orders/{order_id}/disputes/{id}' },
      schema: {
        tags,
        operationId: 'openOrderDispute',
        summary: 'Dispute an assigned, started or completed order (its client or assigned provider)',
        description:
          'A completed order can be disputed within the `dispute_window_days` setting of its completion ' +
          '(409 `dispute_window_closed`); other states are 409 `order_is_<status>`, a dispute already being ' +
          'handled 409 `dispute_already_open`. The order moves to `disputed`. Evidence is files uploaded ' +
          'with `POST /files?purpose=dispute_evidence`. Anyone else gets 404; staff get 403.',
        params: IdParams,
        body: Ref(OpenDisputeBody),
        response: {
          201: Ref(DisputeResponse),
          ...problems({
            403: ['not_a_party'],
            404: ['order_not_found'],
            409: ['dispute_already_open', 'dispute_window_closed', ...wrongStateCodes('dispute')],
            422: ['invalid_file'],
          }),
        },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await disputes.openDispute(actorOf(request), request.params.id, request.body)),
  );

  app.get(
    '/orders/:id/disputes',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'listOrderDisputes',
        summary:
          'The disputes of an order and how they ended, newest first (its two parties and dispute staff)',
        description: `Other staff than ${DISPUTE_READERS.join(', ')} get 403 \`not_dispute_staff\`.`,
        params: IdParams,
        querystring: ListQuery({}),
        response: {
          200: Ref(DisputePage),
          ...problems({ 403: ['not_dispute_staff'], 404: ['order_not_found'] }),
        },
      },
    },
    async (request) => disputes.listOrderDisputes(actorOf(request), request.params.id, request.query),
  );

  app.get(
    '/orders/:id/disputes/:dispute_id',
    {
      config: { access: 'user' },
      schema: {
        tags,
        operationId: 'getOrderDispute',
        summary: 'One dispute of an order (its two parties and dispute staff)',
        description: `The \`Location\` of an opened dispute. Other staff than ${DISPUTE_READERS.join(', ')} get 403 \`not_dispute_staff\`.`,
        params: OrderDisputeParams,
        response: {
          200: Ref(DisputeResponse),
          ...problems({ 404: ['dispute_not_found', 'order_not_found'] }),
        },
      },
    },
    async (request) =>
      disputes.getOrderDispute(actorOf(request), request.params.id, request.params.dispute_id),
  );

  app.get(
    '/admin/disputes',
    {
      config: staff,
      schema: {
        tags: adminTags,
        operationId: 'adminListDisputes',
        summary: 'Disputes to handle',
        description:
          'Use `status=open&status=under_review` for the queue. Oldest first by default (`sort=oldest`).',
        querystring: AdminDisputesQuery,
        response: { 200: Ref(AdminDisputePage) },
      },
    },
    async (request) => disputes.adminList(request.query),
  );

  app.get(
    '/admin/disputes/:id',
    {
      config: staff,
      schema: {
        tags: adminTags,
        operationId: 'adminGetDispute',
        summary: 'One dispute',
        description:
          'A dispute with what only staff see: the order’s status before it, the ruling and its handler.',
        params: IdParams,
        response: { 200: Ref(AdminDisputeResponse), ...problems({ 404: ['dispute_not_found'] }) },
      },
    },
    async (request) => disputes.adminGet(request.params.id),
  );

  app.post(
    '/admin/disputes/:id/review',
    {
      config: staff,
      schema: {
        tags: adminTags,
        operationId: 'adminReviewDispute',
        summary: 'Take an open dispute into review; the caller becomes its handler',
        description:
          'Only `open` disputes (409 `dispute_is_<status>`). Staff cannot handle a dispute over an order they are the client or the assigned provider of (403 `own_case`).',
        params: IdParams,
        response: {
          200: Ref(AdminDisputeResponse),
          ...problems({
            403: ['own_case'],
            404: ['dispute_not_found'],
            409: ['dispute_is_closed', 'dispute_is_resolved', 'dispute_is_under_review'],
          }),
        },
      },
    },
    async (request) => disputes.startReview(actorOf(request), request.params.id),
  );

  app.post(
    '/admin/disputes/:id/resolve',
    {
      config: staff,
      schema: {
        tags: adminTags,
        operationId: 'adminResolveDispute',
        summary: 'Rule on a dispute: the order ends completed or cancelled',
        description:
          'From `open` or `under_review` (409 `dispute_is_<status>`; of two decisions at once one lands). ' +
          'Both parties are told; they see the resolution text. Not on an order one is the client or the assigned provider of (403 `own_case`).',
        params: IdParams,
        body: Ref(ResolveDisputeBody),
        response: {
          200: Ref(AdminDisputeResponse),
          ...problems({
            403: ['own_case'],
            404: ['dispute_not_found'],
            409: ['dispute_is_closed', 'dispute_is_resolved', ...wrongStateCodes('endDispute')],
          }),
        },
      },
    },
    async (request) => disputes.resolve(actorOf(request), request.params.id, request.body),
  );

  app.post(
    '/admin/disputes/:id/close',
    {
      config: staff,
      schema: {
        tags: adminTags,
        operationId: 'adminCloseDispute',
        summary: 'Close a dispute without a ruling: the order goes back to the status it had',
        description:
          'Work the provider had marked done gets a fresh confirmation window from now: the automatic confirmation counts its days again. Not on an order one is the client or the assigned provider of (403 `own_case`).',
        params: IdParams,
        body: Ref(CloseDisputeBody),
        response: {
          200: Ref(AdminDisputeResponse),
          ...problems({
            403: ['own_case'],
            404: ['dispute_not_found'],
            409: ['dispute_is_closed', 'dispute_is_resolved'],
          }),
        },
      },
    },
    async (request) => disputes.close(actorOf(request), request.params.id, request.body),
  );
};
