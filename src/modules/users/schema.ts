import { sql } from 'drizzle-orm';
import {
  boolean,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import type { Role } from '../../platform/actor.ts';
import { baseColumns, softDeleteColumns, softDeleteIndexes } from '../../platform/columns.ts';
import { encryptedColumn } from '../../platform/encrypted-columns.ts';
import { cascade } from '../../platform/soft-delete.ts';

export const USER_STATUSES = ['active', 'blocked', 'deactivated'] as const;

/**
 * The account: how a person signs in. Email and phone are stored encrypted, with a keyed hash
 * (blind index) to find an account by them; the profile data lives in profiles (users issue).
 */
export const users = pgTable(
  'users',
  {
    ...baseColumns(),
    emailEncrypted: text('email_encrypted'),
    emailHash: text('email_hash'),
    phoneEncrypted: text('phone_encrypted'),
    phoneHash: text('phone_hash'),
    passwordHash: text('password_hash'),
    fullName: text('full_name').notNull().default(''),
    roles: text('roles').array().$type<Role[]>().notNull().default(sql`'{client}'::text[]`),
    status: text('status', { enum: USER_STATUSES }).notNull().default('active'),
    emailVerifiedAt: timestamp('email_verified_at', { withTimezone: true }),
    phoneVerifiedAt: timestamp('phone_verified_at', { withTimezone: true }),
    lastLoginAt: timestamp('last_login_at', { withTimezone: true }),
    ...softDeleteColumns(),
  },
  (t) => [
    uniqueIndex('users_email_hash_live_uq')
      .on(t.emailHash)
      .where(sql`email_hash is not null and not is_deleted`),
    uniqueIndex('users_phone_hash_live_uq')
      .on(t.phoneHash)
      .where(sql`phone_hash is not null and not is_deleted`),
    ...softDeleteIndexes('users', t),
  ],
);

/** One signed-in device. Its refresh tokens form one family: reuse of a rotated one ends the session. */
export const userSessions = pgTable(
  'user_sessions',
  {
    ...baseColumns(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id),
    deviceName: text('device_name'),
    userAgent: text('user_agent'),
    ip: text('ip'),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    revokedReason: text('revoked_reason'),
  },
  (t) => [index('user_sessions_user_idx').on(t.userId, t.id)],
);

export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    ...baseColumns(),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => userSessions.id),
    tokenHash: text('token_hash').notNull(),
    /** Set when the token was exchanged for a new one; a second use is a theft signal. */
    rotatedAt: timestamp('rotated_at', { withTimezone: true }),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    uniqueIndex('refresh_tokens_hash_uq').on(t.tokenHash),
    index('refresh_tokens_session_idx').on(t.sessionId),
  ],
);

export const OTP_PURPOSES = ['login'] as const;

export const otpCodes = pgTable(
  'otp_codes',
  {
    ...baseColumns(),
    phoneHash: text('phone_hash').notNull(),
    codeHash: text('code_hash').notNull(),
    purpose: text('purpose', { enum: OTP_PURPOSES }).notNull().default('login'),
    attempts: integer('attempts').notNull().default(0),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    consumedAt: timestamp('consumed_at', { withTimezone: true }),
    ip: text('ip'),
  },
  (t) => [index('otp_codes_phone_idx').on(t.phoneHash, t.createdAt)],
);

/**
 * Wrong passwords per sign-in identifier, whatever address they come from: enough of them lock password
 * sign-in for a while. Keyed by the identifier's blind index (the email's or the phone's), not the account,
 * so an email that has no account builds up the same row and answers the same.
 */
export const signInThrottles = pgTable('sign_in_throttles', {
  ...baseColumns(),
  subject: text('subject').notNull().unique('sign_in_throttles_subject_uq'),
  /** Attempts that did not sign in since the last one that did; counted before the password is checked. */
  failures: integer('failures').notNull(),
  lastFailureAt: timestamp('last_failure_at', { withTimezone: true }).notNull(),
  lockedUntil: timestamp('locked_until', { withTimezone: true }),
});

export const USER_TYPES = ['client', 'service_provider', 'both'] as const;
export const GENDERS = ['male', 'female', 'other', 'prefer_not_to_say'] as const;
export const PROFILE_VERIFICATION_STATUSES = ['unverified', 'pending', 'verified'] as const;
export const PROVIDER_PRICE_TYPES = ['fixed', 'hourly', 'negotiable'] as const;
export const VERIFICATION_TYPES = ['phone', 'email', 'identity', 'business', 'background_check'] as const;
export const VERIFICATION_STATUSES = ['pending', 'approved', 'rejected'] as const;
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

export type Weekday = (typeof WEEKDAYS)[number];
/** Per weekday, the time ranges ("09:00"-"13:00") the provider works. */
export type WeeklyAvailability = Partial<Record<Weekday, { from: string; to: string }[]>>;

const live = sql`not is_deleted`;
/** Providers the directory may list: live and taking work. */
const listed = sql`not is_deleted and is_available`;

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });

/**
 * The marketplace side of a person (the seed's UserProfile). Contact details and address are personal
 * data and stored encrypted.
 */
export const userProfiles = pgTable(
  'user_profiles',
  {
    ...baseColumns(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id),
    userType: text('user_type', { enum: USER_TYPES }),
    bio: text('bio'),
    gender: text('gender', { enum: GENDERS }),
    photoFileId: uuid('photo_file_id'),
    /** A `languages.code`: the app's language for this user. */
    preferredLanguage: text('preferred_language'),
    notificationLanguage: text('notification_language'),
    contactInfoEncrypted: text('contact_info_encrypted'),
    addressEncrypted: text('address_encrypted'),
    serviceAreaId: uuid('service_area_id'),
    preferences: jsonb('preferences').$type<Record<string, unknown>>().notNull().default({}),
    verificationStatus: text('verification_status', { enum: PROFILE_VERIFICATION_STATUSES })
      .notNull()
      .default('unverified'),
    ...softDeleteColumns(),
  },
  (t) => [
    uniqueIndex('user_profiles_user_live_uq').on(t.userId).where(live),
    ...softDeleteIndexes('user_profiles', t),
  ],
);

export const clientProfiles = pgTable(
  'client_profiles',
  {
    ...baseColumns(),
    userProfileId: uuid('user_profile_id')
      .notNull()
      .references(() => userProfiles.id),
    preferences: jsonb('preferences').$type<Record<string, unknown>>().notNull().default({}),
    /** Kept by the orders module through the users service. */
    ordersTotal: integer('orders_total').notNull().default(0),
    ordersCompleted: integer('orders_completed').notNull().default(0),
    ordersCancelled: integer('orders_cancelled').notNull().default(0),
    ratingSum: integer('rating_sum').notNull().default(0),
    reviewCount: integer('review_count').notNull().default(0),
    ...softDeleteColumns(),
  },
  (t) => [
    uniqueIndex('client_profiles_profile_live_uq').on(t.userProfileId).where(live),
    ...softDeleteIndexes('client_profiles', t),
  ],
);

export const providerProfiles = pgTable(
  'provider_profiles',
  {
    ...baseColumns(),
    userProfileId: uuid('user_profile_id')
      .notNull()
      .references(() => userProfiles.id),
    businessName: text('business_name').notNull(),
    experienceYears: integer('experience_years').notNull().default(0),
    description: text('description'),
    /** `service_areas` ids from the catalog. */
    serviceAreaIds: uuid('service_area_ids').array().notNull().default(sql`'{}'::uuid[]`),
    travelRadiusKm: integer('travel_radius_km'),
    availability: jsonb('availability').$type<WeeklyAvailability>().notNull().default({}),
    /** Weekdays with any availability, for the directory's "available on" filter. */
    availableWeekdays: text('available_weekdays')
      .array()
      .$type<Weekday[]>()
      .notNull()
      .default(sql`'{}'::text[]`),
    isAvailable: boolean('is_available').notNull().default(true),
    isVerified: boolean('is_verified').notNull().default(false),
    ratingSum: integer('rating_sum').notNull().default(0),
    reviewCount: integer('review_count').notNull().default(0),
    /** Average rating ×100 (0 to 500), kept with the sum and count so the directory can sort on it. */
    ratingAvgX100: integer('rating_avg_x100').notNull().default(0),
    ordersCompleted: integer('orders_completed').notNull().default(0),
    /**
     * The subcategories of the live, active services, kept with the services, so the directory filters by
     * category on the provider row rather than looking up services for every candidate.
     */
    offeredSubcategoryIds: uuid('offered_subcategory_ids').array().notNull().default(sql`'{}'::uuid[]`),
    /** Business name, description and the services' descriptions: what the directory's text search reads. */
    searchText: text('search_text').notNull().default(''),
    /**
     * The search text's lexemes, stored so that matching and ranking do not parse the text on every search;
     * kept in the row while the text goes out of line (column storage, set in migration 0006).
     */
    searchVector: tsvector('search_vector')
      .notNull()
      .generatedAlwaysAs(sql`to_tsvector('simple', search_text)`),
    ...softDeleteColumns(),
  },
  (t) => [
    uniqueIndex('provider_profiles_profile_live_uq').on(t.userProfileId).where(live),
    index('provider_profiles_areas_gin').using('gin', t.serviceAreaIds),
    index('provider_profiles_search_vector_gin').using('gin', t.searchVector),
    // The directory walks one of these in its order (best rated, or newest) and checks category and area
    // on the index entries: only the entries that pass send it to the row, about a tenth of those walked.
    index('provider_profiles_walk_rating_idx')
      .on(t.ratingAvgX100, t.id, t.offeredSubcategoryIds, t.serviceAreaIds)
      .where(listed),
    index('provider_profiles_walk_newest_idx')
      .on(t.id, t.offeredSubcategoryIds, t.serviceAreaIds)
      .where(listed),
    ...softDeleteIndexes('provider_profiles', t),
  ],
);

export const providerServices = pgTable(
  'provider_services',
  {
    ...baseColumns(),
    providerProfileId: uuid('provider_profile_id')
      .notNull()
      .references(() => providerProfiles.id),
    subcategoryId: uuid('subcategory_id').notNull(),
    description: text('description'),
    basePrice: integer('base_price').notNull(),
    currency: text('currency').notNull().default('KGS'),
    priceType: text('price_type', { enum: PROVIDER_PRICE_TYPES }).notNull().default('fixed'),
    availability: jsonb('availability').$type<WeeklyAvailability>(),
    isActive: boolean('is_active').notNull().default(true),
    ...softDeleteColumns(),
  },
  (t) => [
    uniqueIndex('provider_services_subcategory_live_uq').on(t.providerProfileId, t.subcategoryId).where(live),
    index('provider_services_subcategory_idx').on(t.subcategoryId, t.basePrice).where(live),
    // A directory card's lowest price, read from the index alone for each provider on the page.
    index('provider_services_offered_price_idx')
      .on(t.providerProfileId, t.subcategoryId, t.basePrice)
      .where(sql`not is_deleted and is_active`),
    ...softDeleteIndexes('provider_services', t),
  ],
);

export const favoriteProviders = pgTable(
  'favorite_providers',
  {
    ...baseColumns(),
    clientProfileId: uuid('client_profile_id')
      .notNull()
      .references(() => clientProfiles.id),
    providerProfileId: uuid('provider_profile_id')
      .notNull()
      .references(() => providerProfiles.id),
  },
  (t) => [uniqueIndex('favorite_providers_pair_uq').on(t.clientProfileId, t.providerProfileId)],
);

export const userVerifications = pgTable(
  'user_verifications',
  {
    ...baseColumns(),
    userProfileId: uuid('user_profile_id')
      .notNull()
      .references(() => userProfiles.id),
    verificationType: text('verification_type', { enum: VERIFICATION_TYPES }).notNull(),
    status: text('status', { enum: VERIFICATION_STATUSES }).notNull().default('pending'),
    /** `files` ids of the evidence. */
    evidenceFileIds: uuid('evidence_file_ids').array().notNull().default(sql`'{}'::uuid[]`),
    userNote: text('user_note'),
    /** Shown to the user with the decision. */
    publicNote: text('public_note'),
    /** Staff only; never in a user's answer or export. */
    adminNotes: text('admin_notes'),
    reviewedBy: uuid('reviewed_by'),
    reviewedAt: timestamp('reviewed_at', { withTimezone: true }),
    ...softDeleteColumns(),
  },
  (t) => [
    index('user_verifications_profile_idx').on(t.userProfileId, t.id),
    index('user_verifications_status_idx').on(t.status, t.id).where(live),
    uniqueIndex('user_verifications_pending_uq')
      .on(t.userProfileId, t.verificationType)
      .where(sql`status = 'pending' and not is_deleted`),
    ...softDeleteIndexes('user_verifications', t),
  ],
);

/** What a profile's delete takes with it, handed to the platform in app.ts. */
export const userCascades = [
  cascade(userProfiles, clientProfiles, clientProfiles.userProfileId),
  cascade(userProfiles, providerProfiles, providerProfiles.userProfileId),
  cascade(userProfiles, userVerifications, userVerifications.userProfileId),
  cascade(providerProfiles, providerServices, providerServices.providerProfileId),
];

/** The module's encrypted columns, handed to the platform in app.ts: key rotation re-encrypts each. */
export const userEncryptedColumns = [
  encryptedColumn(users, 'emailEncrypted'),
  encryptedColumn(users, 'phoneEncrypted'),
  encryptedColumn(userProfiles, 'contactInfoEncrypted'),
  encryptedColumn(userProfiles, 'addressEncrypted'),
];
