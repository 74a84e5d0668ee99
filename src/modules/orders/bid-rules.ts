import { ConflictError, NotFoundError } from '../../platform/errors.ts';
import { checkPriceRange, type PriceRange } from '../core/price-range.ts';
import type { BidStatus } from './schema.ts';

/** The amount within the category's price range, when the category is still offered. */
export function checkAmount(amount: number | undefined, range: PriceRange | null | undefined) {
  if (amount === undefined) return;
  if (!range) {
    throw new ConflictError('subcategory_unavailable', 'the order’s subcategory is no longer offered');
  }
  checkPriceRange(range, { amount }, { code: 'amount_out_of_range', what: 'amount' });
}

/** 409 naming the state the bid is in, e.g. `bid_is_withdrawn`. */
export const bidNotPending = (status: BidStatus) =>
  new ConflictError(`bid_is_${status}`, `the bid is ${status}; only a pending bid can change`);

/** Another accept of a bid on the same order committed first. */
export const assignedElsewhere = () =>
  new ConflictError('order_is_assigned', 'another bid on this order was accepted');

export const bidExists = () =>
  new ConflictError(
    'bid_already_exists',
    'you already have a live bid on this order; change it or withdraw it first',
  );

/** A bid whose order is gone is gone too. */
export const asBidNotFound = (error: unknown): never => {
  throw error instanceof NotFoundError ? new NotFoundError('bid') : error;
};
