import { and, eq, inArray, or } from 'drizzle-orm';
import type { Db } from '../../platform/db.ts';
import type { IdPage } from '../../platform/pagination.ts';
import type { MyAssignmentsFilter } from './assignment-contract.ts';
import { bids, orderAssignments, orders } from './schema.ts';

/* The statements of agreed work (assignment-service.ts). */

type PageParts = Pick<IdPage, 'where' | 'orderBy' | 'limit'>;

export async function bidById(db: Db, id: string) {
  const [bid] = await db.select().from(bids).where(eq(bids.id, id));
  return bid;
}

export async function updateAssignment(
  tx: Db,
  id: string,
  set: Partial<typeof orderAssignments.$inferInsert>,
) {
  const [after] = await tx.update(orderAssignments).set(set).where(eq(orderAssignments.id, id)).returning();
  return after;
}

/** A page of the user's assignments on live orders, as provider, as client or both, with their orders. */
export function assignmentsOf(db: Db, userId: string, filter: MyAssignmentsFilter, page: PageParts) {
  const mine =
    filter.role === 'provider'
      ? eq(orderAssignments.providerUserId, userId)
      : filter.role === 'client'
        ? eq(orderAssignments.clientUserId, userId)
        : or(eq(orderAssignments.providerUserId, userId), eq(orderAssignments.clientUserId, userId));
  return db
    .select({ assignment: orderAssignments, order: orders })
    .from(orderAssignments)
    .innerJoin(orders, eq(orders.id, orderAssignments.orderId))
    .where(
      and(
        mine,
        eq(orders.isDeleted, false),
        filter.status?.length ? inArray(orders.status, filter.status) : undefined,
        page.where,
      ),
    )
    .orderBy(page.orderBy)
    .limit(page.limit);
}
