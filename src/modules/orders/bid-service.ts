import { and, asc, eq, gt, inArray, ne, or, type SQL, sql } from 'drizzle-orm';
import { Type } from 'typebox';
import { type Actor, isStaff } from '../../platform/actor.ts';
import {
  type AuditEntry,
  auditChangesSql,
  insertAuditSql,
  writeAudit,
} from '../../platform/audit/service.ts';
import { isoTimestamp, newId } from '../../platform/columns.ts';
import { type Db, prepareSql } from '../../platform/db.ts';
import {
  ConflictError,
  ForbiddenError,
  isUniqueViolation,
  NotFoundError,
  RuleViolationError,
} from '../../platform/errors.ts';
import { idPages, listCursor, type PageResult } from '../../platform/pagination.ts';
import { subcategoryPriceRange } from '../core/queries.ts';
import type { CatalogService } from '../core/service.ts';
import type { DirectoryService } from '../users/directory-service.ts';
import { providerOffering } from '../users/queries.ts';
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
import type { OrderEvents } from './events.ts';
import type { OrderExtensions } from './extensions.ts';
import { ALLOWED_FROM, assertState, changeOrderStatus, type OrderRow, wrongState } from './lifecycle.ts';
import {
  type BidStatus,
  bids,
  type OrderStatus,
  orderAssignments,
  orderStatusHistory,
  orders,
} from './schema.ts';
import type { Settling } from './settling.ts';

export type BidRow = typeof bids.$inferSelect;

/**
 * What the bid statement checked, and what the database decided for the bid when it made one: its id,
 * its currency (the order's) and its time. The rest of a new bid is the request's, as inserted.
 */
interface BidOutcome {
  client_user_id: string | null;
  order_status: OrderStatus | null;
  provider_profile_id: string | null;
  offers: boolean | null;
  min_price: number | null;
  max_price: number | null;
  /** The client turned down a bid of this provider's on the order: no new one (DOMAIN.md). */
  turned_down: boolean | null;
  bid_id: string | null;
  currency: string | null;
  created_at: string | null;
  /** Only when guards are registered: the first that refused the bid (extensions.ts, `bidCreation`). */
  refused_by?: string | null;
}

const isOneOf = <T extends string>(value: string, allowed: readonly T[]): value is T =>
  (allowed as readonly string[]).includes(value);

export const bidView = (b: BidRow): BidView => ({
  id: b.id,
  order_id: b.orderId,
  provider_profile_id: b.providerProfileId,
  amount: b.amount,
  currency: b.currency,
  message: b.message,
  estimated_duration_hours: b.estimatedDurationHours,
  is_negotiable: b.isNegotiable,
  status: b.status,
  decided_at: b.decidedAt?.toISOString() ?? null,
  reject_reason: b.rejectReason,
  created_at: b.createdAt.toISOString(),
  updated_at: b.updatedAt.toISOString(),
});

/** 409 naming the state the bid is in, e.g. `bid_is_withdrawn`. */
const bidNotPending = (status: BidStatus) =>
  new ConflictError(`bid_is_${status}`, `the bid is ${status}; only a pending bid can change`);

const bidExists = () =>
  new ConflictError(
    'bid_already_exists',
    'you already have a live bid on this order; change it or withdraw it first',
  );

/** A bid whose order is gone is gone too. */
const asBidNotFound = (error: unknown): never => {
  throw error instanceof NotFoundError ? new NotFoundError('bid') : error;
};

const orderBidPages = idPages('orders.order_bids', bids.id);
const amountCursor = listCursor(
  'orders.order_bids:amount',
  Type.Tuple([Type.Integer(), Type.String({ format: 'uuid' })]),
);
const myBidPages = idPages('orders.my_bids', bids.id);

export type BidService = ReturnType<typeof createBidService>;

export function createBidService({
  db,
  events,
  catalog,
  directory,
  accounts,
  extensions,
  settling,
}: {
  db: Db;
  events: OrderEvents;
  extensions: OrderExtensions;
  settling: Pick<Settling, 'withdrawBids'>;
  catalog: CatalogService;
  directory: DirectoryService;
  accounts: Pick<AccountService, 'lockStanding' | 'standings'>;
}) {
  /**
   * The category's price range, read before the transaction (the catalog reads through the plain handle);
   * checked inside it, after the caller is known to be allowed to bid.
   */
  const priceRange = (order: OrderRow) => catalog.subcategoryTerms(order.subcategoryId);

  function checkAmount(
    amount: number | undefined,
    range: { minPrice: number; maxPrice: number } | null | undefined,
  ) {
    if (amount === undefined) return;
    if (!range) {
      throw new ConflictError('subcategory_unavailable', 'the order’s subcategory is no longer offered');
    }
    if (amount >= range.minPrice && amount <= range.maxPrice) return;
    throw new RuleViolationError(
      'amount_out_of_range',
      `the amount must be between ${range.minPrice} and ${range.maxPrice} tyiyn in this category`,
      [{ in: 'body', field: 'amount', message: `must be ${range.minPrice} to ${range.maxPrice}` }],
    );
  }

  /** The caller's own bid; anyone else's is "not found". */
  async function loadOwnBid(tx: Db, actor: Actor, bidId: string) {
    const [bid] = await tx
      .select()
      .from(bids)
      .where(and(eq(bids.id, bidId), eq(bids.providerUserId, actor.userId ?? ''), eq(bids.isDeleted, false)));
    if (!bid) throw new NotFoundError('bid');
    return bid;
  }

  async function loadBid(tx: Db, bidId: string) {
    const [bid] = await tx
      .select()
      .from(bids)
      .where(and(eq(bids.id, bidId), eq(bids.isDeleted, false)));
    if (!bid) throw new NotFoundError('bid');
    return bid;
  }

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
    const [after] = await tx
      .update(bids)
      .set(set)
      .where(and(eq(bids.id, bid.id), eq(bids.status, 'pending'), eq(bids.isDeleted, false)))
      .returning();
    if (!after) {
      const [current] = await tx.select({ status: bids.status }).from(bids).where(eq(bids.id, bid.id));
      throw bidNotPending(current?.status ?? bid.status);
    }
    return after;
  }

  /**
   * The whole of a bid in one statement, one round trip: the order locked (bids and an accept on one order
   * never interleave), the bidder's provider profile and service and the category's price range read through
   * their modules' read models (`providerOffering`, `subcategoryPriceRange`), the bid inserted only if every
   * rule holds, the client never rejected a bid of this provider's on the order, and the provider has no
   * live bid (the partial unique index `bids_one_live_per_provider_uq` decides, under the order lock),
   * bid_count raised, the first bid moving the order from published to bidding with its history, the audit
   * rows and the events. It answers the facts it checked, so a refusal needs no second query. Named and
   * prepared: parsed and planned once per connection. Built on first use, once every job kind is registered.
   */
  let prepared: ReturnType<typeof prepareBidStatement> | undefined;
  const bidStatement = () => {
    prepared ??= prepareBidStatement();
    return prepared;
  };

  let guards: ReturnType<OrderExtensions['bidCreation']['seal']> = [];

  function prepareBidStatement() {
    const p = (name: string) => sql.placeholder(name);
    const userId = sql`${p('user_id')}::uuid`;
    const amount = sql`${p('amount')}::int`;
    const open = sql.join(
      ALLOWED_FROM.bid.map((status) => sql`${status}`),
      sql`, `,
    );
    guards = extensions.bidCreation.seal();
    const columns = {
      orderId: sql`t.id`,
      subcategoryId: sql`t.subcategory_id`,
      clientUserId: sql`t.client_user_id`,
      providerUserId: userId,
      providerProfileId: sql`offering.provider_profile_id`,
      amount,
    };
    // With no guard registered, none of these adds a character to the statement.
    const guardColumns = sql.join(
      guards.map((g, i) => sql`, (${g.condition(columns)}) as ${sql.identifier(`guard_${i}`)}`),
    );
    const guardsHold = sql.join(guards.map((_, i) => sql` and f.${sql.identifier(`guard_${i}`)}`));
    const refusedBy =
      guards.length === 0
        ? sql``
        : sql`, case ${sql.join(
            guards.map(
              (g, i) => sql`when not coalesce(f.${sql.identifier(`guard_${i}`)}, false) then ${g.name} `,
            ),
          )}end as refused_by`;
    return prepareSql<BidOutcome>(
      db,
      sql`with target as materialized (
          select id, client_user_id, status, currency, subcategory_id, bid_count
          from ${orders} where id = ${p('order_id')}::uuid and not is_deleted for update
        ),
        facts as materialized (
          select t.id, t.client_user_id, t.status, t.currency, offering.provider_profile_id, offering.offers,
            price.min_price, price.max_price,
            exists (select from ${bids} b where b.provider_profile_id = offering.provider_profile_id
              and b.order_id = t.id and b.status = 'rejected' and not b.is_deleted) as turned_down${guardColumns}
          from target t
          left join lateral (${providerOffering(userId, sql`t.subcategory_id`)}) offering on true
          left join lateral (${subcategoryPriceRange(sql`t.subcategory_id`)}) price on true
        ),
        bid as (
          insert into ${bids} (id, order_id, provider_profile_id, provider_user_id, amount, currency, message,
            estimated_duration_hours, is_negotiable)
          select ${p('bid_id')}::uuid, f.id, f.provider_profile_id, ${userId}, ${p('amount')}::int, f.currency,
            ${p('message')}::text, ${p('estimated_duration_hours')}::int, ${p('is_negotiable')}::boolean
          from facts f
          where f.client_user_id <> ${userId} and f.status in (${open}) and f.offers
            and ${amount} between f.min_price and f.max_price and not f.turned_down${guardsHold}
          on conflict (order_id, provider_profile_id) where status in ('pending', 'accepted') and not is_deleted
          do nothing
          returning *
        ),
        opened as (
          update ${orders} o
          set bid_count = o.bid_count + 1,
            status = case when o.status = 'published' then 'bidding' else o.status end,
            updated_at = now()
          from bid where o.id = bid.order_id
          returning o.id, o.status, o.bid_count
        ),
        history as (
          insert into ${orderStatusHistory} (id, order_id, from_status, to_status, actor_id, reason)
          select ${p('history_id')}::uuid, t.id, t.status, 'bidding', ${userId}, 'first bid'
          from target t join bid on true where t.status = 'published'
        ),
        audited as (
          ${insertAuditSql(
            { actorId: userId, requestId: sql`${p('request_id')}::text` },
            sql`select ${p('bid_audit_id')}::uuid, 'create', 'bids', bid.id, ${auditChangesSql(bids, null, 'bid')}
              from bid
              union all
              select ${p('order_audit_id')}::uuid, 'update', 'orders', o.id, ${auditChangesSql(orders, 't', 'o', ['status', 'bidCount'])}
              from target t join opened o on o.id = t.id where t.status = 'published'`,
          )}
        ),
        told as (
          ${events.emitSql(
            ['bid_received', 'order_status_changed'],
            sql`select jsonb_build_object('id', ${p('bid_event_id')}::uuid, 'type', 'bid_received',
                  'order_id', t.id, 'recipient_user_ids', jsonb_build_array(t.client_user_id), 'bid_id', bid.id)
              from target t join bid on true
              union all
              select jsonb_build_object('id', ${p('status_event_id')}::uuid, 'type', 'order_status_changed',
                  'order_id', t.id, 'recipient_user_ids', jsonb_build_array(t.client_user_id),
                  'from_status', t.status, 'to_status', 'bidding')
              from target t join bid on true where t.status = 'published'`,
          )}
        )
        select f.client_user_id, f.status as order_status, f.provider_profile_id, f.offers, f.min_price,
          f.max_price, f.turned_down, bid.id as bid_id, bid.currency, ${isoTimestamp(sql`bid.created_at`)} as created_at${refusedBy}
        from (values (1)) one (x) left join facts f on true left join bid on true`,
    );
  }

  return {
    /**
     * A provider bids on an open order in a subcategory they offer: one statement (bidStatement). A refusal
     * names the first rule the request broke, in the order a reader would check them.
     */
    async createBid(actor: Actor, orderId: string, input: CreateBidInput): Promise<BidView> {
      // Named one by one, not spread from one object into both: a spread here cost 5% of the API's time.
      const message = input.message ?? null;
      const hours = input.estimated_duration_hours ?? null;
      const negotiable = input.is_negotiable ?? false;
      const [row] = await bidStatement()({
        order_id: orderId,
        user_id: actor.userId,
        request_id: actor.requestId,
        bid_id: newId(),
        amount: input.amount,
        message,
        estimated_duration_hours: hours,
        is_negotiable: negotiable,
        history_id: newId(),
        bid_audit_id: newId(),
        order_audit_id: newId(),
        bid_event_id: newId(),
        status_event_id: newId(),
      });
      const outcome = row!;
      if (outcome.bid_id) {
        return {
          id: outcome.bid_id,
          order_id: orderId,
          provider_profile_id: outcome.provider_profile_id!,
          amount: input.amount,
          currency: outcome.currency!,
          message,
          estimated_duration_hours: hours,
          is_negotiable: negotiable,
          status: 'pending',
          decided_at: null,
          reject_reason: null,
          created_at: outcome.created_at!,
          updated_at: outcome.created_at!,
        };
      }
      if (!outcome.order_status) throw new NotFoundError('order');
      if (outcome.client_user_id === actor.userId) {
        throw new ForbiddenError('own_order', 'you cannot bid on your own order');
      }
      // A draft was never public: to anyone else it does not exist. An order that was open once says
      // what it is now (409 below), so a provider who comes late learns it is taken.
      if (outcome.order_status === 'draft') throw new NotFoundError('order');
      if (!outcome.provider_profile_id) {
        throw new ForbiddenError(
          'provider_profile_required',
          'only providers bid; create a provider profile first (POST /me/provider-profile)',
        );
      }
      if (!outcome.offers) {
        throw new ForbiddenError(
          'subcategory_not_offered',
          'you do not offer a service in this order’s subcategory',
        );
      }
      if (!isOneOf(outcome.order_status, ALLOWED_FROM.bid)) {
        throw wrongState(outcome.order_status, ALLOWED_FROM.bid);
      }
      if (outcome.turned_down) {
        throw new ConflictError(
          'bid_rejected',
          'the client rejected your bid on this order; you cannot bid on it again',
        );
      }
      checkAmount(
        input.amount,
        outcome.min_price === null ? null : { minPrice: outcome.min_price, maxPrice: outcome.max_price! },
      );
      const refusal = guards.find((g) => g.name === outcome.refused_by);
      if (refusal) throw refusal.refusal();
      // Every rule held, so the partial unique index turned the bid away: the provider has a live one.
      throw bidExists();
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
      try {
        return await db.transaction(async (tx) => {
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
          const rejected = await tx
            .update(bids)
            .set({ status: 'rejected', decidedAt: now, rejectReason: 'another bid was accepted' })
            .where(
              and(
                eq(bids.orderId, order.id),
                eq(bids.status, 'pending'),
                ne(bids.id, accepted.id),
                eq(bids.isDeleted, false),
              ),
            )
            .returning();
          await changeOrderStatus(tx, actor, events, order, 'assigned', {
            from: ALLOWED_FROM.accept,
            reason: 'bid accepted',
            set: { finalPrice: accepted.amount, assignedAt: now },
            providerUserId: accepted.providerUserId,
          });
          const [assignment] = await tx
            .insert(orderAssignments)
            .values({
              orderId: order.id,
              bidId: accepted.id,
              providerProfileId: accepted.providerProfileId,
              providerUserId: accepted.providerUserId,
              clientUserId: order.clientUserId,
              startDate: order.serviceDate,
            })
            .returning();

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
              entityId: assignment!.id,
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
        });
      } catch (error) {
        if (
          isUniqueViolation(error, 'bids_one_accepted_per_order_uq') ||
          isUniqueViolation(error, 'order_assignments_order_uq')
        ) {
          throw new ConflictError('order_is_assigned', 'another bid on this order was accepted');
        }
        throw error;
      }
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
      const conditions: (SQL | undefined)[] = [
        eq(bids.orderId, order.id),
        eq(bids.isDeleted, false),
        seesAll ? undefined : eq(bids.providerUserId, actor.userId ?? ''),
      ];
      if (!seesAll) {
        const [any] = await db
          .select({ id: bids.id })
          .from(bids)
          .where(and(...conditions))
          .limit(1);
        if (!any) throw new NotFoundError('order');
      }
      if (filter.status?.length) conditions.push(inArray(bids.status, filter.status));

      let page: PageResult<BidRow>;
      if (filter.sort === 'amount') {
        const after = amountCursor.decode(filter.cursor);
        if (after) {
          const [amount, id] = after;
          conditions.push(or(gt(bids.amount, amount), and(eq(bids.amount, amount), gt(bids.id, id))));
        }
        const rows = await db
          .select()
          .from(bids)
          .where(and(...conditions))
          .orderBy(asc(bids.amount), asc(bids.id))
          .limit(filter.limit + 1);
        page = amountCursor.page(
          rows,
          filter.limit,
          (b) => [b.amount, b.id],
          (b) => b,
        );
      } else {
        const newest = orderBidPages(filter);
        const rows = await db
          .select()
          .from(bids)
          .where(and(...conditions, newest.where))
          .orderBy(newest.orderBy)
          .limit(newest.limit);
        page = newest.page(
          rows,
          (b) => b.id,
          (b) => b,
        );
      }
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
      const rows = await db
        .select({ bid: bids, order: orders })
        .from(bids)
        .innerJoin(orders, eq(orders.id, bids.orderId))
        .where(
          and(
            eq(bids.providerUserId, actor.userId ?? ''),
            eq(bids.isDeleted, false),
            eq(orders.isDeleted, false),
            filter.status?.length ? inArray(bids.status, filter.status) : undefined,
            page.where,
          ),
        )
        .orderBy(page.orderBy)
        .limit(page.limit);
      return page.page(
        rows,
        (r) => r.bid.id,
        ({ bid, order }) => ({
          ...bidView(bid),
          order: {
            id: order.id,
            title: order.title,
            status: order.status,
            subcategory_id: order.subcategoryId,
            service_area_id: order.serviceAreaId,
            service_date: order.serviceDate,
            currency: order.currency,
          },
        }),
      );
    },
  };
}
