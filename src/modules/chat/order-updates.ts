import { sql } from 'drizzle-orm';
import type { Db } from '../../platform/db.ts';
import { subscribe } from '../../platform/events.ts';
import type { OrderEvent, OrderEventType } from '../orders/events.ts';
import { type OrderNotice, orderNotice } from '../orders/queries.ts';
import type { MessageService } from './message-service.ts';
import { roomOfOrder, updateRoom } from './room-queries.ts';
import type { SystemTextKey } from './texts.ts';

/** The order events an order's chat tells, as the text each becomes; a status change only for these. */
const UPDATES: Partial<Record<OrderEventType, SystemTextKey>> = {
  order_assigned: 'order_update.assigned',
  order_work_done: 'order_update.work_done',
  order_completed: 'order_update.completed',
  dispute_opened: 'order_update.disputed',
  dispute_resolved: 'order_update.resolved',
};
const STATUS_UPDATES: Record<string, SystemTextKey> = {
  in_progress: 'order_update.started',
  cancelled: 'order_update.cancelled',
};

const textOf = (event: OrderEvent): SystemTextKey | undefined =>
  event.type === 'order_status_changed' ? STATUS_UPDATES[event.to_status ?? ''] : UPDATES[event.type];

const CLOSED = ['completed', 'cancelled'];

/**
 * The orders' events in each order's chat: an `order_update` message per event (its text key and the
 * order's title, rendered in each reader's language), the room's title, the moment the order closed (the
 * chat takes messages for `chat_closed_order_write_days` more) and the dispute that lets moderators read it.
 */
export function orderUpdateSubscription({
  db,
  messages,
}: {
  db: Db;
  messages: Pick<MessageService, 'postServerMessage'>;
}) {
  async function handle(event: OrderEvent) {
    const key = textOf(event);
    if (!key) return;
    const room = await roomOfOrder(db, event.order_id);
    if (!room) return;
    const { rows } = (await db.execute(
      sql`select * from (${orderNotice(sql`${event.order_id}::uuid`, sql`null::uuid`, sql`null::uuid`)}) n`,
    )) as unknown as { rows: OrderNotice[] };
    const [order] = rows;
    if (!order) return;
    const settled = await updateRoom(db, room.id, {
      title: order.title,
      ...(event.dispute_id && event.type === 'dispute_opened' && { disputeId: event.dispute_id }),
      ...(CLOSED.includes(order.status) && room.closedAt === null && { closedAt: new Date() }),
      ...(!CLOSED.includes(order.status) && room.closedAt !== null && { closedAt: null }),
    });
    await messages.postServerMessage(settled, {
      type: 'order_update',
      templateKey: key,
      params: { order_title: order.title },
      clientMessageId: `event:${event.id}`,
    });
  }

  return subscribe<OrderEvent>({
    module: 'chat',
    types: [
      'order_assigned',
      'order_status_changed',
      'order_work_done',
      'order_completed',
      'dispute_opened',
      'dispute_resolved',
    ],
    handle,
  });
}
