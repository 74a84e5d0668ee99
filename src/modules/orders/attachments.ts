import { and, eq, exists, or, type SQL, sql } from 'drizzle-orm';
import type { Actor } from '../../platform/actor.ts';
import type { Db } from '../../platform/db.ts';
import type { AttachmentKind } from '../../platform/storage/service.ts';
import { type AssignmentRow, canSeeOrderParts, roleOf } from './access.ts';
import { DISPUTE_READERS } from './dispute-service.ts';
import type { OrderRow } from './lifecycle.ts';
import { orderAssignments, orderDisputes, orderPhotos, orders } from './schema.ts';

type Attached = { order: OrderRow; assignment: AssignmentRow | null }[];

const anyOf = (rows: Attached, actor: Actor, may: (role: ReturnType<typeof roleOf>) => boolean) =>
  rows.some(({ order, assignment }) => {
    const role = roleOf(actor, order, assignment ?? undefined);
    return canSeeOrderParts(role, order) && may(role);
  });

/**
 * The files the orders module attaches, each shown as the row it hangs off: an order's photos as the order
 * (a draft's to its client alone, a deleted order's to staff), completion photos to the order's parties and
 * staff, dispute evidence to the parties and the staff who read disputes. Each file was attached by its
 * owner (the routes take only the caller's own uploads), so the rows are looked up through the owner's
 * indexed column rather than through the file id.
 */
export function orderAttachments(db: Db): AttachmentKind[] {
  /** The orders that match `where`, with their assignments. */
  const attached = (where: SQL | undefined) =>
    db
      .select({ order: orders, assignment: orderAssignments })
      .from(orders)
      .leftJoin(orderAssignments, eq(orderAssignments.orderId, orders.id))
      .where(where);
  const one = { one: sql`1` };

  return [
    {
      name: 'order photos',
      purpose: 'order_photo',
      visibleTo: 'whoever may see the order (a draft’s only its client; a deleted order’s only staff)',
      async canSee(actor, file) {
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
        const rows = await attached(and(eq(orders.clientUserId, file.ownerId), exists(photo)));
        return anyOf(rows, actor, () => true);
      },
    },
    {
      name: 'completion photos',
      purpose: 'order_photo',
      visibleTo: 'the order’s client and assigned provider, and staff',
      async canSee(actor, file) {
        const rows = await attached(
          and(
            eq(orderAssignments.providerUserId, file.ownerId),
            sql`${file.id}::uuid = any(${orderAssignments.completionPhotoFileIds})`,
          ),
        );
        return anyOf(rows, actor, (role) => role !== 'other');
      },
    },
    {
      name: 'dispute evidence',
      purpose: 'dispute_evidence',
      visibleTo: `the order’s client and assigned provider, and staff who read disputes (${DISPUTE_READERS.join(', ')})`,
      async canSee(actor, file) {
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
        const rows = await attached(exists(dispute));
        return anyOf(
          rows,
          actor,
          (role) =>
            role === 'client' ||
            role === 'assigned_provider' ||
            (role === 'staff' && actor.roles.some((r) => DISPUTE_READERS.includes(r))),
        );
      },
    },
  ];
}
