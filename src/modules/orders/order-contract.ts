import { type Static, Type } from 'typebox';
import { Nullable } from '../../platform/http.ts';
import { ListQuery, OneOrMore, Page } from '../../platform/pagination.ts';
import {
  Component,
  DateTime,
  DeleteResult,
  Money,
  Ref,
  RestoreResult,
  Uuid,
} from '../../platform/schemas.ts';
import { Text } from '../../platform/validation.ts';
import { ADDON_PRICE_TYPES } from '../core/contract.ts';
import { ContactCard, UpdateAssignmentBody } from './assignment-contract.ts';
import { ORDER_STATUSES } from './schema.ts';
import {
  ClientUserId,
  OrderLine,
  type OrderLineView,
  OrderStatus,
  orderFacts,
  Urgency,
} from './summary-contract.ts';

export { type OrderLineView, OrderStatus, Urgency };

const ServiceDate = Type.String({
  format: 'date',
  pattern: '^\\d{4}-\\d{2}-\\d{2}$',
  description: 'YYYY-MM-DD; today or later in Asia/Bishkek',
});
const Clock = Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$', description: 'HH:MM, Asia/Bishkek' });

export const Location = Component(
  'Location',
  Type.Object(
    {
      lat: Type.Number({ minimum: -90, maximum: 90 }),
      lng: Type.Number({ minimum: -180, maximum: 180 }),
    },
    { additionalProperties: false, description: 'Stored encrypted; shown like the address' },
  ),
);
export type LocationValue = Static<typeof Location>;

const AddonInput = Component(
  'OrderAddonInput',
  Type.Object(
    {
      addon_id: Type.String({ format: 'uuid', description: 'An add-on of the order’s subcategory' }),
      quantity: Type.Integer({ minimum: 1, maximum: 100, default: 1 }),
    },
    { additionalProperties: false },
  ),
);

/** What the client may set: never status, prices agreed later, counters or whose order it is. */
const editable = {
  title: Text({ minLength: 3, maxLength: 200 }),
  description: Text({ minLength: 10, maxLength: 5000 }),
  service_area_id: Type.String({ format: 'uuid', description: 'An id from /service-areas' }),
  address: Text({
    minLength: 3,
    maxLength: 500,
    description: 'Stored encrypted; only the client, the assigned provider and staff see it',
  }),
  location: Nullable(Ref(Location)),
  service_date: Nullable(ServiceDate),
  time_from: Nullable(Clock),
  time_to: Nullable(Clock),
  urgency: Urgency,
  budget_min: Nullable(Money),
  budget_max: Nullable(Money),
  addons: Type.Array(Ref(AddonInput), {
    maxItems: 20,
    description: 'Each add-on at most once; the price is copied from the catalog when it is added',
  }),
  photo_file_ids: Type.Array(Uuid, {
    maxItems: 10,
    uniqueItems: true,
    description: 'Your uploads with purpose `order_photo`, in display order',
  }),
  primary_photo_id: Type.String({
    format: 'uuid',
    description: 'One of `photo_file_ids` (a file id); the first photo when left out',
  }),
};

export const CreateOrderBody = Component(
  'CreateOrderBody',
  Type.Object(
    {
      subcategory_id: Type.String({ format: 'uuid', description: 'An offered subcategory' }),
      title: editable.title,
      description: editable.description,
      service_area_id: editable.service_area_id,
      address: editable.address,
      location: Type.Optional(editable.location),
      service_date: Type.Optional(editable.service_date),
      time_from: Type.Optional(editable.time_from),
      time_to: Type.Optional(editable.time_to),
      urgency: Type.Optional(editable.urgency),
      budget_min: Type.Optional(editable.budget_min),
      budget_max: Type.Optional(editable.budget_max),
      addons: Type.Optional(editable.addons),
      photo_file_ids: Type.Optional(editable.photo_file_ids),
      primary_photo_id: Type.Optional(editable.primary_photo_id),
      publish: Type.Boolean({ default: false, description: 'Publish at once instead of saving a draft' }),
    },
    { additionalProperties: false },
  ),
);
export type CreateOrderInput = Static<typeof CreateOrderBody>;

export const UpdateOrderBody = Component(
  'UpdateOrderBody',
  Type.Partial(Type.Object(editable), {
    additionalProperties: false,
    minProperties: 1,
    description:
      'Fields left out stay as they are; null clears an optional one. `addons` and `photo_file_ids` replace the whole list. ' +
      'The subcategory cannot change: cancel the order and create another.',
  }),
);
export type UpdateOrderInput = Static<typeof UpdateOrderBody>;

const Note = Text({ maxLength: 1000, description: 'Kept in the order’s history' });

/** Actions whose only input is an optional note; the body itself may be left out. */
export const NoteBody = Component(
  'NoteBody',
  Nullable(Type.Object({ note: Type.Optional(Note) }, { additionalProperties: false })),
);
export type NoteInput = Static<typeof NoteBody>;

export const CancelOrderBody = Component(
  'CancelOrderBody',
  Type.Object(
    { reason: Text({ minLength: 3, maxLength: 1000, description: 'Why; shown to the other party' }) },
    { additionalProperties: false },
  ),
);
export type CancelOrderInput = Static<typeof CancelOrderBody>;

/** The completion report may come with the mark, in the same shape as `PATCH /orders/{id}/assignment`. */
export const CompleteOrderBody = Component(
  'CompleteOrderBody',
  Nullable(
    Type.Object(
      {
        completion_notes: UpdateAssignmentBody.properties.completion_notes,
        completion_photo_file_ids: UpdateAssignmentBody.properties.completion_photo_file_ids,
      },
      { additionalProperties: false },
    ),
  ),
);
export type CompleteOrderInput = Static<typeof CompleteOrderBody>;

export const VIEWER_ROLES = ['client', 'assigned_provider', 'staff', 'other'] as const;

export const OrderAddonResponse = Component(
  'OrderAddon',
  Type.Object({
    id: Uuid,
    addon_id: Uuid,
    quantity: Type.Integer(),
    unit_price: Type.Integer({
      description: 'Tyiyn (basis points of the price for `percentage`), as when added',
    }),
    price_type: Type.Enum(ADDON_PRICE_TYPES),
  }),
);

export const OrderPhotoResponse = Component(
  'OrderPhoto',
  Type.Object({
    id: Uuid,
    file_id: Uuid,
    caption: Nullable(Type.String()),
    is_primary: Type.Boolean(),
    sort_order: Type.Integer(),
  }),
);

/** The provider an order is assigned to, and what they reported at completion. */
const AssignedProvider = Component(
  'AssignedProvider',
  Type.Object({
    provider_profile_id: Uuid,
    provider_user_id: Uuid,
    bid_id: Uuid,
    completion_notes: Nullable(Type.String()),
    completion_photo_file_ids: Type.Array(Uuid),
  }),
);

/** What every view of an order shows its parties and staff, from the detail to a line in a list. */

export const OrderResponse = Component(
  'Order',
  Type.Object({
    ...orderFacts,
    client_user_id: ClientUserId,
    viewer_role: Type.Enum(VIEWER_ROLES, { description: 'How the caller stands to this order' }),
    description: Type.String(),
    address: Type.Optional(
      Nullable(Type.String({ description: 'Only for the client, the assigned provider and staff' })),
    ),
    location: Type.Optional(Nullable(Ref(Location))),
    time_from: Nullable(Type.String()),
    time_to: Nullable(Type.String()),
    addons: Type.Array(Ref(OrderAddonResponse)),
    photos: Type.Array(Ref(OrderPhotoResponse)),
    assigned_provider: Type.Optional(Nullable(Ref(AssignedProvider))),
    client_contact: Type.Optional(
      Type.Union([Ref(ContactCard), Type.Null()], {
        description:
          'Present for the assigned provider, admins and moderators; null unless the work is agreed (assigned to completed, or disputed)',
      }),
    ),
    provider_contact: Type.Optional(
      Type.Union([Ref(ContactCard), Type.Null()], {
        description: 'Present for the client, admins and moderators; null unless the work is agreed',
      }),
    ),
    assigned_at: Nullable(DateTime),
    started_at: Nullable(DateTime),
    work_done_at: Nullable(DateTime),
    completed_at: Nullable(DateTime),
    cancelled_at: Nullable(DateTime),
    cancel_reason: Nullable(Type.String()),
  }),
);
export type OrderView = Static<typeof OrderResponse>;

export const OrderSummaryPage = Page('OrderSummaryPage', OrderLine);

const StatusFilter = OneOrMore(ORDER_STATUSES, 'Order statuses');

export const MyOrdersQuery = ListQuery({ status: StatusFilter });
export type MyOrdersFilter = Static<typeof MyOrdersQuery>;

export const AdminOrdersQuery = ListQuery({
  status: StatusFilter,
  client_id: Type.Optional(Type.String({ format: 'uuid', description: 'The client’s user id' })),
  deleted: Type.Boolean({ default: false, description: 'List soft-deleted orders instead of live ones' }),
});
export type AdminOrdersFilter = Static<typeof AdminOrdersQuery>;

export const OrderHistoryQuery = ListQuery({});
export type OrderHistoryFilter = Static<typeof OrderHistoryQuery>;

export const OrderHistoryEntry = Component(
  'OrderHistoryEntry',
  Type.Object({
    id: Uuid,
    from_status: Nullable(OrderStatus),
    to_status: OrderStatus,
    actor_id: Nullable(Type.String({ format: 'uuid', description: 'Null when the system acted' })),
    reason: Nullable(Type.String()),
    created_at: DateTime,
  }),
);

export const OrderHistoryResponse = Page('OrderHistoryPage', OrderHistoryEntry);
export type OrderHistoryView = Static<typeof OrderHistoryResponse>;

export const OrderDeleteResponse = DeleteResult(
  'OrderDeletion',
  'Rows soft-deleted per table: the order, its bids, add-ons and photos',
);

export const OrderRestoreResponse = RestoreResult('OrderRestoration', 'Rows restored per table');

export const OrderPhotoParams = Type.Object({
  id: Type.String({ format: 'uuid', description: 'The order' }),
  photo_id: Type.String({ format: 'uuid', description: 'The photo (not the file) id' }),
});
