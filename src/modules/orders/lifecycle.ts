import { and, eq, inArray } from 'drizzle-orm';
import type { Actor } from '../../platform/actor.ts';
import { writeAudit } from '../../platform/audit/service.ts';
import type { Db } from '../../platform/db.ts';
import { ConflictError, NotFoundError } from '../../platform/errors.ts';
import type { OrderEvents } from './events.ts';
import { ORDER_STATUSES, type OrderStatus, orderStatusHistory, orders } from './schema.ts';

export type OrderRow = typeof orders.$inferSelect;

/** The states an order may be in for each action (DOMAIN.md's lifecycle). */
export const ALLOWED_FROM = {
  edit: ['draft', 'published', 'bidding'],
  publish: ['draft'],
  bid: ['published', 'bidding'],
  accept: ['published', 'bidding'],
  cancelByClient: ['draft', 'published', 'bidding', 'assigned'],
  cancelByProvider: ['assigned'],
  start: ['assigned'],
  complete: ['in_progress'],
  confirm: ['in_progress'],
  dispute: ['assigned', 'in_progress', 'completed'],
  deleteByClient: ['draft', 'published', 'bidding'],
  /** The assigned provider's progress and completion notes, while the work is on. */
  workNotes: ['assigned', 'in_progress'],
  review: ['completed'],
  /** Staff resolve or close a dispute. */
  endDispute: ['disputed'],
} as const satisfies Record<string, readonly OrderStatus[]>;

/** Open for bids: what the feed and search show (schema.ts OPEN_ORDERS). */
export const OPEN: readonly OrderStatus[] = ['published', 'bidding'];

/** Agreed work not finished: an erasure waits until it is (DECISIONS.md, "People and their data"). */
export const WORK_IN_PROGRESS: readonly OrderStatus[] = ['assigned', 'in_progress', 'disputed'];

/**
 * While the work is agreed, the two parties see how to reach each other; a cancelled order hides them again.
 */
export const AGREED: readonly OrderStatus[] = ['assigned', 'in_progress', 'completed', 'disputed'];

/** 409 naming the state the order is in, e.g. `order_is_assigned`. */
export const wrongState = (status: OrderStatus, allowed: readonly OrderStatus[]) =>
  new ConflictError(
    `order_is_${status}`,
    `the order is ${status}; this needs it to be ${allowed.join(' or ')}`,
  );

/**
 * The 409 codes a route of these actions documents: `order_is_<status>` for each state one of them does not
 * start from (`wrongState`). A route whose action differs by who asks (cancel) names each variant.
 */
export const wrongStateCodes = (...actions: (keyof typeof ALLOWED_FROM)[]) =>
  ORDER_STATUSES.filter((status) =>
    actions.some((action) => !(ALLOWED_FROM[action] as readonly OrderStatus[]).includes(status)),
  ).map((status) => `order_is_${status}`);

export function assertState(order: OrderRow, allowed: readonly OrderStatus[]) {
  if (!allowed.includes(order.status)) throw wrongState(order.status, allowed);
}

/**
 * Moves an order to `to` if it is still in one of `from` (checked in the UPDATE itself, so two requests
 * racing on one order cannot both move it), records the history and the audit, and tells both parties.
 */
export async function changeOrderStatus(
  tx: Db,
  actor: Actor,
  events: OrderEvents,
  order: OrderRow,
  to: OrderStatus,
  options: {
    from: readonly OrderStatus[];
    reason?: string | null;
    set?: Partial<typeof orders.$inferInsert>;
    /** Besides the client: the assigned provider, when there is one. */
    providerUserId?: string | null;
  },
): Promise<OrderRow> {
  const [after] = await tx
    .update(orders)
    .set({ ...options.set, status: to })
    .where(
      and(eq(orders.id, order.id), inArray(orders.status, [...options.from]), eq(orders.isDeleted, false)),
    )
    .returning();
  if (!after) {
    const [current] = await tx
      .select({ status: orders.status, isDeleted: orders.isDeleted })
      .from(orders)
      .where(eq(orders.id, order.id));
    if (!current || current.isDeleted) throw new NotFoundError('order');
    throw wrongState(current.status, options.from);
  }
  await tx.insert(orderStatusHistory).values({
    orderId: order.id,
    fromStatus: order.status,
    toStatus: to,
    actorId: actor.userId,
    reason: options.reason ?? null,
  });
  await writeAudit(tx, actor, [
    { action: 'update', entity: 'orders', entityId: order.id, before: order, after },
  ]);
  const recipients = [after.clientUserId, options.providerUserId].filter(
    (id): id is string => !!id && id !== actor.userId,
  );
  await events.emit({
    type: to === 'completed' ? 'order_completed' : 'order_status_changed',
    order_id: order.id,
    recipient_user_ids: recipients,
    from_status: order.status,
    to_status: to,
  });
  return after;
}
