import { ConflictError, NotFoundError, RuleViolationError } from '../../platform/errors.ts';
import type { BidStatus } from './schema.ts';

/** The amount within the category's price range, when the category is still offered. */
export function checkAmount(
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

/** 409 naming the state the bid is in, e.g. `bid_is_withdrawn`. */
export const bidNotPending = (status: BidStatus) =>
  new ConflictError(`bid_is_${status}`, `the bid is ${status}; only a pending bid can change`);

export const bidExists = () =>
  new ConflictError(
    'bid_already_exists',
    'you already have a live bid on this order; change it or withdraw it first',
  );

/** A bid whose order is gone is gone too. */
export const asBidNotFound = (error: unknown): never => {
  throw error instanceof NotFoundError ? new NotFoundError('bid') : error;
};
