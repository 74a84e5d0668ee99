import { type Static, Type } from 'typebox';
import { Nullable } from '../../platform/http.ts';
import { ListQuery, Page, Sort } from '../../platform/pagination.ts';
import { Component, DateTime, Money, Ref, Uuid } from '../../platform/schemas.ts';
import { HttpUrl, JsonObject, Text } from '../../platform/validation.ts';
import { Email, FullName, Phone } from './contract.ts';
import {
  GENDERS,
  PROFILE_VERIFICATION_STATUSES,
  PROVIDER_PRICE_TYPES,
  USER_TYPES,
  WEEKDAYS,
} from './schema.ts';

const LanguageCode = Type.String({ pattern: '^[a-z]{2,3}$', description: 'A language code from /languages' });
const Preferences = JsonObject({ maxProperties: 50, description: 'Free-form app settings' });

export const Weekday = Type.Enum(WEEKDAYS);
const Clock = Type.String({
  pattern: '^([01]\\d|2[0-3]):[0-5]\\d$|^24:00$',
  description: 'HH:MM, Asia/Bishkek',
});
export const TimeRange = Component(
  'TimeRange',
  Type.Object({ from: Clock, to: Clock }, { additionalProperties: false }),
);
/** Working hours per weekday: up to six ranges a day, each `from` before `to`, not overlapping. */
const Day = Type.Optional(Type.Array(Ref(TimeRange), { maxItems: 6 }));
/** Working hours per weekday: up to six ranges a day, each `from` before `to`, not overlapping. */
export const WeeklyAvailability = Component(
  'WeeklyAvailability',
  Type.Object(
    { mon: Day, tue: Day, wed: Day, thu: Day, fri: Day, sat: Day, sun: Day },
    { additionalProperties: false },
  ),
);

export const ContactInfo = Component(
  'ContactInfo',
  Type.Object(
    {
      phone: Type.Optional(Phone),
      email: Type.Optional(Email),
      telegram: Type.Optional(Text({ maxLength: 64 })),
      whatsapp: Type.Optional(Phone),
      website: Type.Optional(HttpUrl({ maxLength: 300 })),
    },
    {
      additionalProperties: false,
      description: 'Stored encrypted; shown only to the owner (and later to an assigned party)',
    },
  ),
);
export type ContactInfoValue = Static<typeof ContactInfo>;

export const UpdateProfileBody = Component(
  'UpdateProfileBody',
  Type.Object(
    {
      full_name: Type.Optional(FullName),
      bio: Type.Optional(Nullable(Text({ maxLength: 2000 }))),
      gender: Type.Optional(Nullable(Type.Enum(GENDERS))),
      photo_file_id: Type.Optional(Nullable(Uuid)),
      preferred_language: Type.Optional(Nullable(LanguageCode)),
      notification_language: Type.Optional(Nullable(LanguageCode)),
      contact_info: Type.Optional(Nullable(Ref(ContactInfo))),
      address: Type.Optional(Nullable(Text({ maxLength: 500 }))),
      service_area_id: Type.Optional(Nullable(Uuid)),
      preferences: Type.Optional(Preferences),
    },
    { additionalProperties: false, minProperties: 1 },
  ),
);
export type UpdateProfileInput = Static<typeof UpdateProfileBody>;

export const ProfileResponse = Component(
  'Profile',
  Type.Object({
    user_id: Uuid,
    full_name: Type.String(),
    user_type: Nullable(Type.Enum(USER_TYPES)),
    bio: Nullable(Type.String()),
    gender: Nullable(Type.Enum(GENDERS)),
    photo_file_id: Nullable(Uuid),
    preferred_language: Nullable(Type.String()),
    notification_language: Nullable(Type.String()),
    contact_info: Nullable(Ref(ContactInfo)),
    address: Nullable(Type.String()),
    service_area_id: Nullable(Uuid),
    preferences: Preferences,
    verification_status: Type.Enum(PROFILE_VERIFICATION_STATUSES),
    has_client_profile: Type.Boolean(),
    has_provider_profile: Type.Boolean(),
    created_at: DateTime,
    updated_at: DateTime,
  }),
);
export type ProfileView = Static<typeof ProfileResponse>;

export const ClientProfileBody = Component(
  'ClientProfileBody',
  Type.Object({ preferences: Type.Optional(Preferences) }, { additionalProperties: false }),
);

export const UpdateClientProfileBody = Component(
  'UpdateClientProfileBody',
  Type.Object(ClientProfileBody.properties, { additionalProperties: false, minProperties: 1 }),
);

export const ClientProfileResponse = Component(
  'ClientProfile',
  Type.Object({
    id: Uuid,
    preferences: Preferences,
    orders_total: Type.Integer(),
    orders_completed: Type.Integer(),
    orders_cancelled: Type.Integer(),
    rating_avg: Nullable(
      Type.Number({ description: 'Average of providers’ ratings of this client, 1 to 5' }),
    ),
    review_count: Type.Integer(),
    created_at: DateTime,
    updated_at: DateTime,
  }),
);
export type ClientProfileView = Static<typeof ClientProfileResponse>;

const providerFields = {
  business_name: Text({ minLength: 2, maxLength: 150 }),
  experience_years: Type.Integer({ minimum: 0, maximum: 80 }),
  description: Nullable(Text({ maxLength: 5000 })),
  service_area_ids: Type.Array(Uuid, {
    maxItems: 50,
    uniqueItems: true,
    description: 'Ids from /service-areas',
  }),
  travel_radius_km: Nullable(Type.Integer({ minimum: 0, maximum: 1000 })),
  availability: Ref(WeeklyAvailability),
  is_available: Type.Boolean({ description: 'False hides the provider from the directory' }),
};

export const CreateProviderProfileBody = Component(
  'CreateProviderProfileBody',
  Type.Object(
    {
      business_name: providerFields.business_name,
      experience_years: Type.Optional(providerFields.experience_years),
      description: Type.Optional(providerFields.description),
      service_area_ids: Type.Optional(providerFields.service_area_ids),
      travel_radius_km: Type.Optional(providerFields.travel_radius_km),
      availability: Type.Optional(providerFields.availability),
    },
    { additionalProperties: false },
  ),
);
export type CreateProviderProfileInput = Static<typeof CreateProviderProfileBody>;

export const UpdateProviderProfileBody = Component(
  'UpdateProviderProfileBody',
  Type.Partial(Type.Object(providerFields), {
    additionalProperties: false,
    minProperties: 1,
  }),
);
export type UpdateProviderProfileInput = Static<typeof UpdateProviderProfileBody>;

export const ProviderProfileResponse = Component(
  'ProviderProfile',
  Type.Object({
    id: Uuid,
    ...providerFields,
    is_verified: Type.Boolean(),
    rating_avg: Nullable(Type.Number()),
    review_count: Type.Integer(),
    orders_completed: Type.Integer(),
    created_at: DateTime,
    updated_at: DateTime,
  }),
);
export type ProviderProfileView = Static<typeof ProviderProfileResponse>;

const serviceFields = {
  description: Nullable(Text({ maxLength: 2000 })),
  base_price: Money,
  price_type: Type.Enum(PROVIDER_PRICE_TYPES),
  availability: Nullable(Ref(WeeklyAvailability)),
  is_active: Type.Boolean(),
};

export const CreateServiceBody = Component(
  'CreateServiceBody',
  Type.Object(
    {
      subcategory_id: Uuid,
      base_price: serviceFields.base_price,
      description: Type.Optional(serviceFields.description),
      price_type: Type.Optional(serviceFields.price_type),
      availability: Type.Optional(serviceFields.availability),
    },
    { additionalProperties: false },
  ),
);
export type CreateServiceInput = Static<typeof CreateServiceBody>;

export const UpdateServiceBody = Component(
  'UpdateServiceBody',
  Type.Partial(Type.Object(serviceFields), {
    additionalProperties: false,
    minProperties: 1,
  }),
);
export type UpdateServiceInput = Static<typeof UpdateServiceBody>;

export const ServiceResponse = Component(
  'ProviderService',
  Type.Object({
    id: Uuid,
    subcategory_id: Uuid,
    ...serviceFields,
    currency: Type.String(),
    created_at: DateTime,
    updated_at: DateTime,
  }),
);
export type ServiceView = Static<typeof ServiceResponse>;
export const ServicePage = Page('ProviderServicePage', ServiceResponse);

/** What anyone may see of a provider: never phone, email, address or contact details. */
export const ProviderCardResponse = Component(
  'ProviderCard',
  Type.Object({
    id: Uuid,
    display_name: Type.String(),
    business_name: Type.String(),
    description: Nullable(Type.String()),
    experience_years: Type.Integer(),
    photo_file_id: Nullable(Uuid),
    is_verified: Type.Boolean(),
    rating_avg: Nullable(Type.Number()),
    review_count: Type.Integer(),
    orders_completed: Type.Integer(),
    service_area_ids: Type.Array(Uuid),
    min_price: Nullable(Money),
    member_since: DateTime,
  }),
);
export type ProviderCardView = Static<typeof ProviderCardResponse>;
export const ProviderCardPage = Page('ProviderCardPage', ProviderCardResponse);

/** One of a provider's services as anyone sees it. */
const PublicService = Component(
  'PublicService',
  Type.Object({
    id: Uuid,
    subcategory_id: Uuid,
    description: Nullable(Type.String()),
    base_price: Money,
    currency: Type.String(),
    price_type: Type.Enum(PROVIDER_PRICE_TYPES),
  }),
);

export const ProviderPublicResponse = Component(
  'ProviderPublic',
  Type.Object({
    ...ProviderCardResponse.properties,
    travel_radius_km: Nullable(Type.Integer()),
    availability: Ref(WeeklyAvailability),
    services: Type.Array(Ref(PublicService)),
  }),
);
export type ProviderPublicView = Static<typeof ProviderPublicResponse>;

export const DIRECTORY_SORTS = ['relevance', 'rating', 'price', 'newest'] as const;

export const DirectoryQuery = ListQuery({
  q: Type.Optional(
    Type.String({ minLength: 1, maxLength: 100, description: 'Words in any order; typos tolerated' }),
  ),
  category_id: Type.Optional(Uuid),
  subcategory_id: Type.Optional(Uuid),
  area_id: Type.Optional(Uuid),
  min_rating: Type.Optional(Type.Number({ minimum: 0, maximum: 5 })),
  verified: Type.Optional(Type.Boolean({ description: 'Only providers with a verified identity' })),
  price_min: Type.Optional(Money),
  price_max: Type.Optional(Money),
  available_on: Type.Optional(Weekday),
  sort: Sort(DIRECTORY_SORTS, {
    default: 'newest',
    description:
      '`relevance` needs `q` (without it the list is newest first): providers matching every word as typed come first, then those found through close words (typos, other forms of a word); the best rated first in each',
  }),
});
export type DirectoryFilter = Static<typeof DirectoryQuery>;

export const FavoriteResponse = Component(
  'Favorite',
  Type.Object({ provider: Ref(ProviderCardResponse), added_at: DateTime }),
);
export const FavoritePage = Page('FavoritePage', FavoriteResponse);
