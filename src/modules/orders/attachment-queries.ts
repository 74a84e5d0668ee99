import { and, eq, exists, or, type SQL, sql } from 'drizzle-orm';
import type { Db } from '../../platform/db.ts';
import { orderAssignments, orderDisputes, orderPhotos, orders } from './schema.ts';

/*
 * The rows a file attached by the orders module hangs off, with their orders and assignments: what
 * attachments.ts decides a download on. Looked up through the owner's indexed column, not the file id.
 */

type File = { id: string; ownerId: string };

/** The orders that match `where`, with their assignments. */
const attached = (db: Db, where: SQL | undefined) =>
  db
    .select({ order: orders, assignment: orderAssignments })
    .from(orders)
    .leftJoin(orderAssignments, eq(orderAssignments.orderId, orders.id))
    .where(where);
const one = { one: sql`1` };

/** The owner's orders that show the file as a photo. */
export function ordersShowingPhoto(db: Db, file: File) {
  const photo = db
    .select(one)
    .from(orderPhotos)
    .where(
      and(
        eq(orderPhotos.orderId, orders.id),
        eq(orderPhotos.fileId, file.id),
        // A photo taken off the order on its own is no longer shown; one deleted with it follows it.
        or(
          eq(orderPhotos.isDeleted, false),
          and(eq(orders.isDeleted, true), eq(orderPhotos.deletionId, orders.deletionId)),
        ),
      ),
    );
  return attached(db, and(eq(orders.clientUserId, file.ownerId), exists(photo)));
}

/** The orders whose work the owner, their provider, finished with the file among its photos. */
export const ordersShowingCompletionPhoto = (db: Db, file: File) =>
  attached(
    db,
    and(
      eq(orderAssignments.providerUserId, file.ownerId),
      sql`${file.id}::uuid = any(${orderAssignments.completionPhotoFileIds})`,
    ),
  );

/** The orders of disputes the owner opened with the file as evidence. */
export function ordersShowingEvidence(db: Db, file: File) {
  const dispute = db
    .select(one)
    .from(orderDisputes)
    .where(
      and(
        eq(orderDisputes.orderId, orders.id),
        eq(orderDisputes.openedByUserId, file.ownerId),
        sql`${file.id}::uuid = any(${orderDisputes.evidenceFileIds})`,
      ),
    );
  return attached(db, exists(dispute));
}
