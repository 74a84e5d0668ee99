import { RuleViolationError } from '../../platform/errors.ts';

/** The prices, in tyiyn, an order's budget, a bid's amount and a provider's service keep in a category. */
export interface PriceRange {
  minPrice: number;
  maxPrice: number;
}

/** A category's own range, with the settings' ends where it sets none (as `subcategoryPriceRange` in SQL). */
export const priceRangeOf = (
  category: { minPrice: number | null; maxPrice: number | null },
  defaults: PriceRange,
): PriceRange => ({
  minPrice: category.minPrice ?? defaults.minPrice,
  maxPrice: category.maxPrice ?? defaults.maxPrice,
});

/**
 * Refuses, as 422 `code` naming each body field at fault, the prices (body field to tyiyn) outside the
 * range; a price left out or null is not checked.
 */
export function checkPriceRange(
  range: PriceRange,
  prices: Record<string, number | null | undefined>,
  refusal: { code: string; what: string },
) {
  const { minPrice, maxPrice } = range;
  const errors = Object.entries(prices)
    .filter(([, price]) => price !== null && price !== undefined && (price < minPrice || price > maxPrice))
    .map(([field]) => ({ in: 'body', field, message: `must be ${minPrice} to ${maxPrice}` }));
  if (errors.length > 0) {
    throw new RuleViolationError(
      refusal.code,
      `the ${refusal.what} must be between ${minPrice} and ${maxPrice} tyiyn in this category`,
      errors,
    );
  }
}
