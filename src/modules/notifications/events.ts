import { sql } from 'drizzle-orm';
import type { Db } from '../../platform/db.ts';
import { subscribe } from '../../platform/events.ts';
import type { ChatEvent } from '../chat/events.ts';
import {
  type ChatMessageNotice,
  type ChatNoticeSilenced,
  chatMessageNotice,
  chatNoticeSilenced,
} from '../chat/queries.ts';
import type { OrderEvent, OrderEventType } from '../orders/events.ts';
import { type OrderNotice, orderNotice } from '../orders/queries.ts';
import type { AccountEvent } from '../users/events.ts';
import type { Channel, NotificationType, Priority } from './contract.ts';
import type { DeviceService } from './device-service.ts';
import type { Pipeline } from './pipeline.ts';
import type { Recipients } from './recipients.ts';

const MODULE = 'notifications';

/** What each order event becomes. */
const ORDER_NOTICES: Record<OrderEventType, { type: NotificationType; priority: Priority }> = {
  bid_received: { type: 'bid_received', priority: 'normal' },
  bid_accepted: { type: 'bid_accepted', priority: 'high' },
  bid_rejected: { type: 'bid_rejected', priority: 'normal' },
  bid_withdrawn: { type: 'order_update', priority: 'low' },
  order_assigned: { type: 'order_assigned', priority: 'high' },
  order_status_changed: { type: 'order_update', priority: 'normal' },
  order_work_done: { type: 'order_update', priority: 'high' },
  order_completed: { type: 'order_completed', priority: 'normal' },
  dispute_opened: { type: 'dispute_update', priority: 'high' },
  dispute_resolved: { type: 'dispute_update', priority: 'high' },
  review_received: { type: 'review_received', priority: 'normal' },
  order_withdrawn_by_catalog: { type: 'order_update', priority: 'normal' },
  order_restored_by_catalog: { type: 'order_update', priority: 'normal' },
};
const ORDER_NOTICE_EVENTS = Object.keys(ORDER_NOTICES) as OrderEventType[];

/**
 * Status changes that another event of the same change already tells: the first bid (`bid_received`), the
 * accept (`order_assigned`), a dispute opened, and the order's way back out of one (`dispute_resolved`).
 */
const toldOtherwise = (event: OrderEvent) =>
  event.type === 'order_status_changed' &&
  (['bidding', 'assigned', 'disputed'].includes(event.to_status ?? '') || event.from_status === 'disputed');

const uuidOrNull = (id: string | undefined) => (id ? sql`${id}::uuid` : sql`null::uuid`);

/**
 * The notifications module's handlers: each takes the ids its event carries, reloads what the message says
 * through the owners' read models, skips what is gone, and hands the pipeline one notice per recipient.
 */
export function notificationSubscriptions({
  db,
  pipeline,
  recipients,
  devices,
}: {
  db: Db;
  pipeline: Pick<Pipeline, 'notify'>;
  recipients: Pick<Recipients, 'find'>;
  devices: Pick<DeviceService, 'forgetSession'>;
}) {
  async function handleOrderEvent(event: OrderEvent) {
    if (toldOtherwise(event)) return;
    const { rows } = (await db.execute(
      sql`select * from (${orderNotice(sql`${event.order_id}::uuid`, uuidOrNull(event.bid_id), uuidOrNull(event.review_id))}) n`,
    )) as unknown as { rows: OrderNotice[] };
    const [order] = rows;
    if (!order) return;
    const { type, priority } = ORDER_NOTICES[event.type];
    const personOf = async (userId: string | null) => (userId ? await recipients.find(userId) : undefined);
    const notices = [];
    for (const userId of event.recipient_user_ids) {
      const other = await personOf(
        userId === order.client_user_id ? order.provider_user_id : order.client_user_id,
      );
      notices.push({
        userId,
        amount: order.amount,
        values: {
          order_title: order.title,
          other_name: other?.fullName ?? '',
          other_gender: other?.gender ?? '',
          bid_count: order.bid_count,
          status: event.to_status ?? order.status,
          event: event.type,
          rating: order.rating ?? 0,
        },
      });
    }
    await pipeline.notify({
      eventId: event.id,
      eventType: event.type,
      type,
      priority,
      path: `/orders/${event.order_id}`,
      collapseKey: `order:${event.order_id}`,
      context: {
        order_id: event.order_id,
        ...(event.bid_id && { bid_id: event.bid_id }),
        ...(event.dispute_id && { dispute_id: event.dispute_id }),
        ...(event.review_id && { review_id: event.review_id }),
      },
      notices,
    });
  }

  async function handleAccountEvent(event: AccountEvent) {
    if (event.type === 'account_signed_in_new_device') {
      await pipeline.notify({
        eventId: event.id,
        eventType: event.type,
        type: 'new_sign_in',
        priority: 'urgent',
        path: '/me/sessions',
        collapseKey: null,
        context: { session_id: event.session_id },
        notices: [{ userId: event.user_id, values: { device: event.device ?? '' } }],
      });
    } else if (event.type === 'session_ended') {
      await devices.forgetSession(event.user_id, event.session_id ?? '');
    } else if (event.type === 'verification_decided') {
      await pipeline.notify({
        eventId: event.id,
        eventType: event.type,
        type: 'verification_update',
        priority: 'normal',
        path: '/me/verifications',
        collapseKey: null,
        context: { verification_id: event.verification_id },
        notices: [{ userId: event.user_id, values: { decision: event.decision ?? 'rejected' } }],
      });
    }
  }

  /** A person's message to the others in the room; the server's own messages tell nothing of their own. */
  async function handleChatEvent(event: ChatEvent) {
    const { rows } = (await db.execute(
      sql`select * from (${chatMessageNotice(sql`${event.message_id}::uuid`)}) n`,
    )) as unknown as { rows: ChatMessageNotice[] };
    const [message] = rows;
    if (!message?.sender_user_id) return;
    const sender = await recipients.find(message.sender_user_id);
    const { rows: silencedRows } = (await db.execute(
      sql`select * from (${chatNoticeSilenced(sql`${message.room_id}::uuid`)}) s`,
    )) as unknown as { rows: ChatNoticeSilenced[] };
    const silenced = new Map(silencedRows.map((r) => [r.user_id, r.channels as Channel[]]));
    await pipeline.notify({
      eventId: event.id,
      eventType: event.type,
      type: 'chat_message',
      priority: 'normal',
      path: `/chats/${message.room_id}`,
      collapseKey: `chat:${message.room_id}`,
      context: {
        room_id: message.room_id,
        message_id: event.message_id,
        ...(message.order_id && { order_id: message.order_id }),
      },
      notices: event.recipient_user_ids.map((userId) => ({
        userId,
        silenced: silenced.get(userId),
        values: {
          other_name: sender?.fullName ?? '',
          other_gender: sender?.gender ?? '',
          order_title: message.title ?? '',
          event: message.chat_type,
        },
      })),
    });
  }

  return [
    subscribe<OrderEvent>({ module: MODULE, types: ORDER_NOTICE_EVENTS, handle: handleOrderEvent }),
    subscribe<AccountEvent>({
      module: MODULE,
      types: ['account_signed_in_new_device', 'verification_decided', 'session_ended'],
      handle: handleAccountEvent,
    }),
    subscribe<ChatEvent>({ module: MODULE, types: ['chat_message_sent'], handle: handleChatEvent }),
  ];
}
