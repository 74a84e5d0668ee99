import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../../platform/db.ts';
import { bids, type OrderStatus, orders } from './schema.ts';

/* The statements of the orders' side of a catalog delete or restore (catalog-withdrawals.ts). */

/** One change of a subcategory's orders at a time: an advisory lock per subcategory, taken in id order. */
export async function lockSubcategoryOrders(db: Db, ids: string[]) {
  const list = sql.join(
    [...ids].sort().map((id) => sql`(${id})`),
    sql`, `,
  );
  await db.execute(sql`select pg_advisory_xact_lock(hashtextextended('orders.catalog:' || s.id, 0))
    from (select id from (values ${list}) v (id) order by id) s`);
}

/** The providers whose bids on these orders the deletion `deletionId` holds, by order. */
export const biddersHeldBy = (db: Db, orderIds: string[], deletionId: string) =>
  db
    .selectDistinct({ orderId: bids.orderId, userId: bids.providerUserId })
    .from(bids)
    .where(and(inArray(bids.orderId, orderIds), eq(bids.deletionId, deletionId)));

/** The live orders in these subcategories and statuses, locked. */
export const lockOrdersIn = (db: Db, subcategoryIds: string[], statuses: OrderStatus[]) =>
  db
    .select({ id: orders.id, clientUserId: orders.clientUserId })
    .from(orders)
    .where(
      and(
        inArray(orders.subcategoryId, subcategoryIds),
        inArray(orders.status, statuses),
        eq(orders.isDeleted, false),
      ),
    )
    .for('update');

/** The orders the deletion `deletionId` holds deleted. */
export const ordersDeletedBy = (db: Db, deletionId: string) =>
  db
    .select()
    .from(orders)
    .where(and(eq(orders.deletionId, deletionId), eq(orders.isDeleted, true)));
