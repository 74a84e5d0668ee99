import { and, desc, eq, inArray, isNotNull, type SQL, sql } from 'drizzle-orm';
import { type Db, prepareSql } from '../../platform/db.ts';
import type { IdPage } from '../../platform/pagination.ts';
import { PROVIDER_VISIBLE } from './directory-queries.ts';
import { providerReach, sealedContactCard } from './queries.ts';
import {
  clientProfiles,
  favoriteProviders,
  providerProfiles,
  providerServices,
  userProfiles,
  users,
} from './schema.ts';

/*
 * The profile services' statements on user, client and provider profiles, provider services and favorites.
 * What other modules may read of these tables in their own SQL is in queries.ts.
 */

type PageParts = Pick<IdPage, 'where' | 'orderBy' | 'limit'>;
export type UserProfileRow = typeof userProfiles.$inferSelect;
export type ClientProfileRow = typeof clientProfiles.$inferSelect;
export type ProviderProfileRow = typeof providerProfiles.$inferSelect;
export type ServiceRow = typeof providerServices.$inferSelect;

const liveProfileOfUser = (userId: string) =>
  and(eq(userProfiles.userId, userId), eq(userProfiles.isDeleted, false));

export async function liveProfile(tx: Db, userId: string) {
  const [profile] = await tx.select().from(userProfiles).where(liveProfileOfUser(userId)).limit(1);
  return profile;
}

export async function liveProfileId(tx: Db, userId: string) {
  const [profile] = await tx
    .select({ id: userProfiles.id })
    .from(userProfiles)
    .where(liveProfileOfUser(userId));
  return profile?.id;
}

/** The user's profile, unless a live one exists already (the partial unique index decides). */
export async function insertProfileUnlessLive(tx: Db, userId: string) {
  const [created] = await tx
    .insert(userProfiles)
    .values({ userId })
    .onConflictDoNothing({ target: userProfiles.userId, where: sql`not is_deleted` })
    .returning();
  return created;
}

export async function updateProfile(tx: Db, id: string, changes: Partial<typeof userProfiles.$inferInsert>) {
  const [after] = await tx.update(userProfiles).set(changes).where(eq(userProfiles.id, id)).returning();
  return after as UserProfileRow;
}

export async function fullNameOf(tx: Db, userId: string) {
  const [user] = await tx.select({ fullName: users.fullName }).from(users).where(eq(users.id, userId));
  return user?.fullName;
}

export async function liveClientProfile(tx: Db, profileId: string) {
  const [row] = await tx
    .select()
    .from(clientProfiles)
    .where(and(eq(clientProfiles.userProfileId, profileId), eq(clientProfiles.isDeleted, false)));
  return row;
}

export async function insertClientProfile(tx: Db, values: typeof clientProfiles.$inferInsert) {
  const [created] = await tx.insert(clientProfiles).values(values).returning();
  return created as ClientProfileRow;
}

/** The client profile, unless a live one exists already (the partial unique index decides). */
export async function insertClientProfileUnlessLive(tx: Db, profileId: string) {
  const [created] = await tx
    .insert(clientProfiles)
    .values({ userProfileId: profileId })
    .onConflictDoNothing({ target: clientProfiles.userProfileId, where: sql`not is_deleted` })
    .returning();
  return created;
}

export async function updateClientProfile(
  tx: Db,
  id: string,
  changes: Partial<typeof clientProfiles.$inferInsert>,
) {
  const [after] = await tx.update(clientProfiles).set(changes).where(eq(clientProfiles.id, id)).returning();
  return after as ClientProfileRow;
}

/** Adds to the order counters of the user's live client profile (nothing when there is none). */
export async function addToClientCounters(
  tx: Db,
  profileId: string,
  delta: { total?: number; completed?: number; cancelled?: number },
) {
  await tx
    .update(clientProfiles)
    .set({
      ordersTotal: sql`${clientProfiles.ordersTotal} + ${delta.total ?? 0}`,
      ordersCompleted: sql`${clientProfiles.ordersCompleted} + ${delta.completed ?? 0}`,
      ordersCancelled: sql`${clientProfiles.ordersCancelled} + ${delta.cancelled ?? 0}`,
    })
    .where(and(eq(clientProfiles.userProfileId, profileId), eq(clientProfiles.isDeleted, false)));
}

export async function addClientReview(tx: Db, clientProfileId: string, rating: number, sign: 1 | -1) {
  await tx
    .update(clientProfiles)
    .set({
      ratingSum: sql`${clientProfiles.ratingSum} + ${sign * rating}`,
      reviewCount: sql`${clientProfiles.reviewCount} + ${sign}`,
    })
    .where(eq(clientProfiles.id, clientProfileId));
}

export async function liveProviderProfile(tx: Db, profileId: string) {
  const [row] = await tx
    .select()
    .from(providerProfiles)
    .where(and(eq(providerProfiles.userProfileId, profileId), eq(providerProfiles.isDeleted, false)));
  return row;
}

export async function providerProfileById(tx: Db, id: string) {
  const [row] = await tx.select().from(providerProfiles).where(eq(providerProfiles.id, id));
  return row;
}

export async function insertProviderProfile(tx: Db, values: typeof providerProfiles.$inferInsert) {
  const [created] = await tx.insert(providerProfiles).values(values).returning();
  return created as ProviderProfileRow;
}

export async function updateProviderProfile(
  tx: Db,
  id: string,
  changes: Partial<typeof providerProfiles.$inferInsert>,
) {
  const [after] = await tx
    .update(providerProfiles)
    .set(changes)
    .where(eq(providerProfiles.id, id))
    .returning();
  return after as ProviderProfileRow;
}

/** Which of these provider profile ids are live. */
export async function liveProviderIdsIn(db: Db, ids: string[]) {
  const rows = await db
    .select({ id: providerProfiles.id })
    .from(providerProfiles)
    .where(and(inArray(providerProfiles.id, ids), eq(providerProfiles.isDeleted, false)));
  return rows.map((r) => r.id);
}

/** The average of `sum` over `count` ratings, times 100 and rounded down; 0 while there is none. */
const ratingAverageX100 = (sum: SQL, count: SQL) =>
  sql`case when ${count} <= 0 then 0 else ((${sum}) * 100) / (${count}) end`;

/**
 * A review of the provider added (+1) or taken back (-1): the sum, the count and the average the directory
 * sorts by (`ratingAverageX100`), in one statement.
 */
export async function addProviderReview(tx: Db, providerProfileId: string, rating: number, sign: 1 | -1) {
  await tx
    .update(providerProfiles)
    .set({
      ratingSum: sql`${providerProfiles.ratingSum} + ${sign * rating}`,
      reviewCount: sql`${providerProfiles.reviewCount} + ${sign}`,
      ratingAvgX100: ratingAverageX100(
        sql`${providerProfiles.ratingSum} + ${sign * rating}`,
        sql`${providerProfiles.reviewCount} + ${sign}`,
      ),
    })
    .where(eq(providerProfiles.id, providerProfileId));
}

export async function addProviderCompletedOrder(tx: Db, providerProfileId: string, sign: 1 | -1) {
  await tx
    .update(providerProfiles)
    .set({ ordersCompleted: sql`${providerProfiles.ordersCompleted} + ${sign}` })
    .where(eq(providerProfiles.id, providerProfileId));
}

/** The directory's view of a provider: its search text and the subcategories its active services offer. */
export async function setListing(
  tx: Db,
  providerId: string,
  listing: { searchText: string; offeredSubcategoryIds: string[] },
) {
  await tx.update(providerProfiles).set(listing).where(eq(providerProfiles.id, providerId));
}

export async function providerForFavorite(db: Db, providerId: string) {
  const [provider] = await db
    .select({ id: providerProfiles.id, userProfileId: providerProfiles.userProfileId })
    .from(providerProfiles)
    .where(and(eq(providerProfiles.id, providerId), eq(providerProfiles.isDeleted, false)));
  return provider;
}

/** The provider's active, live services' texts and subcategories: what its listing is made of. */
export const activeServiceTexts = (tx: Db, providerId: string) =>
  tx
    .select({ description: providerServices.description, subcategoryId: providerServices.subcategoryId })
    .from(providerServices)
    .where(
      and(
        eq(providerServices.providerProfileId, providerId),
        eq(providerServices.isDeleted, false),
        eq(providerServices.isActive, true),
      ),
    );

export async function liveServiceOf(tx: Db, serviceId: string, providerId: string) {
  const [service] = await tx
    .select()
    .from(providerServices)
    .where(
      and(
        eq(providerServices.id, serviceId),
        eq(providerServices.providerProfileId, providerId),
        eq(providerServices.isDeleted, false),
      ),
    );
  return service;
}

export const liveServicesOf = (db: Db, providerId: string, page: PageParts) =>
  db
    .select()
    .from(providerServices)
    .where(
      and(
        eq(providerServices.providerProfileId, providerId),
        eq(providerServices.isDeleted, false),
        page.where,
      ),
    )
    .orderBy(page.orderBy)
    .limit(page.limit);

export async function insertService(tx: Db, values: typeof providerServices.$inferInsert) {
  const [created] = await tx.insert(providerServices).values(values).returning();
  return created as ServiceRow;
}

export async function updateService(
  tx: Db,
  id: string,
  changes: Partial<typeof providerServices.$inferInsert>,
) {
  const [after] = await tx
    .update(providerServices)
    .set(changes)
    .where(eq(providerServices.id, id))
    .returning();
  return after as ServiceRow;
}

/** The favorite, unless the client has it already. */
export async function insertFavoriteUnlessThere(tx: Db, clientProfileId: string, providerProfileId: string) {
  const [created] = await tx
    .insert(favoriteProviders)
    .values({ clientProfileId, providerProfileId })
    .onConflictDoNothing()
    .returning();
  return created;
}

export const deleteFavorite = (tx: Db, clientProfileId: string, providerProfileId: string) =>
  tx
    .delete(favoriteProviders)
    .where(
      and(
        eq(favoriteProviders.clientProfileId, clientProfileId),
        eq(favoriteProviders.providerProfileId, providerProfileId),
      ),
    )
    .returning();

/** A page of the client's favorites whose provider is live. */
export const favoritesOf = (db: Db, clientProfileId: string, page: PageParts) =>
  db
    .select({
      id: favoriteProviders.id,
      providerId: favoriteProviders.providerProfileId,
      addedAt: favoriteProviders.createdAt,
    })
    .from(favoriteProviders)
    .innerJoin(providerProfiles, eq(providerProfiles.id, favoriteProviders.providerProfileId))
    .where(
      and(
        eq(favoriteProviders.clientProfileId, clientProfileId),
        eq(providerProfiles.isDeleted, false),
        page.where,
      ),
    )
    .orderBy(page.orderBy)
    .limit(page.limit);

export async function sealedContactCardOf(tx: Db, userId: string) {
  const [row] = await tx
    .select({ sealed: sealedContactCard(sql`${userId}::uuid`) })
    .from(users)
    .where(eq(users.id, userId));
  return row?.sealed ?? null;
}

/**
 * Whether file `file` is the live profile photo of `owner`, and then whether the directory shows the
 * provider it belongs to: no row when it is not that photo.
 */
export const profilePhotoVisibility = (db: Db) =>
  prepareSql<{ public: boolean }>(
    db,
    sql`select exists (
        select 1 from provider_profiles p join users u on u.id = up.user_id
        where p.user_profile_id = up.id and ${PROVIDER_VISIBLE}) as public
      from user_profiles up
      where up.user_id = ${sql.placeholder('owner')}::uuid and up.photo_file_id = ${sql.placeholder('file')}::uuid
        and not up.is_deleted`,
  );

/** The user's live provider profile, if there is one (`providerReach`). */
export const providerReachOf = (db: Db, userId: string) =>
  prepareSql(db, providerReach(sql`${userId}::uuid`))();

/** The user's profile last deleted with a deletion to restore. */
export async function lastDeletedProfile(tx: Db, userId: string) {
  const [deleted] = await tx
    .select({ id: userProfiles.id })
    .from(userProfiles)
    .where(
      and(
        eq(userProfiles.userId, userId),
        eq(userProfiles.isDeleted, true),
        isNotNull(userProfiles.deletionId),
      ),
    )
    .orderBy(desc(userProfiles.deletedAt))
    .limit(1);
  return deleted;
}
