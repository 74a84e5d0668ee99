/** How an add-on is priced: the catalog's, and copied onto each order's add-ons at order time. */
export const ADDON_PRICE_TYPES = ['fixed', 'percentage', 'per_unit', 'per_hour'] as const;
export type AddonPriceType = (typeof ADDON_PRICE_TYPES)[number];
