import { type SQL, sql } from 'drizzle-orm';
import {
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { baseColumns, softDeleteColumns, softDeleteIndexes } from '../../platform/columns.ts';
import { encryptedColumn } from '../../platform/encrypted-columns.ts';
import { cascade } from '../../platform/soft-delete.ts';

export const ORDER_STATUSES = [
  'draft',
  'published',
  'bidding',
  'assigned',
  'in_progress',
  'completed',
  'cancelled',
  'disputed',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];
export const URGENCIES = ['low', 'medium', 'high', 'urgent'] as const;
export const BID_STATUSES = ['pending', 'accepted', 'rejected', 'withdrawn'] as const;
export type BidStatus = (typeof BID_STATUSES)[number];
export const DISPUTE_TYPES = [
  'quality_issue',
  'payment_dispute',
  'schedule_conflict',
  'communication_issue',
  'other',
] as const;
export const DISPUTE_STATUSES = ['open', 'under_review', 'resolved', 'closed'] as const;
/** Who rates whom after an order: each direction at most once per order. */
export const REVIEW_DIRECTIONS = ['client_to_provider', 'provider_to_client'] as const;
/**
 * Why a review no longer shows and no longer counts although staff did not remove it: a dispute ruling
 * cancelled its order (DECISIONS.md, "People and their data"). Staff still see it, with the reason.
 */
export const REVIEW_HIDDEN_REASONS = ['order_cancelled_by_ruling'] as const;

const live = sql`not is_deleted`;

/**
 * The orders' vocabulary in `search_words`: the words of the open orders' titles and descriptions (what
 * search shows), read by search to widen typed words to close ones. The order service adds an order's words
 * when it is published or its published text edited, never a draft's, and drops them when its client takes
 * it down (cancel, delete, an edit); the hourly prune drops those of orders that left otherwise (accepted,
 * deleted with their category).
 */
export const ORDER_SEARCH_SCOPE = 'orders';

/** An order's searchable text, as `orders_search_fts` indexes it. */
export const orderSearchText = (order: { title: string; description: string }) =>
  `${order.title} ${order.description}`;

/**
 * A client's request for a service. The exact address and coordinates are personal data: stored
 * encrypted, shown to the client and, once assigned, to the provider; everyone else sees the area.
 */
export const orders = pgTable(
  'orders',
  {
    ...baseColumns(),
    clientProfileId: uuid('client_profile_id').notNull(),
    /** The client's user id, kept beside the profile for authorization on every request. */
    clientUserId: uuid('client_user_id').notNull(),
    subcategoryId: uuid('subcategory_id').notNull(),
    /** Copied from the subcategory at creation, for category filters without a join to the catalog. */
    categoryId: uuid('category_id').notNull(),
    title: text('title').notNull(),
    description: text('description').notNull(),
    serviceAreaId: uuid('service_area_id').notNull(),
    addressEncrypted: text('address_encrypted'),
    locationEncrypted: text('location_encrypted'),
    serviceDate: text('service_date'),
    timeFrom: text('time_from'),
    timeTo: text('time_to'),
    urgency: text('urgency', { enum: URGENCIES }).notNull().default('medium'),
    budgetMin: integer('budget_min'),
    budgetMax: integer('budget_max'),
    currency: text('currency').notNull().default('KGS'),
    status: text('status', { enum: ORDER_STATUSES }).notNull().default('draft'),
    finalPrice: integer('final_price'),
    bidCount: integer('bid_count').notNull().default(0),
    publishedAt: timestamp('published_at', { withTimezone: true }),
    assignedAt: timestamp('assigned_at', { withTimezone: true }),
    startedAt: timestamp('started_at', { withTimezone: true }),
    /** The provider marked the work done; the client confirms (or the auto-confirm job does). */
    workDoneAt: timestamp('work_done_at', { withTimezone: true }),
    completedAt: timestamp('completed_at', { withTimezone: true }),
    cancelledAt: timestamp('cancelled_at', { withTimezone: true }),
    cancelReason: text('cancel_reason'),
    ...softDeleteColumns(),
  },
  (t) => [
    index('orders_status_created_idx').on(t.status, t.createdAt),
    index('orders_client_status_idx').on(t.clientUserId, t.status, t.id),
    index('orders_feed_idx').on(t.subcategoryId, t.status, t.id).where(live),
    index('orders_area_idx').on(t.serviceAreaId, t.status).where(live),
    // Open orders newest first, for the feed when the provider's subcategories and areas are rare.
    index('orders_open_idx').on(t.id).where(sql`status in ('published', 'bidding') and not is_deleted`),
    // Search shows open orders only: indexing just those keeps a search to the open part of the table (a
    // word common in closed orders made whole-table indexes read all of them) and spares the other orders'
    // updates a large index entry. Typos are found through the orders' vocabulary (ORDER_SEARCH_SCOPE), not
    // a trigram index of the texts, which every order entering the open set (publish, the first bid) would
    // pay for (bench/README.md, "Why the code is shaped as it is").
    index('orders_search_fts')
      .using('gin', sql`to_tsvector('simple', ${t.title} || ' ' || ${t.description})`)
      .where(sql`status in ('published', 'bidding') and not is_deleted`),
    check('orders_budget_ck', sql`budget_min is null or budget_max is null or budget_min <= budget_max`),
    ...softDeleteIndexes('orders', t),
  ],
);

/**
 * Open for bids and not deleted: the only orders the feed and search ever show. Written as literals, not
 * bound values, like the predicates of the partial indexes `orders_open_idx` and `orders_search_fts`: a
 * prepared statement's generic plan can use a partial index only when the query states its predicate.
 */
export const OPEN_ORDERS = sql`${orders.status} in ('published', 'bidding') and not ${orders.isDeleted}`;

/** The vector the index `orders_search_fts` is built on. */
export const ORDER_SEARCH_VECTOR = sql`to_tsvector('simple', ${orders.title} || ' ' || ${orders.description})`;

/** Whether some open order's text matches `word` (a one-word tsquery), through `orders_search_fts`. */
export const openOrderTextsHold = (word: SQL) =>
  sql`exists (select 1 from ${orders} where ${OPEN_ORDERS} and ${ORDER_SEARCH_VECTOR} @@ ${word})`;

/** Every word the open orders' texts hold: what the orders' vocabulary may keep. */
export const OPEN_ORDER_WORDS = sql`select w from ${orders}, unnest(tsvector_to_array(${ORDER_SEARCH_VECTOR})) w
  where ${OPEN_ORDERS}`;

export const orderAddons = pgTable(
  'order_addons',
  {
    ...baseColumns(),
    orderId: uuid('order_id')
      .notNull()
      .references(() => orders.id),
    addonId: uuid('addon_id').notNull(),
    quantity: integer('quantity').notNull().default(1),
    /** The add-on's price when the order was made; later catalog changes do not touch it. */
    unitPrice: integer('unit_price').notNull(),
    priceType: text('price_type').notNull(),
    ...softDeleteColumns(),
  },
  (t) => [
    index('order_addons_order_idx').on(t.orderId),
    uniqueIndex('order_addons_order_addon_live_uq').on(t.orderId, t.addonId).where(live),
    ...softDeleteIndexes('order_addons', t),
  ],
);

export const orderPhotos = pgTable(
  'order_photos',
  {
    ...baseColumns(),
    orderId: uuid('order_id')
      .notNull()
      .references(() => orders.id),
    fileId: uuid('file_id').notNull(),
    caption: text('caption'),
    isPrimary: boolean('is_primary').notNull().default(false),
    sortOrder: integer('sort_order').notNull().default(0),
    ...softDeleteColumns(),
  },
  (t) => [
    index('order_photos_order_idx').on(t.orderId),
    uniqueIndex('order_photos_primary_live_uq').on(t.orderId).where(sql`is_primary and not is_deleted`),
    ...softDeleteIndexes('order_photos', t),
  ],
);

export const bids = pgTable(
  'bids',
  {
    ...baseColumns(),
    orderId: uuid('order_id')
      .notNull()
      .references(() => orders.id),
    providerProfileId: uuid('provider_profile_id').notNull(),
    providerUserId: uuid('provider_user_id').notNull(),
    amount: integer('amount').notNull(),
    currency: text('currency').notNull().default('KGS'),
    message: text('message'),
    estimatedDurationHours: integer('estimated_duration_hours'),
    isNegotiable: boolean('is_negotiable').notNull().default(false),
    status: text('status', { enum: BID_STATUSES }).notNull().default('pending'),
    decidedAt: timestamp('decided_at', { withTimezone: true }),
    rejectReason: text('reject_reason'),
    ...softDeleteColumns(),
  },
  (t) => [
    index('bids_order_status_idx').on(t.orderId, t.status),
    index('bids_provider_idx').on(t.providerUserId, t.id),
    // One live bid per provider per order. A withdrawn one leaves room for a new one; a rejected one does
    // not (the bid statement checks, through bids_provider_barring_idx).
    uniqueIndex('bids_one_live_per_provider_uq')
      .on(t.orderId, t.providerProfileId)
      .where(sql`status in ('pending', 'accepted') and not is_deleted`),
    // The bids that keep a provider from bidding on the order again (DOMAIN.md: once per order, but one
    // withdrawn leaves room): live ones, and one the client turned down. The feed leaves those orders out.
    index('bids_provider_barring_idx')
      .on(t.providerProfileId, t.orderId)
      .where(sql`status in ('pending', 'accepted', 'rejected') and not is_deleted`),
    uniqueIndex('bids_one_accepted_per_order_uq')
      .on(t.orderId)
      .where(sql`status = 'accepted' and not is_deleted`),
    ...softDeleteIndexes('bids', t),
  ],
);

export const orderAssignments = pgTable(
  'order_assignments',
  {
    ...baseColumns(),
    orderId: uuid('order_id')
      .notNull()
      .references(() => orders.id),
    bidId: uuid('bid_id')
      .notNull()
      .references(() => bids.id),
    providerProfileId: uuid('provider_profile_id').notNull(),
    providerUserId: uuid('provider_user_id').notNull(),
    clientUserId: uuid('client_user_id').notNull(),
    startDate: text('start_date'),
    /** `[{ at, text }]`, written by the provider as the work goes. */
    progressNotes: jsonb('progress_notes').$type<{ at: string; text: string }[]>().notNull().default([]),
    completionNotes: text('completion_notes'),
    completionPhotoFileIds: uuid('completion_photo_file_ids').array().notNull().default(sql`'{}'::uuid[]`),
    /** The client's rating of the work, 1 to 5, mirrored from the review. */
    clientRating: integer('client_rating'),
  },
  (t) => [
    uniqueIndex('order_assignments_order_uq').on(t.orderId),
    uniqueIndex('order_assignments_bid_uq').on(t.bidId),
    index('order_assignments_provider_idx').on(t.providerUserId, t.id),
    index('order_assignments_provider_profile_idx').on(t.providerProfileId, t.id),
    index('order_assignments_client_idx').on(t.clientUserId, t.id),
  ],
);

/** Every status change of an order: when, from what, to what, by whom and why. */
export const orderStatusHistory = pgTable(
  'order_status_history',
  {
    ...baseColumns(),
    orderId: uuid('order_id')
      .notNull()
      .references(() => orders.id),
    fromStatus: text('from_status', { enum: ORDER_STATUSES }),
    toStatus: text('to_status', { enum: ORDER_STATUSES }).notNull(),
    actorId: uuid('actor_id'),
    reason: text('reason'),
  },
  (t) => [index('order_status_history_order_idx').on(t.orderId, t.id)],
);

export const orderReviews = pgTable(
  'order_reviews',
  {
    ...baseColumns(),
    orderId: uuid('order_id')
      .notNull()
      .references(() => orders.id),
    direction: text('direction', { enum: REVIEW_DIRECTIONS }).notNull(),
    authorUserId: uuid('author_user_id').notNull(),
    subjectUserId: uuid('subject_user_id').notNull(),
    rating: integer('rating').notNull(),
    comment: text('comment'),
    hiddenReason: text('hidden_reason', { enum: REVIEW_HIDDEN_REASONS }),
    ...softDeleteColumns(),
  },
  (t) => [
    uniqueIndex('order_reviews_once_uq').on(t.orderId, t.direction).where(live),
    index('order_reviews_subject_idx').on(t.subjectUserId, t.id),
    check('order_reviews_rating_ck', sql`rating between 1 and 5`),
    ...softDeleteIndexes('order_reviews', t),
  ],
);

export const orderDisputes = pgTable(
  'order_disputes',
  {
    ...baseColumns(),
    orderId: uuid('order_id')
      .notNull()
      .references(() => orders.id),
    openedByUserId: uuid('opened_by_user_id').notNull(),
    disputeType: text('dispute_type', { enum: DISPUTE_TYPES }).notNull(),
    description: text('description').notNull(),
    evidenceFileIds: uuid('evidence_file_ids').array().notNull().default(sql`'{}'::uuid[]`),
    status: text('status', { enum: DISPUTE_STATUSES }).notNull().default('open'),
    /** The order's status when the dispute opened, so closing it without a ruling can put it back. */
    orderStatusBefore: text('order_status_before', { enum: ORDER_STATUSES }).notNull(),
    resolution: text('resolution'),
    /** Where the ruling sends the order: `completed` or `cancelled`. */
    outcome: text('outcome', { enum: ['completed', 'cancelled'] }),
    refund: boolean('refund'),
    handledBy: uuid('handled_by'),
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
  },
  (t) => [
    index('order_disputes_order_idx').on(t.orderId),
    // Who opened it: how a download of their evidence finds the dispute it is attached to.
    index('order_disputes_opener_idx').on(t.openedByUserId),
    index('order_disputes_status_idx').on(t.status, t.id),
    uniqueIndex('order_disputes_one_open_uq').on(t.orderId).where(sql`status in ('open', 'under_review')`),
  ],
);

/** One row per order search, for search analytics. */
export const orderSearches = pgTable(
  'order_searches',
  {
    ...baseColumns(),
    userId: uuid('user_id'),
    query: text('query'),
    filters: jsonb('filters').$type<Record<string, unknown>>().notNull().default({}),
    resultCount: integer('result_count').notNull(),
  },
  (t) => [index('order_searches_created_idx').on(t.createdAt)],
);

/** What an order's delete takes with it, handed to the platform in app.ts. */
export const orderCascades = [
  cascade(orders, bids, bids.orderId),
  cascade(orders, orderAddons, orderAddons.orderId),
  cascade(orders, orderPhotos, orderPhotos.orderId),
];

/** The module's encrypted columns, handed to the platform in app.ts: key rotation re-encrypts each. */
export const orderEncryptedColumns = [
  encryptedColumn(orders, 'addressEncrypted'),
  encryptedColumn(orders, 'locationEncrypted'),
];
