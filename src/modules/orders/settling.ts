import type { Actor } from '../../platform/actor.ts';
import { writeAudit } from '../../platform/audit/service.ts';
import type { Db } from '../../platform/db.ts';
import type { SearchVocabulary } from '../../platform/search/service.ts';
import type { ProfileService } from '../users/profile-service.ts';
import { rejectPendingBids, uncountBids, withdrawPendingBids } from './bid-queries.ts';
import type { BidRow } from './bid-views.ts';
import type { OrderEvents } from './events.ts';
import { changeOrderStatus, type OrderRow } from './lifecycle.ts';
import { ORDER_SEARCH_SCOPE, type OrderStatus, openOrderTextsHold, orderSearchText } from './schema.ts';

export type Settling = ReturnType<typeof createSettling>;

/**
 * How an order is cancelled and a bid withdrawn, whoever asks: the order's party in a request, or the
 * orders module settling what a closed, erased or blocked account left open (account-settlement.ts). One
 * code path, so the history, the audit rows and the events are the same either way.
 */
export function createSettling({
  events,
  vocabulary,
  profiles,
}: {
  events: OrderEvents;
  vocabulary: SearchVocabulary;
  profiles: Pick<ProfileService, 'adjustClientCounters'>;
}) {
  /**
   * The order's words leave the vocabulary, but those other open orders hold, once its client took it
   * down or replaced its text. Orders never published brought none.
   */
  async function dropOrderWords(tx: Db, order: OrderRow) {
    if (order.publishedAt) {
      await vocabulary.dropWords(tx, ORDER_SEARCH_SCOPE, orderSearchText(order), openOrderTextsHold);
    }
  }

  return {
    dropOrderWords,

    /**
     * Cancels a locked order still in one of `from`, with `reason` in its history and on the order; its
     * pending bids are rejected (`order_cancelled`) and their providers told.
     */
    async cancelOrder(
      tx: Db,
      actor: Actor,
      order: OrderRow,
      options: { from: readonly OrderStatus[]; reason: string; providerUserId?: string | null },
    ) {
      const now = new Date();
      const after = await changeOrderStatus(tx, actor, events, order, 'cancelled', {
        from: options.from,
        reason: options.reason,
        set: { cancelledAt: now, cancelReason: options.reason },
        providerUserId: options.providerUserId,
      });
      await dropOrderWords(tx, order);
      // Providers still waiting for an answer get one.
      const rejected = await rejectPendingBids(tx, order.id, now);
      await writeAudit(
        tx,
        actor,
        rejected.map((b) => ({
          action: 'update' as const,
          entity: 'bids',
          entityId: b.id,
          before: { status: 'pending', decidedAt: null, rejectReason: null },
          after: { status: b.status, decidedAt: b.decidedAt, rejectReason: b.rejectReason },
        })),
      );
      await events.emit(
        ...rejected.map((bid) => ({
          type: 'bid_rejected' as const,
          order_id: order.id,
          bid_id: bid.id,
          recipient_user_ids: [bid.providerUserId],
        })),
      );
      await profiles.adjustClientCounters(order.clientUserId, { cancelled: 1 });
      return after;
    },

    /**
     * Withdraws these bids, each only if it is still pending (checked in the UPDATE, so a bid accepted
     * meanwhile is never overwritten); the caller holds their orders' locks. Each order's bid count goes
     * down and its client is told. The bids withdrawn.
     */
    async withdrawBids(tx: Db, actor: Actor, pending: BidRow[]) {
      if (pending.length === 0) return [];
      const withdrawn = await withdrawPendingBids(
        tx,
        pending.map((b) => b.id),
      );
      const before = new Map(pending.map((b) => [b.id, b]));
      await writeAudit(
        tx,
        actor,
        withdrawn.map((after) => ({
          action: 'update' as const,
          entity: 'bids',
          entityId: after.id,
          before: before.get(after.id),
          after,
        })),
      );
      const orderIds = [...new Set(withdrawn.map((b) => b.orderId))];
      if (orderIds.length === 0) return withdrawn;
      const counted = await uncountBids(
        tx,
        orderIds,
        withdrawn.map((b) => b.id),
      );
      const clientOf = new Map(counted.map((o) => [o.id, o.clientUserId]));
      await events.emit(
        ...withdrawn.map((bid) => ({
          type: 'bid_withdrawn' as const,
          order_id: bid.orderId,
          bid_id: bid.id,
          recipient_user_ids: [clientOf.get(bid.orderId)!],
        })),
      );
      return withdrawn;
    },
  };
}
