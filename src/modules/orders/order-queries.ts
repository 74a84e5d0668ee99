import { and, asc, eq, exists, inArray, isNull, lt, ne, or, type SQL, sql } from 'drizzle-orm';
import type { Db } from '../../platform/db.ts';
import type { IdPage } from '../../platform/pagination.ts';
import { type SealedContactCard, sealedContactCard } from '../users/queries.ts';
import { AGREED, type OrderRow } from './lifecycle.ts';
import type { AdminOrdersFilter, OrderView } from './order-contract.ts';
import {
  bids,
  type OrderStatus,
  orderAddons,
  orderAssignments,
  orderPhotos,
  orderStatusHistory,
  orders,
} from './schema.ts';

/*
 * The statements of the order itself, its add-ons and photos: what the order services read and write, by
 * what it is for, so the services read as rules.
 */

export const liveAddons = (tx: Db, orderId: string) =>
  tx
    .select()
    .from(orderAddons)
    .where(and(eq(orderAddons.orderId, orderId), eq(orderAddons.isDeleted, false)))
    .orderBy(asc(orderAddons.id));

export const livePhotos = (tx: Db, orderId: string) =>
  tx
    .select()
    .from(orderPhotos)
    .where(and(eq(orderPhotos.orderId, orderId), eq(orderPhotos.isDeleted, false)))
    .orderBy(asc(orderPhotos.sortOrder), asc(orderPhotos.id));

/**
 * The order's live add-ons and photos in the order view's shape, built by PostgreSQL within the read of
 * the order: one round trip for the whole view. Used in selects from `orders` (Drizzle writes a column
 * inside `sql` without its table, which a subquery would take for its own column).
 */
const addonsJson = sql<OrderView['addons']>`(
    select coalesce(json_agg(json_build_object('id', a.id, 'addon_id', a.addon_id, 'quantity', a.quantity,
             'unit_price', a.unit_price, 'price_type', a.price_type) order by a.id), '[]'::json)
    from ${orderAddons} a where a.order_id = orders.id and not a.is_deleted)`;
const photosJson = sql<OrderView['photos']>`(
    select coalesce(json_agg(json_build_object('id', p.id, 'file_id', p.file_id, 'caption', p.caption,
             'is_primary', p.is_primary, 'sort_order', p.sort_order) order by p.sort_order, p.id), '[]'::json)
    from ${orderPhotos} p where p.order_id = orders.id and not p.is_deleted)`;

/** The order's add-ons and photos in the order view's shape. */
export const orderParts = (tx: Db, orderId: string) =>
  tx.select({ addons: addonsJson, photos: photosJson }).from(orders).where(eq(orders.id, orderId));

/** Whether the parties of the order in the row may reach each other (see `orderView`), in SQL. */
const agreedSql = sql`(order_assignments.id is not null and orders.status in ${AGREED})`;

/**
 * The order detail, the most read route, in one prepared statement: Drizzle builds its SQL once and
 * PostgreSQL parses and plans it once per connection. The parties' contact cards come along, still
 * encrypted, when the order is agreed; the view opens only the one the caller may see.
 */
export const prepareOrderDetail = (db: Db) =>
  db
    .select({
      order: orders,
      assignment: orderAssignments,
      addons: addonsJson,
      photos: photosJson,
      clientContact: sql<SealedContactCard | null>`case when ${agreedSql} then ${sealedContactCard(sql`orders.client_user_id`)} end`,
      providerContact: sql<SealedContactCard | null>`case when ${agreedSql} then ${sealedContactCard(sql`order_assignments.provider_user_id`)} end`,
    })
    .from(orders)
    .leftJoin(orderAssignments, eq(orderAssignments.orderId, orders.id))
    .where(and(eq(orders.id, sql.placeholder('id')), eq(orders.isDeleted, false)))
    .prepare('order_detail');

/** The primary photo's file of each of the orders, live or deleted ones' as `deleted` says. */
export async function primaryPhotoFiles(db: Db, orderIds: string[], deleted: boolean) {
  if (orderIds.length === 0) return new Map<string, string>();
  const rows = await db
    .select({ orderId: orderPhotos.orderId, fileId: orderPhotos.fileId })
    .from(orderPhotos)
    .where(
      and(
        inArray(orderPhotos.orderId, orderIds),
        eq(orderPhotos.isPrimary, true),
        eq(orderPhotos.isDeleted, deleted),
      ),
    );
  return new Map(rows.map((r) => [r.orderId, r.fileId]));
}

/** The primary photos of the live orders of these rows (a page of bids or agreed work), by order id. */
export const primaryPhotosOfLive = (db: Db, rows: { order: { id: string } }[]) =>
  primaryPhotoFiles(
    db,
    rows.map((r) => r.order.id),
    false,
  );

/** The file of one live photo of the order. */
export async function photoFileId(db: Db, orderId: string, photoId: string) {
  const [photo] = await db
    .select({ fileId: orderPhotos.fileId })
    .from(orderPhotos)
    .where(
      and(eq(orderPhotos.id, photoId), eq(orderPhotos.orderId, orderId), eq(orderPhotos.isDeleted, false)),
    );
  return photo?.fileId;
}

/** One client's order count holds still until the end of the transaction (one lock per client). */
export async function lockClientOrders(tx: Db, clientUserId: string) {
  await tx.execute(
    sql`select pg_advisory_xact_lock(hashtextextended(${`kg-job-portal:client-orders:${clientUserId}`}, 0))`,
  );
}

/** How many live orders the client has in the statuses. */
export async function countClientOrders(tx: Db, clientUserId: string, statuses: readonly OrderStatus[]) {
  const [row] = await tx
    .select({ count: sql<number>`count(*)::int` })
    .from(orders)
    .where(
      and(
        eq(orders.clientUserId, clientUserId),
        inArray(orders.status, [...statuses]),
        eq(orders.isDeleted, false),
      ),
    );
  return row?.count ?? 0;
}

export async function insertOrder(tx: Db, values: typeof orders.$inferInsert) {
  const [order] = await tx.insert(orders).values(values).returning();
  return order!;
}

/** The first entry of a new order's history: made a draft. */
export async function recordOrderCreated(tx: Db, orderId: string, actorId: string) {
  await tx.insert(orderStatusHistory).values({ orderId, fromStatus: null, toStatus: 'draft', actorId });
}

export async function updateOrderRow(tx: Db, orderId: string, set: Partial<typeof orders.$inferInsert>) {
  const [after] = await tx.update(orders).set(set).where(eq(orders.id, orderId)).returning();
  return after!;
}

/** The order in progress, its work marked done now, unless it already was. */
export async function markWorkDone(tx: Db, orderId: string) {
  const [after] = await tx
    .update(orders)
    .set({ workDoneAt: new Date() })
    .where(and(eq(orders.id, orderId), eq(orders.status, 'in_progress'), isNull(orders.workDoneAt)))
    .returning();
  return after;
}

export async function updateAssignmentRow(
  tx: Db,
  assignmentId: string,
  set: Partial<typeof orderAssignments.$inferInsert>,
) {
  const [after] = await tx
    .update(orderAssignments)
    .set(set)
    .where(eq(orderAssignments.id, assignmentId))
    .returning();
  return after!;
}

/** A batch of the live orders in progress whose work was marked done before `cutoff`, oldest first. */
export const workDoneBefore = (db: Db, cutoff: Date, limit: number) =>
  db
    .select({ id: orders.id })
    .from(orders)
    .where(and(eq(orders.status, 'in_progress'), lt(orders.workDoneAt, cutoff), eq(orders.isDeleted, false)))
    .orderBy(asc(orders.workDoneAt))
    .limit(limit);

/** The live order, locked for the rest of the transaction; undefined when there is none. */
export async function lockLiveOrder(tx: Db, orderId: string): Promise<OrderRow | undefined> {
  const [order] = await tx
    .select()
    .from(orders)
    .where(and(eq(orders.id, orderId), eq(orders.isDeleted, false)))
    .for('update');
  return order;
}

export async function hasAcceptedBid(tx: Db, orderId: string) {
  const [accepted] = await tx
    .select({ id: bids.id })
    .from(bids)
    .where(and(eq(bids.orderId, orderId), eq(bids.status, 'accepted'), eq(bids.isDeleted, false)))
    .limit(1);
  return accepted !== undefined;
}

/** One page of the order's history. */
export const historyEntries = (db: Db, orderId: string, page: IdPage) =>
  db
    .select()
    .from(orderStatusHistory)
    .where(and(eq(orderStatusHistory.orderId, orderId), page.where))
    .orderBy(page.orderBy)
    .limit(page.limit);

const ordersPage = (db: Db, conditions: (SQL | undefined)[], page: IdPage) =>
  db
    .select()
    .from(orders)
    .where(and(...conditions, page.where))
    .orderBy(page.orderBy)
    .limit(page.limit);

/** One page of the client's live orders, of the statuses when any are given. */
export const clientOrders = (
  db: Db,
  clientUserId: string,
  statuses: OrderStatus[] | undefined,
  page: IdPage,
) =>
  ordersPage(
    db,
    [
      eq(orders.clientUserId, clientUserId),
      eq(orders.isDeleted, false),
      statuses?.length ? inArray(orders.status, statuses) : undefined,
    ],
    page,
  );

/** One page of every order but drafts, live or deleted, for staff. */
export const staffOrders = (db: Db, filter: AdminOrdersFilter, page: IdPage) =>
  ordersPage(
    db,
    [
      eq(orders.isDeleted, filter.deleted),
      // A draft is its client's alone (access.ts canSee).
      ne(orders.status, 'draft'),
      filter.client_id ? eq(orders.clientUserId, filter.client_id) : undefined,
      filter.status?.length ? inArray(orders.status, filter.status) : undefined,
    ],
    page,
  );

export async function setAddonQuantity(tx: Db, addonRowId: string, quantity: number) {
  const [after] = await tx
    .update(orderAddons)
    .set({ quantity })
    .where(eq(orderAddons.id, addonRowId))
    .returning();
  return after!;
}

export async function insertAddon(tx: Db, values: typeof orderAddons.$inferInsert) {
  const [created] = await tx.insert(orderAddons).values(values).returning();
  return created!;
}

export async function placePhoto(tx: Db, photoId: string, place: { sortOrder: number; isPrimary: boolean }) {
  const [after] = await tx.update(orderPhotos).set(place).where(eq(orderPhotos.id, photoId)).returning();
  return after!;
}

export async function insertPhoto(tx: Db, values: typeof orderPhotos.$inferInsert) {
  const [created] = await tx.insert(orderPhotos).values(values).returning();
  return created!;
}

const pendingBidsBy = (userId: string) =>
  and(eq(bids.providerUserId, userId), eq(bids.status, 'pending'), eq(bids.isDeleted, false));

/**
 * The person's live orders in `open` statuses and the live orders they have a pending bid on, locked in one
 * statement in id order.
 */
export const lockOrdersOfPerson = (db: Db, userId: string, open: readonly OrderStatus[]) =>
  db
    .select()
    .from(orders)
    .where(
      and(
        or(
          and(eq(orders.clientUserId, userId), inArray(orders.status, [...open])),
          sql`${orders.id} in (select ${bids.orderId} from ${bids} where ${pendingBidsBy(userId)})`,
        ),
        eq(orders.isDeleted, false),
      ),
    )
    .orderBy(asc(orders.id))
    .for('update');

/** The person's live pending bids. */
export const pendingBidsOf = (db: Db, userId: string) => db.select().from(bids).where(pendingBidsBy(userId));

/** One live order in `statuses` the person is a party to, as its client or its assigned provider. */
export async function unfinishedWorkOf(db: Db, userId: string, statuses: readonly OrderStatus[]) {
  const [work] = await db
    .select({ id: orders.id })
    .from(orders)
    .where(
      and(
        inArray(orders.status, [...statuses]),
        eq(orders.isDeleted, false),
        or(
          eq(orders.clientUserId, userId),
          exists(
            db
              .select({ id: orderAssignments.id })
              .from(orderAssignments)
              .where(
                and(eq(orderAssignments.orderId, orders.id), eq(orderAssignments.providerUserId, userId)),
              ),
          ),
        ),
      ),
    )
    .limit(1);
  return work;
}
