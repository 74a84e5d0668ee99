import { and, eq, inArray } from 'drizzle-orm';
import type { Db } from '../../platform/db.ts';
import type { IdPage } from '../../platform/pagination.ts';
import type { AdminDisputesFilter } from './dispute-contract.ts';
import { type DISPUTE_STATUSES, orderDisputes } from './schema.ts';

/* The statements of disputes (dispute-service.ts). */

type PageParts = Pick<IdPage, 'where' | 'orderBy' | 'limit'>;
type DisputeStatus = (typeof DISPUTE_STATUSES)[number];

export async function lockDispute(tx: Db, id: string) {
  const [dispute] = await tx.select().from(orderDisputes).where(eq(orderDisputes.id, id)).for('update');
  return dispute;
}

export async function disputeById(db: Db, id: string) {
  const [row] = await db.select().from(orderDisputes).where(eq(orderDisputes.id, id));
  return row;
}

/** Updates the dispute if it is still in one of `from` (checked in the UPDATE): of two at once, one lands. */
export async function updateDisputeIn(
  tx: Db,
  id: string,
  from: readonly DisputeStatus[],
  set: Partial<typeof orderDisputes.$inferInsert>,
) {
  const [after] = await tx
    .update(orderDisputes)
    .set(set)
    .where(and(eq(orderDisputes.id, id), inArray(orderDisputes.status, [...from])))
    .returning();
  return after;
}

export async function insertDispute(tx: Db, values: typeof orderDisputes.$inferInsert) {
  const [created] = await tx.insert(orderDisputes).values(values).returning();
  return created!;
}

export const disputesOfOrder = (db: Db, orderId: string, page: PageParts) =>
  db
    .select()
    .from(orderDisputes)
    .where(and(eq(orderDisputes.orderId, orderId), page.where))
    .orderBy(page.orderBy)
    .limit(page.limit);

export async function disputeOfOrder(db: Db, orderId: string, id: string) {
  const [row] = await db
    .select()
    .from(orderDisputes)
    .where(and(eq(orderDisputes.orderId, orderId), eq(orderDisputes.id, id)));
  return row;
}

/** A page of disputes by status and order, for staff. */
export const findDisputes = (db: Db, filter: AdminDisputesFilter, page: PageParts) =>
  db
    .select()
    .from(orderDisputes)
    .where(
      and(
        filter.status?.length ? inArray(orderDisputes.status, filter.status) : undefined,
        filter.order_id ? eq(orderDisputes.orderId, filter.order_id) : undefined,
        page.where,
      ),
    )
    .orderBy(page.orderBy)
    .limit(page.limit);
