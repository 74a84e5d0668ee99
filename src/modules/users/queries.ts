import { type SQL, sql } from 'drizzle-orm';
import { providerProfiles, providerServices, userProfiles, users } from './schema.ts';

/*
 * The users module's published read models (ARCHITECTURE.md, "Read models"): what another module may read
 * of this module's tables in its own SQL, so that a single statement (the bid, the feed, the order detail)
 * stays one round trip. Each is a query or a value the caller embeds; its columns are a contract, held by
 * read-models.test.ts beside this file. The tables behind them stay private: change them freely, keep
 * these answering the same columns.
 */

/** A row of `providerOffering`. */
export interface ProviderOffering {
  provider_profile_id: string;
  offers: boolean;
}

/**
 * The user's live provider profile and whether it offers the subcategory: one row of `provider_profile_id`
 * and `offers` (an active, live service in the subcategory), none when the user is not a provider. For the
 * bid statement, which checks and writes in one round trip.
 */
export const providerOffering = (userId: SQL, subcategoryId: SQL) =>
  sql`select ${providerProfiles.id} as provider_profile_id,
      exists (select from ${providerServices}
              where ${providerServices.providerProfileId} = ${providerProfiles.id}
                and ${providerServices.subcategoryId} = ${subcategoryId}
                and not ${providerServices.isDeleted} and ${providerServices.isActive}) as offers
    from ${providerProfiles}
    join ${userProfiles} on ${userProfiles.id} = ${providerProfiles.userProfileId}
    where ${userProfiles.userId} = ${userId}
      and not ${userProfiles.isDeleted} and not ${providerProfiles.isDeleted}`;

/** A row of `providerReach`. */
export interface ProviderReach {
  id: string;
  offered_subcategory_ids: string[];
  /** Empty: everywhere. */
  service_area_ids: string[];
}

/**
 * What the user offers as a provider and where: one row of `id` (the live provider profile),
 * `offered_subcategory_ids` (of its active services) and `service_area_ids`, none when the user is not a
 * provider. For the orders feed's one statement.
 */
export const providerReach = (userId: SQL) =>
  sql`select p.id, p.offered_subcategory_ids, p.service_area_ids
    from ${providerProfiles} p join ${userProfiles} up on up.id = p.user_profile_id
    where up.user_id = ${userId} and not up.is_deleted and not p.is_deleted`;

/** The value of `sealedContactCard`: the personal fields still encrypted. */
export interface SealedContactCard {
  full_name: string;
  /** Encrypted. */
  phone: string | null;
  /** Encrypted. */
  email: string | null;
  /** Encrypted JSON. */
  contact_info: string | null;
}

/**
 * How to reach the user whose id `userId` gives, as one JSON value (null for no such user), still
 * encrypted: `full_name`, `phone`, `email`, `contact_info`. Another module's read carries it (the order
 * detail does, so an agreed order is one round trip), and the profile service's `openContactCard` decrypts
 * what the caller may show.
 */
export const sealedContactCard = (userId: SQL) => sql<SealedContactCard | null>`(
  select json_build_object('full_name', cu.full_name, 'phone', cu.phone_encrypted, 'email', cu.email_encrypted,
           'contact_info', (select cp.contact_info_encrypted from ${userProfiles} cp
                            where cp.user_id = cu.id and not cp.is_deleted))
  from ${users} cu where cu.id = ${userId})`;

/** A row of `notificationAddress`: the address fields still encrypted. */
export interface NotificationAddress {
  full_name: string;
  /** Active and not deleted: someone to tell. */
  live: boolean;
  /** A `languages.code`: the notification language, else the app's; null for neither. */
  language: string | null;
  /** As the profile gives it, for the grammar of messages about the person; null without one. */
  gender: string | null;
  /** Encrypted. */
  email: string | null;
  /** Encrypted. */
  phone: string | null;
}

/**
 * Whom a notification reaches and how: one row of `full_name`, `live`, `language`, `gender`, `email` and `phone`
 * (the last two encrypted), none for no such user. For the notifications module.
 */
export const notificationAddress = (userId: SQL) =>
  sql`select u.full_name, (u.status = 'active' and not u.is_deleted) as live,
      coalesce(p.notification_language, p.preferred_language) as language, p.gender,
      u.email_encrypted as email, u.phone_encrypted as phone
    from ${users} u left join ${userProfiles} p on p.user_id = u.id and not p.is_deleted
    where u.id = ${userId}`;

/**
 * The account behind a provider profile in the directory (live, available, its account active): one row of
 * `user_id`, none otherwise. For the chat module, which opens a direct chat from a public profile.
 */
export const providerAccount = (providerProfileId: SQL) =>
  sql`select up.user_id from ${providerProfiles} p join ${userProfiles} up on up.id = p.user_profile_id
    join ${users} u on u.id = up.user_id
    where p.id = ${providerProfileId} and not p.is_deleted and p.is_available and not up.is_deleted
      and u.status = 'active' and not u.is_deleted`;
