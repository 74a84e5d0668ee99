import type { FieldCipher } from '../../platform/crypto.ts';
import type { ClientProfileView, ProviderProfileView, ServiceView } from './profile-contract.ts';
import type { ClientProfileRow, ProviderProfileRow, ServiceRow } from './profile-queries.ts';

/** A JSON value kept encrypted (the contact info). */
export const decryptJson = <T>(cipher: Pick<FieldCipher, 'decrypt'>, value: string | null) =>
  value === null ? null : (JSON.parse(cipher.decrypt(value)) as T);

/** The average rating shown, to two decimals; null while there is none. */
export const ratingAverage = (sum: number, count: number) =>
  count === 0 ? null : Math.round((sum / count) * 100) / 100;

export const clientView = (c: ClientProfileRow): ClientProfileView => ({
  id: c.id,
  preferences: c.preferences,
  orders_total: c.ordersTotal,
  orders_completed: c.ordersCompleted,
  orders_cancelled: c.ordersCancelled,
  rating_avg: ratingAverage(c.ratingSum, c.reviewCount),
  review_count: c.reviewCount,
  created_at: c.createdAt.toISOString(),
  updated_at: c.updatedAt.toISOString(),
});

export const providerView = (p: ProviderProfileRow): ProviderProfileView => ({
  id: p.id,
  business_name: p.businessName,
  experience_years: p.experienceYears,
  description: p.description,
  service_area_ids: p.serviceAreaIds,
  travel_radius_km: p.travelRadiusKm,
  availability: p.availability,
  is_available: p.isAvailable,
  is_verified: p.isVerified,
  rating_avg: ratingAverage(p.ratingSum, p.reviewCount),
  review_count: p.reviewCount,
  orders_completed: p.ordersCompleted,
  created_at: p.createdAt.toISOString(),
  updated_at: p.updatedAt.toISOString(),
});

/** A service as anyone sees it on the provider's public profile. */
export const publicServiceView = (s: ServiceRow) => ({
  id: s.id,
  subcategory_id: s.subcategoryId,
  description: s.description,
  base_price: s.basePrice,
  currency: s.currency,
  price_type: s.priceType,
});

export const serviceView = (s: ServiceRow): ServiceView => ({
  ...publicServiceView(s),
  availability: s.availability,
  is_active: s.isActive,
  created_at: s.createdAt.toISOString(),
  updated_at: s.updatedAt.toISOString(),
});
