import type { SQL } from 'drizzle-orm';
import type { Actor } from '../../platform/actor.ts';
import { extensionPoint, sqlGuardPoint } from '../../platform/extension-points.ts';

/** A bid accepted: the order is assigned to its provider at its amount, in the transaction still open. */
export interface BidAccepted {
  actor: Actor;
  orderId: string;
  bidId: string;
  clientUserId: string;
  providerUserId: string;
  providerProfileId: string;
  /** The order's price before addons: the bid's amount, in tyiyn. */
  amount: number;
  currency: string;
}

/** What a guard on bid creation may read: SQL expressions of the bid statement, each one value. */
export interface BidGuardColumns {
  orderId: SQL;
  subcategoryId: SQL;
  clientUserId: SQL;
  providerUserId: SQL;
  /** Null when the bidder has no provider profile (the statement refuses that before any guard). */
  providerProfileId: SQL;
  amount: SQL;
}

export type OrderExtensions = ReturnType<typeof createOrderExtensions>;

/** Where later modules add their work to orders' actions; made once per app and wired in app.ts. */
export function createOrderExtensions() {
  return {
    /** Runs in the accept transaction, after the order is assigned and the assignment made. */
    bidAccepted: extensionPoint<BidAccepted>('orders.bidAccepted'),
    /** Rules AND-ed into the single bid statement (bid-statement.ts), checked after the orders module's own. */
    bidCreation: sqlGuardPoint<BidGuardColumns>('orders.bidCreation'),
  };
}
