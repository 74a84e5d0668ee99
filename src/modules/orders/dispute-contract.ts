import { type Static, Type } from 'typebox';
import { Nullable } from '../../platform/http.ts';
import { ID_SORTS, ListQuery, OneOrMore, Page, Sort } from '../../platform/pagination.ts';
import { Component, DateTime, Uuid } from '../../platform/schemas.ts';
import { Text } from '../../platform/validation.ts';
import { DISPUTE_STATUSES, DISPUTE_TYPES, ORDER_STATUSES } from './schema.ts';

const Resolution = Text({ maxLength: 5000, description: 'Shown to both parties' });

export const DISPUTE_OUTCOMES = ['completed', 'cancelled'] as const;
export const MAX_EVIDENCE_FILES = 10;

export const OpenDisputeBody = Component(
  'OpenDisputeBody',
  Type.Object(
    {
      dispute_type: Type.Enum(DISPUTE_TYPES),
      description: Text({ minLength: 10, maxLength: 5000 }),
      evidence_file_ids: Type.Optional(
        Type.Array(Uuid, {
          maxItems: MAX_EVIDENCE_FILES,
          uniqueItems: true,
          description: 'Ids of your uploads with `purpose=dispute_evidence`',
        }),
      ),
    },
    { additionalProperties: false },
  ),
);
export type OpenDisputeInput = Static<typeof OpenDisputeBody>;

/** A dispute as the two parties of the order see it: the staff's ruling shows only as its resolution text. */
export const DisputeResponse = Component(
  'Dispute',
  Type.Object({
    id: Uuid,
    order_id: Uuid,
    opened_by_user_id: Uuid,
    dispute_type: Type.Enum(DISPUTE_TYPES),
    description: Type.String(),
    evidence_file_ids: Type.Array(Uuid),
    status: Type.Enum(DISPUTE_STATUSES),
    resolution: Nullable(Type.String()),
    created_at: DateTime,
    resolved_at: Nullable(DateTime),
  }),
);
export type DisputeView = Static<typeof DisputeResponse>;
export const DisputePage = Page('DisputePage', DisputeResponse);

export const AdminDisputeResponse = Component(
  'AdminDispute',
  Type.Object({
    ...DisputeResponse.properties,
    order_status_before: Type.Enum(ORDER_STATUSES, {
      description: 'Where the order goes back to when the dispute is closed without a ruling',
    }),
    outcome: Nullable(Type.Enum(DISPUTE_OUTCOMES)),
    refund: Nullable(Type.Boolean()),
    handled_by: Nullable(Uuid),
    updated_at: DateTime,
  }),
);
export type AdminDisputeView = Static<typeof AdminDisputeResponse>;
export const AdminDisputePage = Page('AdminDisputePage', AdminDisputeResponse);

export const ResolveDisputeBody = Component(
  'ResolveDisputeBody',
  Type.Object(
    {
      resolution: Resolution,
      outcome: Type.Enum(DISPUTE_OUTCOMES, { description: 'The status the order ends in' }),
      refund: Type.Boolean({ description: 'Whether the client is to be refunded' }),
    },
    { additionalProperties: false },
  ),
);
export type ResolveDisputeInput = Static<typeof ResolveDisputeBody>;

export const CloseDisputeBody = Component(
  'CloseDisputeBody',
  Type.Object({ resolution: Resolution }, { additionalProperties: false }),
);
export type CloseDisputeInput = Static<typeof CloseDisputeBody>;

export const AdminDisputesQuery = ListQuery({
  status: OneOrMore(DISPUTE_STATUSES, 'Dispute statuses'),
  order_id: Type.Optional(Uuid),
  sort: Sort(ID_SORTS, {
    default: 'oldest',
    description: 'By opening time; oldest first by default, so the queue is worked in order',
  }),
});
export type AdminDisputesFilter = Static<typeof AdminDisputesQuery>;

export const OrderDisputeParams = Type.Object({
  id: Type.String({ format: 'uuid', description: 'The order' }),
  dispute_id: Type.String({ format: 'uuid', description: 'The dispute' }),
});
