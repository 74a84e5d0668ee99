import { type Actor, systemActor } from '../../platform/actor.ts';
import type { Db } from '../../platform/db.ts';
import { ConflictError } from '../../platform/errors.ts';
import { subscribe } from '../../platform/events.ts';
import type { AccountEvent, AccountEventType } from '../users/events.ts';
import type { AccountErasure } from '../users/extensions.ts';
import { WORK_IN_PROGRESS } from './lifecycle.ts';
import { lockOrdersOfPerson, pendingBidsOf, unfinishedWorkOf } from './order-queries.ts';
import type { OrderStatus } from './schema.ts';
import type { Settling } from './settling.ts';

/** What a closed, erased or blocked account leaves: orders still looking for a provider. */
const OPEN_TO_CANCEL: readonly OrderStatus[] = ['draft', 'published', 'bidding'];

/** The account events that settle what the person left open here. */
const SETTLING_EVENTS = [
  'account_closed',
  'account_erased',
  'account_blocked',
] as const satisfies readonly AccountEventType[];

export type AccountSettlement = ReturnType<typeof createAccountSettlement>;

/**
 * The orders module's side of an account leaving the marketplace (DECISIONS.md, "People and their data"):
 * closing, erasing and blocking cancel the person's open orders, with the account event's type as the
 * reason, and withdraw their pending bids, through the same code as the parties' own requests
 * (settling.ts). Agreed work goes on. Nothing is reopened when the account comes back.
 */
export function createAccountSettlement({ db, settling }: { db: Db; settling: Settling }) {
  return {
    /**
     * Cancels the person's open orders (their bidders told) and withdraws their pending bids (each order's
     * client told). Orders are locked in id order before their bids, as accept and withdraw lock them, so
     * this never waits on them in a circle; an order accepted meanwhile is agreed work and stays.
     */
    async settle(actor: Actor, userId: string, reason: AccountEventType) {
      // Every order this touches, locked in one statement in id order: two settlements at once (a client's
      // and a bidder's on their order) take them in the same order.
      const locked = await lockOrdersOfPerson(db, userId, OPEN_TO_CANCEL);
      for (const order of locked) {
        if (order.clientUserId === userId && OPEN_TO_CANCEL.includes(order.status)) {
          await settling.cancelOrder(db, actor, order, { from: OPEN_TO_CANCEL, reason });
        }
      }
      await settling.withdrawBids(db, actor, await pendingBidsOf(db, userId));
    },

    /**
     * The guard at the users module's `accountErasure`: agreed work not finished, on either side, refuses
     * the erasure (409 `work_in_progress`). It runs with the account's row locked, and accept share-locks
     * both parties' rows, so an accept committed first is seen here and one still to come is refused.
     */
    async refuseErasureOverWork({ userId }: AccountErasure) {
      const work = await unfinishedWorkOf(db, userId, WORK_IN_PROGRESS);
      if (work) {
        throw new ConflictError(
          'work_in_progress',
          'you have agreed work that is not finished (assigned, in progress or disputed); finish or cancel it before erasing your data',
        );
      }
    },
  };
}

/**
 * The orders module's subscription to the account events, wired in app.ts. A closing or an erasure is the
 * person's own act, so the audit trail and the order's history name them; a block is staff's, and the
 * system carries it out.
 */
export const accountSubscription = (settlement: AccountSettlement) =>
  subscribe<AccountEvent>({
    module: 'orders',
    types: SETTLING_EVENTS,
    async handle(event) {
      const actor: Actor =
        event.type === 'account_blocked'
          ? systemActor()
          : { userId: event.user_id, sessionId: null, roles: [], requestId: null };
      await settlement.settle(actor, event.user_id, event.type);
    },
  });
