import { and, eq, isNull } from 'drizzle-orm';
import type { Db } from '../../platform/db.ts';
import type { IdPage } from '../../platform/pagination.ts';
import { orderAssignments, orderReviews, orders } from './schema.ts';

/* The statements of reviews (review-service.ts). */

type PageParts = Pick<IdPage, 'where' | 'orderBy' | 'limit'>;
type ReviewRow = typeof orderReviews.$inferSelect;

/** An order's reviews as a reader sees them: staff also those removed or hidden. */
export interface ReadableReviews {
  orderId: string;
  withRemoved: boolean;
}

const readable = ({ orderId, withRemoved }: ReadableReviews) =>
  and(
    eq(orderReviews.orderId, orderId),
    withRemoved ? undefined : eq(orderReviews.isDeleted, false),
    withRemoved ? undefined : isNull(orderReviews.hiddenReason),
  );

export async function lockReview(tx: Db, id: string) {
  const [review] = await tx.select().from(orderReviews).where(eq(orderReviews.id, id)).for('update');
  return review;
}

export async function reviewById(tx: Db, id: string) {
  const [review] = await tx.select().from(orderReviews).where(eq(orderReviews.id, id));
  return review;
}

export async function clientProfileOfOrder(tx: Db, orderId: string) {
  const [order] = await tx
    .select({ clientProfileId: orders.clientProfileId })
    .from(orders)
    .where(eq(orders.id, orderId));
  return order;
}

/** The order's review in this direction, removed or not. */
export async function reviewIn(tx: Db, orderId: string, direction: ReviewRow['direction']) {
  const [existing] = await tx
    .select({ id: orderReviews.id })
    .from(orderReviews)
    .where(and(eq(orderReviews.orderId, orderId), eq(orderReviews.direction, direction)))
    .limit(1);
  return existing;
}

export async function insertReview(tx: Db, values: typeof orderReviews.$inferInsert) {
  const [created] = await tx.insert(orderReviews).values(values).returning();
  return created!;
}

export const reviewsOfOrder = (db: Db, reviews: ReadableReviews, page: PageParts) =>
  db
    .select()
    .from(orderReviews)
    .where(and(readable(reviews), page.where))
    .orderBy(page.orderBy)
    .limit(page.limit);

export async function reviewOfOrder(db: Db, reviews: ReadableReviews, id: string) {
  const [row] = await db
    .select()
    .from(orderReviews)
    .where(and(readable(reviews), eq(orderReviews.id, id)));
  return row;
}

/** A page of the live, shown reviews clients wrote of the provider, with each order's subcategory. */
export const publishedReviewsOf = (db: Db, providerProfileId: string, page: PageParts) =>
  db
    .select({ review: orderReviews, subcategoryId: orders.subcategoryId })
    .from(orderReviews)
    .innerJoin(orderAssignments, eq(orderAssignments.orderId, orderReviews.orderId))
    .innerJoin(orders, eq(orders.id, orderReviews.orderId))
    .where(
      and(
        eq(orderAssignments.providerProfileId, providerProfileId),
        eq(orderReviews.direction, 'client_to_provider'),
        eq(orderReviews.isDeleted, false),
        isNull(orderReviews.hiddenReason),
        page.where,
      ),
    )
    .orderBy(page.orderBy)
    .limit(page.limit);

/** Hides the order's reviews that are shown, for `reason`; the reviews hidden. */
export const hideShownReviews = (tx: Db, orderId: string, reason: NonNullable<ReviewRow['hiddenReason']>) =>
  tx
    .update(orderReviews)
    .set({ hiddenReason: reason })
    .where(and(eq(orderReviews.orderId, orderId), isNull(orderReviews.hiddenReason)))
    .returning();
