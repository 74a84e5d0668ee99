import { and, asc, eq, gt, inArray, ne, or, type SQL, sql } from 'drizzle-orm';
import { Type } from 'typebox';
import type { Actor } from '../../platform/actor.ts';
import type { Db } from '../../platform/db.ts';
import { NotFoundError } from '../../platform/errors.ts';
import { type IdPage, idPages, listCursor, type PageResult } from '../../platform/pagination.ts';
import type { OrderBidsFilter } from './bid-contract.ts';
import type { BidRow } from './bid-views.ts';
import { type BidStatus, bids, orderAssignments, orders } from './schema.ts';

/*
 * The statements of bids but the bid itself (bid-statement.ts): what the bid service reads and writes, by
 * what it is for, so the service reads as rules.
 */

const orderBidPages = idPages('orders.order_bids', bids.id);
const amountCursor = listCursor(
  'orders.order_bids:amount',
  Type.Tuple([Type.Integer(), Type.String({ format: 'uuid' })]),
);

/** The caller's own bid; anyone else's is "not found". */
export async function loadOwnBid(tx: Db, actor: Actor, bidId: string) {
  const [bid] = await tx
    .select()
    .from(bids)
    .where(and(eq(bids.id, bidId), eq(bids.providerUserId, actor.userId ?? ''), eq(bids.isDeleted, false)));
  if (!bid) throw new NotFoundError('bid');
  return bid;
}

export async function loadBid(tx: Db, bidId: string) {
  const [bid] = await tx
    .select()
    .from(bids)
    .where(and(eq(bids.id, bidId), eq(bids.isDeleted, false)));
  if (!bid) throw new NotFoundError('bid');
  return bid;
}

/** The bid changed as `set` says if it is still pending; undefined when it is not. */
export async function updatePendingBid(tx: Db, bidId: string, set: Partial<typeof bids.$inferInsert>) {
  const [after] = await tx
    .update(bids)
    .set(set)
    .where(and(eq(bids.id, bidId), eq(bids.status, 'pending'), eq(bids.isDeleted, false)))
    .returning();
  return after;
}

export async function bidStatus(tx: Db, bidId: string): Promise<BidStatus | undefined> {
  const [current] = await tx.select({ status: bids.status }).from(bids).where(eq(bids.id, bidId));
  return current?.status;
}

/** Every other pending bid on the order, rejected because `acceptedId` was accepted. */
export const rejectOtherPendingBids = (tx: Db, orderId: string, acceptedId: string, now: Date) =>
  tx
    .update(bids)
    .set({ status: 'rejected', decidedAt: now, rejectReason: 'another bid was accepted' })
    .where(
      and(
        eq(bids.orderId, orderId),
        eq(bids.status, 'pending'),
        ne(bids.id, acceptedId),
        eq(bids.isDeleted, false),
      ),
    )
    .returning();

export async function insertAssignment(tx: Db, values: typeof orderAssignments.$inferInsert) {
  const [assignment] = await tx.insert(orderAssignments).values(values).returning();
  return assignment!;
}

/** Whether the provider has a live bid on the order. */
export async function hasBidOn(db: Db, orderId: string, providerUserId: string) {
  const [any] = await db
    .select({ id: bids.id })
    .from(bids)
    .where(and(eq(bids.orderId, orderId), eq(bids.isDeleted, false), eq(bids.providerUserId, providerUserId)))
    .limit(1);
  return any !== undefined;
}

/** One page of the live bids on the order, only the provider's when one is given, newest or cheapest first. */
export async function orderBids(
  db: Db,
  orderId: string,
  providerUserId: string | undefined,
  filter: OrderBidsFilter,
): Promise<PageResult<BidRow>> {
  const conditions: (SQL | undefined)[] = [
    eq(bids.orderId, orderId),
    eq(bids.isDeleted, false),
    providerUserId === undefined ? undefined : eq(bids.providerUserId, providerUserId),
  ];
  if (filter.status?.length) conditions.push(inArray(bids.status, filter.status));

  if (filter.sort === 'amount') {
    const after = amountCursor.decode(filter.cursor);
    if (after) {
      const [amount, id] = after;
      conditions.push(or(gt(bids.amount, amount), and(eq(bids.amount, amount), gt(bids.id, id))));
    }
    const rows = await db
      .select()
      .from(bids)
      .where(and(...conditions))
      .orderBy(asc(bids.amount), asc(bids.id))
      .limit(filter.limit + 1);
    return amountCursor.page(
      rows,
      filter.limit,
      (b) => [b.amount, b.id],
      (b) => b,
    );
  }
  const newest = orderBidPages(filter);
  const rows = await db
    .select()
    .from(bids)
    .where(and(...conditions, newest.where))
    .orderBy(newest.orderBy)
    .limit(newest.limit);
  return newest.page(
    rows,
    (b) => b.id,
    (b) => b,
  );
}

/** One page of the provider's live bids on live orders, of the statuses when any are given, with their orders. */
export const providerBids = (
  db: Db,
  providerUserId: string,
  statuses: BidStatus[] | undefined,
  page: IdPage,
) =>
  db
    .select({ bid: bids, order: orders })
    .from(bids)
    .innerJoin(orders, eq(orders.id, bids.orderId))
    .where(
      and(
        eq(bids.providerUserId, providerUserId),
        eq(bids.isDeleted, false),
        eq(orders.isDeleted, false),
        statuses?.length ? inArray(bids.status, statuses) : undefined,
        page.where,
      ),
    )
    .orderBy(page.orderBy)
    .limit(page.limit);

/** Rejects the order's pending bids, its cancellation their answer; the bids rejected. */
export const rejectPendingBids = (tx: Db, orderId: string, now: Date) =>
  tx
    .update(bids)
    .set({ status: 'rejected', decidedAt: now, rejectReason: 'order_cancelled' })
    .where(and(eq(bids.orderId, orderId), eq(bids.status, 'pending'), eq(bids.isDeleted, false)))
    .returning();

/** Withdraws those of these bids that are still pending (checked in the UPDATE); the bids withdrawn. */
export const withdrawPendingBids = (tx: Db, ids: string[]) =>
  tx
    .update(bids)
    .set({ status: 'withdrawn' })
    .where(and(inArray(bids.id, ids), eq(bids.status, 'pending'), eq(bids.isDeleted, false)))
    .returning();

/** Takes withdrawn bids off their orders' bid_count: the bids the order has had, less the withdrawn ones. */
export const uncountBids = (tx: Db, orderIds: string[], withdrawnIds: string[]) =>
  tx
    .update(orders)
    .set({
      bidCount: sql`greatest(${orders.bidCount} - (select count(*)::int from ${bids}
        where ${bids.orderId} = ${orders.id} and ${inArray(bids.id, withdrawnIds)}), 0)`,
    })
    .where(inArray(orders.id, orderIds))
    .returning({ id: orders.id, clientUserId: orders.clientUserId });
