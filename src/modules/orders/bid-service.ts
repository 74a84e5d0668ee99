import { type Actor, isStaff } from '../../platform/actor.ts';
import { type AuditEntry, writeAudit } from '../../platform/audit/service.ts';
import type { Db } from '../../platform/db.ts';
import { ConflictError, NotFoundError, onUniqueViolation } from '../../platform/errors.ts';
import { idPages, type PageResult } from '../../platform/pagination.ts';
import type { CatalogService } from '../core/service.ts';
import type { DirectoryService } from '../users/directory-service.ts';
import type { AccountService } from '../users/service.ts';
import { loadOrder } from './access.ts';
import type {
  AcceptBidInput,
  BidView,
  CreateBidInput,
  MyBidsFilter,
  MyBidView,
  OrderBidsFilter,
  OrderBidView,
  RejectBidInput,
  UpdateBidInput,
} from './bid-contract.ts';
import {
  bidStatus,
  hasBidOn,
  insertAssignment,
  loadBid,
  loadOwnBid,
  orderBids,
  providerBids,
  rejectOtherPendingBids,
  updatePendingBid,
} from './bid-queries.ts';
import { asBidNotFound, assignedElsewhere, bidNotPending, checkAmount } from './bid-rules.ts';
import { createBidPlacement } from './bid-statement.ts';
import { type BidRow, bidView, myBidView } from './bid-views.ts';
import type { OrderEvents } from './events.ts';
import type { OrderExtensions } from './extensions.ts';
import { ALLOWED_FROM, assertState, changeOrderStatus, type OrderRow } from './lifecycle.ts';
import { primaryPhotosOfLive } from './order-queries.ts';
import { bids } from './schema.ts';
import type { Settling } from './settling.ts';

const myBidPages = idPages('orders.my_bids', bids.id);

export type BidService = ReturnType<typeof createBidService>;

/** What the bid service is made of. */
export interface BidServiceDeps {
  db: Db;
  events: OrderEvents;
  extensions: OrderExtensions;
  settling: Pick<Settling, 'withdrawBids'>;
  catalog: CatalogService;
  directory: DirectoryService;
  accounts: Pick<AccountService, 'lockStanding' | 'standings'>;
}

export function createBidService({
  db,
  events,
  catalog,
  directory,
  accounts,
  extensions,
  settling,
}: BidServiceDeps) {
  /**
   * The category's price range, read before the transaction (the catalog reads through the plain handle);
   * checked inside it, after the caller is known to be allowed to bid.
   */
  const priceRange = (order: OrderRow) => catalog.subcategoryTerms(order.subcategoryId);

  const placeBid = createBidPlacement({ db, events, extensions });

  /**
   * A bid on an order of the caller's, with the order locked: accept and reject run one at a time per
   * order. Someone else's bid, or a bid on someone else's order, is "not found".
   */
  async function lockClientBid(tx: Db, actor: Actor, bidId: string) {
    const bid = await loadBid(tx, bidId);
    const order = await loadOrder(tx, bid.orderId, { forUpdate: true }).catch(asBidNotFound);
    if (order.clientUserId !== actor.userId) throw new NotFoundError('bid');
    return { bid, order };
  }

  /**
   * Moves a pending bid on, in the UPDATE itself, so a bid that changed meanwhile (withdrawn, accepted) is
   * never overwritten.
   */
  async function decidePending(tx: Db, bid: BidRow, set: Partial<typeof bids.$inferInsert>) {
    const after = await updatePendingBid(tx, bid.id, set);
    if (!after) throw bidNotPending((await bidStatus(tx, bid.id)) ?? bid.status);
    return after;
  }

  return {
    /** A provider bids on an open order in a subcategory they offer (bid-statement.ts). */
    createBid(actor: Actor, orderId: string, input: CreateBidInput): Promise<BidView> {
      return placeBid(actor, orderId, input);
    },

    /** The provider changes their pending bid while the order is still open for bids. */
    async updateBid(actor: Actor, bidId: string, input: UpdateBidInput): Promise<BidView> {
      const own = await loadOwnBid(db, actor, bidId);
      const range =
        input.amount === undefined ? undefined : await priceRange(await loadOrder(db, own.orderId));
      return db.transaction(async (tx) => {
        const order = await loadOrder(tx, own.orderId, { forUpdate: true });
        const before = await loadOwnBid(tx, actor, bidId);
        if (before.status !== 'pending') throw bidNotPending(before.status);
        assertState(order, ALLOWED_FROM.bid);
        checkAmount(input.amount, range);
        const after = await decidePending(tx, before, {
          amount: input.amount,
          message: input.message,
          estimatedDurationHours: input.estimated_duration_hours,
          isNegotiable: input.is_negotiable,
        });
        await writeAudit(tx, actor, [{ action: 'update', entity: 'bids', entityId: bidId, before, after }]);
        return bidView(after);
      });
    },

    /** The provider takes back a pending bid; they may bid on the order again afterwards. */
    async withdrawBid(actor: Actor, bidId: string): Promise<BidView> {
      const own = await loadOwnBid(db, actor, bidId);
      return db.transaction(async (tx) => {
        // Locks in the same order as accept (order, then bids), so the two never deadlock.
        await loadOrder(tx, own.orderId, { forUpdate: true }).catch(asBidNotFound);
        const before = await loadOwnBid(tx, actor, bidId);
        if (before.status !== 'pending') throw bidNotPending(before.status);
        const [after] = await settling.withdrawBids(tx, actor, [before]);
        if (!after) throw bidNotPending(before.status);
        return bidView(after);
      });
    },

    /** The order's client turns down a pending bid; the provider hears why, if a reason is given. */
    async rejectBid(actor: Actor, bidId: string, input: RejectBidInput): Promise<BidView> {
      return db.transaction(async (tx) => {
        const { bid: before, order } = await lockClientBid(tx, actor, bidId);
        assertState(order, ALLOWED_FROM.accept);
        const after = await decidePending(tx, before, {
          status: 'rejected',
          decidedAt: new Date(),
          rejectReason: input.reason ?? null,
        });
        await writeAudit(tx, actor, [{ action: 'update', entity: 'bids', entityId: bidId, before, after }]);
        await events.emit({
          type: 'bid_rejected',
          order_id: order.id,
          recipient_user_ids: [after.providerUserId],
          bid_id: after.id,
        });
        return bidView(after);
      });
    },

    /**
     * In one transaction, with the order row locked: the bid accepted, every other pending bid of the order
     * rejected, the order assigned at the bid's amount, the assignment made, and everyone told. A second
     * accept on the same order waits for the lock and then finds the order assigned (409); the partial
     * unique indexes on bids and assignments stand behind that.
     */
    async acceptBid(actor: Actor, bidId: string, input: AcceptBidInput): Promise<{ orderId: string }> {
      return onUniqueViolation(
        db.transaction(async (tx) => {
          // Both accounts share-locked until commit: a block, a closing or an erasure of either party
          // lands before this accept (and refuses it) or after it, never in between; an erasure after it
          // finds the agreed work and is refused (account-settlement.ts). The caller's (the client's, or
          // the bid is not found below) before the order: an erasure locks the account, then its orders.
          const clientStanding = await accounts.lockStanding(tx, actor.userId ?? '');
          const { bid, order } = await lockClientBid(tx, actor, bidId);
          assertState(order, ALLOWED_FROM.accept);
          if (clientStanding !== 'active') {
            throw new ConflictError(
              'client_unavailable',
              `your account is ${clientStanding}; it can no longer agree to work`,
            );
          }
          const standing = await accounts.lockStanding(tx, bid.providerUserId);
          if (standing !== 'active') {
            throw new ConflictError(
              'provider_unavailable',
              `the provider’s account is ${standing}; they can no longer take this work`,
            );
          }
          const now = new Date();
          // The values returned are the bid as it is now, not as first read: a change of price committed
          // before the order lock was taken shows here, and a later one waits for the lock.
          const accepted = await decidePending(tx, bid, { status: 'accepted', decidedAt: now });
          if (accepted.amount !== input.amount) {
            throw new ConflictError(
              'bid_changed',
              `the bid’s amount is now ${accepted.amount} tyiyn, not ${input.amount}; look at it again before accepting`,
            );
          }
          const rejected = await rejectOtherPendingBids(tx, order.id, accepted.id, now);
          await changeOrderStatus(tx, actor, events, order, 'assigned', {
            from: ALLOWED_FROM.accept,
            reason: 'bid accepted',
            set: { finalPrice: accepted.amount, assignedAt: now },
            providerUserId: accepted.providerUserId,
          });
          const assignment = await insertAssignment(tx, {
            orderId: order.id,
            bidId: accepted.id,
            providerProfileId: accepted.providerProfileId,
            providerUserId: accepted.providerUserId,
            clientUserId: order.clientUserId,
            startDate: order.serviceDate,
          });

          const audit: AuditEntry[] = [
            { action: 'update', entity: 'bids', entityId: accepted.id, before: bid, after: accepted },
            ...rejected.map((r) => ({
              action: 'update' as const,
              entity: 'bids',
              entityId: r.id,
              before: { status: 'pending', decidedAt: null, rejectReason: null },
              after: { status: r.status, decidedAt: r.decidedAt, rejectReason: r.rejectReason },
            })),
            {
              action: 'create',
              entity: 'order_assignments',
              entityId: assignment.id,
              after: assignment,
            },
          ];
          await writeAudit(tx, actor, audit);
          await extensions.bidAccepted.run({
            actor,
            orderId: order.id,
            bidId: accepted.id,
            clientUserId: order.clientUserId,
            providerUserId: accepted.providerUserId,
            providerProfileId: accepted.providerProfileId,
            amount: accepted.amount,
            currency: accepted.currency,
          });

          await events.emit(
            {
              type: 'bid_accepted',
              order_id: order.id,
              recipient_user_ids: [accepted.providerUserId],
              bid_id: accepted.id,
            },
            ...rejected.map((r) => ({
              type: 'bid_rejected' as const,
              order_id: order.id,
              recipient_user_ids: [r.providerUserId],
              bid_id: r.id,
            })),
            {
              type: 'order_assigned',
              order_id: order.id,
              recipient_user_ids: [order.clientUserId, accepted.providerUserId],
              bid_id: accepted.id,
            },
          );
          return { orderId: order.id };
        }),
        { bids_one_accepted_per_order_uq: assignedElsewhere, order_assignments_order_uq: assignedElsewhere },
      );
    },

    /**
     * The bids on an order: all of them for its client (and staff), only their own for a provider who bid;
     * anyone else gets "not found". Each comes with the provider's public card.
     */
    async listOrderBids(
      actor: Actor,
      orderId: string,
      filter: OrderBidsFilter,
    ): Promise<PageResult<OrderBidView>> {
      const order = await loadOrder(db, orderId);
      const isClient = order.clientUserId === actor.userId;
      // A draft is its client's alone (access.ts canSee), even to staff.
      if (order.status === 'draft' && !isClient) throw new NotFoundError('order');
      const seesAll = isClient || isStaff(actor);
      const bidder = seesAll ? undefined : (actor.userId ?? '');
      if (bidder !== undefined && !(await hasBidOn(db, order.id, bidder))) throw new NotFoundError('order');
      const page = await orderBids(db, order.id, bidder, filter);
      const cards = await directory.cards([...new Set(page.data.map((b) => b.providerProfileId))]);
      const standings = await accounts.standings([...new Set(page.data.map((b) => b.providerUserId))]);
      return {
        data: page.data.map((b) => {
          const standing = standings.get(b.providerUserId) ?? 'closed';
          return {
            ...bidView(b),
            provider: cards.get(b.providerProfileId) ?? null,
            provider_available: standing === 'active',
            provider_unavailable_reason: standing === 'active' ? null : standing,
          };
        }),
        next_cursor: page.next_cursor,
      };
    },

    /** One bid, for those who see it among the order's bids: its bidder, the order's client, staff. */
    async getBid(actor: Actor, bidId: string): Promise<BidView> {
      const bid = await loadBid(db, bidId);
      const order = await loadOrder(db, bid.orderId).catch(asBidNotFound);
      const isClient = order.clientUserId === actor.userId;
      const sees =
        bid.providerUserId === actor.userId ||
        isClient ||
        // A draft is its client's alone (access.ts canSee), even to staff.
        (isStaff(actor) && order.status !== 'draft');
      if (!sees) throw new NotFoundError('bid');
      return bidView(bid);
    },

    /** The caller's bids as a provider, newest first, each with what they need to know of the order. */
    async listMyBids(actor: Actor, filter: MyBidsFilter): Promise<PageResult<MyBidView>> {
      const page = myBidPages(filter);
      const rows = await providerBids(db, actor.userId ?? '', filter.status, page);
      const photos = await primaryPhotosOfLive(db, rows);
      return page.page(
        rows,
        (r) => r.bid.id,
        (r) => myBidView(r, photos.get(r.order.id) ?? null),
      );
    },
  };
}
