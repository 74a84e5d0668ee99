import { and, eq } from 'drizzle-orm';
import { type Actor, isStaff } from '../../platform/actor.ts';
import type { Db } from '../../platform/db.ts';
import { NotFoundError } from '../../platform/errors.ts';
import type { OrderRow } from './lifecycle.ts';
import { orderAssignments, orders } from './schema.ts';

export type AssignmentRow = typeof orderAssignments.$inferSelect;

/** How the caller stands to an order; decides what they may see and do. */
export type OrderRole = 'client' | 'assigned_provider' | 'staff' | 'other';

/** A live order, locked for the rest of the transaction when `forUpdate`; 404 when there is none. */
export async function loadOrder(
  tx: Db,
  id: string,
  options: { forUpdate?: boolean; includeDeleted?: boolean } = {},
) {
  const query = tx
    .select()
    .from(orders)
    .where(and(eq(orders.id, id), options.includeDeleted ? undefined : eq(orders.isDeleted, false)));
  const [order] = options.forUpdate ? await query.for('update') : await query;
  if (!order) throw new NotFoundError('order');
  return order;
}

export async function loadAssignment(tx: Db, orderId: string): Promise<AssignmentRow | undefined> {
  const [assignment] = await tx.select().from(orderAssignments).where(eq(orderAssignments.orderId, orderId));
  return assignment;
}

export function roleOf(
  actor: Actor | null,
  order: OrderRow,
  assignment: AssignmentRow | undefined,
): OrderRole {
  if (!actor?.userId) return 'other';
  if (order.clientUserId === actor.userId) return 'client';
  if (assignment && assignment.providerUserId === actor.userId) return 'assigned_provider';
  if (isStaff(actor)) return 'staff';
  return 'other';
}

/**
 * Who may see an order at all: a draft only its client (staff too have no business with an order nobody
 * was shown); any other order its client, its assigned provider, staff, and anyone while it is open for
 * bids. Everyone else gets "not found", so drafts and other people's agreed work do not leak.
 */
export function canSee(role: OrderRole, order: OrderRow) {
  if (order.status === 'draft') return role === 'client';
  return role !== 'other' || order.status === 'published' || order.status === 'bidding';
}

/**
 * Who may see what hangs off an order (its photos, the assignment's, a dispute's evidence): whoever may see
 * the order; once it is deleted, staff alone, as their list of deleted orders shows it (a draft never).
 */
export function canSeeOrderParts(role: OrderRole, order: OrderRow) {
  if (order.isDeleted) return role === 'staff' && order.status !== 'draft';
  return canSee(role, order);
}
