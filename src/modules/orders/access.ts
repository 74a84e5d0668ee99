import { and, eq, type SQL, sql } from 'drizzle-orm';
import { type Actor, isStaff } from '../../platform/actor.ts';
import { type Db, prepareSql } from '../../platform/db.ts';
import { ForbiddenError, NotFoundError } from '../../platform/errors.ts';
import type { OrderRow } from './lifecycle.ts';
import { bids, orderAssignments, orderDisputes, orderReviews, orders } from './schema.ts';

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

/**
 * The live order locked, with its assignment, for one of its two parties to act on (`what` they do, in words
 * for staff's 403 `not_a_party`); anyone else does not see the order.
 */
export async function lockOrderForParty(tx: Db, actor: Actor, orderId: string, what: string) {
  const order = await loadOrder(tx, orderId, { forUpdate: true });
  const assignment = await loadAssignment(tx, orderId);
  const role = roleOf(actor, order, assignment);
  if (role === 'other') throw new NotFoundError('order');
  if (role === 'staff') {
    throw new ForbiddenError('not_a_party', `only the client and the assigned provider ${what}`);
  }
  return { order, assignment, role };
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
 * An order, locked for the rest of the transaction, and how the caller stands to it. Who may not even
 * see it gets "not found".
 */
export async function openOrder(tx: Db, actor: Actor, id: string) {
  const order = await loadOrder(tx, id, { forUpdate: true });
  const assignment = await loadAssignment(tx, id);
  const role = roleOf(actor, order, assignment);
  if (!canSee(role, order)) throw new NotFoundError('order');
  return { order, assignment, role };
}

/** Everyone an order is about, for the staff rule: its client and every provider who bid on it. */
export async function orderPartyIds(tx: Db, order: Pick<OrderRow, 'id' | 'clientUserId'>) {
  const bidders = await tx
    .selectDistinct({ userId: bids.providerUserId })
    .from(bids)
    .where(eq(bids.orderId, order.id));
  return [order.clientUserId, ...bidders.map((b) => b.userId)];
}

/**
 * What ties two people in the orders module, for the staff rule (platform/own-case.ts): a dispute still
 * being handled on an order between them, a review one wrote of the other, or an order one placed and the
 * other bid on (whatever became of it, deleted orders too). One statement; the strongest tie is named.
 */
export async function dealingsBetween(tx: Db, userId: string, otherUserId: string) {
  const [a, b] = [sql`${userId}::uuid`, sql`${otherUserId}::uuid`];
  const between = (client: SQL, provider: SQL) =>
    sql`(${client} = ${a} and ${provider} = ${b}) or (${client} = ${b} and ${provider} = ${a})`;
  const [row] = await prepareSql<{ tie: string | null }>(
    tx,
    sql`select case
      when exists (select from ${orderDisputes} d
                   join ${orderAssignments} s on s.order_id = d.order_id
                   where d.status in ('open', 'under_review') and (${between(sql`s.client_user_id`, sql`s.provider_user_id`)}))
        then 'an open dispute'
      when exists (select from ${orderReviews} r where ${between(sql`r.author_user_id`, sql`r.subject_user_id`)})
        then 'a review'
      when exists (select from ${bids} x join ${orders} o on o.id = x.order_id
                   where ${between(sql`o.client_user_id`, sql`x.provider_user_id`)})
        then 'an order'
    end as tie`,
  )();
  return row?.tie ?? undefined;
}

/**
 * Who may see what hangs off an order (its photos, the assignment's, a dispute's evidence): whoever may see
 * the order; once it is deleted, staff alone, as their list of deleted orders shows it (a draft never).
 */
export function canSeeOrderParts(role: OrderRole, order: OrderRow) {
  if (order.isDeleted) return role === 'staff' && order.status !== 'draft';
  return canSee(role, order);
}
