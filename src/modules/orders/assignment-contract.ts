import { type Static, Type } from 'typebox';
import { Nullable } from '../../platform/http.ts';
import { ListQuery, OneOrMore, Page } from '../../platform/pagination.ts';
import { Component, DateOnly, DateTime, Ref, Uuid } from '../../platform/schemas.ts';
import { Text } from '../../platform/validation.ts';
import { ContactInfo, ProviderCardResponse } from '../users/profile-contract.ts';
import { BidResponse } from './bid-contract.ts';
import { ORDER_STATUSES } from './schema.ts';
import { OrderSummaryResponse } from './summary-contract.ts';

export const MAX_PROGRESS_NOTES = 200;
export const MAX_COMPLETION_PHOTOS = 10;

/** How to reach the other party of an agreed order; shown only to the two parties (and moderators). */
export const ContactCard = Component(
  'ContactCard',
  Type.Object({
    full_name: Type.String(),
    phone: Nullable(Type.String()),
    email: Nullable(Type.String()),
    contact_info: Nullable(Ref(ContactInfo)),
  }),
);

export const ProgressNote = Component('ProgressNote', Type.Object({ at: DateTime, text: Type.String() }));

export const ASSIGNMENT_ROLES = ['client', 'provider'] as const;

export const AssignmentResponse = Component(
  'Assignment',
  Type.Object({
    id: Uuid,
    order_id: Uuid,
    my_role: Type.Enum([...ASSIGNMENT_ROLES, 'staff'], { description: 'How the caller stands to the order' }),
    order: Ref(OrderSummaryResponse),
    bid: Ref(BidResponse),
    provider: Nullable(Ref(ProviderCardResponse)),
    start_date: Nullable(DateOnly),
    progress_notes: Type.Array(Ref(ProgressNote), { description: 'Oldest first' }),
    completion_notes: Nullable(Type.String()),
    completion_photo_file_ids: Type.Array(Uuid, {
      description: 'Download each with GET /orders/{id}/assignment/photos/{file_id}',
    }),
    client_contact: Type.Union([Ref(ContactCard), Type.Null()], {
      description:
        'For the provider (and moderators) while the work is agreed; null for the client, and null once the order is cancelled',
    }),
    provider_contact: Type.Union([Ref(ContactCard), Type.Null()], {
      description:
        'For the client (and moderators) while the work is agreed; null for the provider, and null once the order is cancelled',
    }),
    created_at: DateTime,
    updated_at: DateTime,
  }),
);
export type AssignmentView = Static<typeof AssignmentResponse>;

export const AddProgressNoteBody = Component(
  'AddProgressNoteBody',
  Type.Object({ text: Text({ maxLength: 2000 }) }, { additionalProperties: false }),
);
export type AddProgressNoteInput = Static<typeof AddProgressNoteBody>;

export const UpdateAssignmentBody = Component(
  'UpdateAssignmentBody',
  Type.Object(
    {
      completion_notes: Type.Optional(Nullable(Text({ maxLength: 5000 }))),
      completion_photo_file_ids: Type.Optional(
        Type.Array(Uuid, {
          maxItems: MAX_COMPLETION_PHOTOS,
          uniqueItems: true,
          description: 'Your uploads with purpose `order_photo`; replaces the list',
        }),
      ),
    },
    { additionalProperties: false, minProperties: 1 },
  ),
);
export type UpdateAssignmentInput = Static<typeof UpdateAssignmentBody>;

export const MyAssignmentResponse = Component(
  'MyAssignment',
  Type.Object({
    id: Uuid,
    my_role: Type.Enum(ASSIGNMENT_ROLES),
    order: Ref(OrderSummaryResponse),
    bid_id: Uuid,
    start_date: Nullable(DateOnly),
    progress_note_count: Type.Integer(),
    created_at: DateTime,
  }),
);
export type MyAssignmentView = Static<typeof MyAssignmentResponse>;
export const MyAssignmentPage = Page('MyAssignmentPage', MyAssignmentResponse);

export const MyAssignmentsQuery = ListQuery({
  role: Type.Optional(Type.Enum(ASSIGNMENT_ROLES, { description: 'Left out: both' })),
  status: OneOrMore(ORDER_STATUSES, 'The order’s statuses'),
});
export type MyAssignmentsFilter = Static<typeof MyAssignmentsQuery>;

export const AssignmentPhotoParams = Type.Object({
  id: Uuid,
  file_id: Uuid,
});
