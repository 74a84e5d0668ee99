import { sql } from 'drizzle-orm';
import type { Actor } from '../../platform/actor.ts';
import { auditChangesSql, insertAuditSql } from '../../platform/audit/service.ts';
import { isoTimestamp, newId } from '../../platform/columns.ts';
import { prepareSql } from '../../platform/db.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../../platform/errors.ts';
import { subcategoryPriceRange } from '../core/queries.ts';
import { providerOffering } from '../users/queries.ts';
import type { BidView, CreateBidInput } from './bid-contract.ts';
import { bidExists, checkAmount } from './bid-rules.ts';
import type { BidServiceDeps } from './bid-service.ts';
import type { OrderExtensions } from './extensions.ts';
import { ALLOWED_FROM, wrongState } from './lifecycle.ts';
import { bids, type OrderStatus, orderStatusHistory, orders } from './schema.ts';

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

/** A new bid, made by one statement that checks every rule and writes, and the reading of what it answers. */
export function createBidPlacement({
  db,
  events,
  extensions,
}: Pick<BidServiceDeps, 'db' | 'events' | 'extensions'>) {
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

  /**
   * A provider bids on an open order in a subcategory they offer: one statement. A refusal names the first
   * rule the request broke, in the order a reader would check them.
   */
  return async function placeBid(actor: Actor, orderId: string, input: CreateBidInput): Promise<BidView> {
    // Named one by one, not spread from one object into both: the spread was a measurable share of a bid's CPU
    // (bench/README.md, "Why the code is shaped as it is").
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
  };
}
