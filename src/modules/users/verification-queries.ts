import { and, eq, inArray, ne, type SQL, sql } from 'drizzle-orm';
import { type Db, prepareSql } from '../../platform/db.ts';
import type { IdPage } from '../../platform/pagination.ts';
import { providerProfiles, userProfiles, userVerifications } from './schema.ts';
import type { AdminVerificationFilter } from './verification-service.ts';

/*
 * The statements of verification requests and of what a decision changes on the profiles: what the
 * verification service reads and writes, so that it reads as rules.
 */

type PageParts = Pick<IdPage, 'where' | 'orderBy' | 'limit'>;
type VerificationStatus = (typeof userProfiles.$inferSelect)['verificationStatus'];

/** Sets the profile's verification status, `from` one status only or `unless` it is in one. */
export async function setProfileVerification(
  tx: Db,
  profileId: string,
  status: VerificationStatus,
  only: { from?: VerificationStatus; unless?: VerificationStatus } = {},
) {
  const [after] = await tx
    .update(userProfiles)
    .set({ verificationStatus: status })
    .where(
      and(
        eq(userProfiles.id, profileId),
        only.from ? eq(userProfiles.verificationStatus, only.from) : undefined,
        only.unless ? ne(userProfiles.verificationStatus, only.unless) : undefined,
      ),
    )
    .returning();
  return after;
}

/** The profile's live provider profiles without the verified badge, locked. */
export const lockUnbadgedProviders = (tx: Db, userProfileId: string) =>
  tx
    .select()
    .from(providerProfiles)
    .where(
      and(
        eq(providerProfiles.userProfileId, userProfileId),
        eq(providerProfiles.isDeleted, false),
        eq(providerProfiles.isVerified, false),
      ),
    )
    .for('update');

export async function badgeProvider(tx: Db, providerProfileId: string) {
  const [after] = await tx
    .update(providerProfiles)
    .set({ isVerified: true })
    .where(eq(providerProfiles.id, providerProfileId))
    .returning();
  return after;
}

export async function insertVerification(tx: Db, values: typeof userVerifications.$inferInsert) {
  const [created] = await tx.insert(userVerifications).values(values).returning();
  return created!;
}

/** A page of the live requests of the user's live profile. */
export const verificationsOf = (db: Db, userId: string, page: PageParts) =>
  db
    .select({ v: userVerifications })
    .from(userVerifications)
    .innerJoin(userProfiles, eq(userProfiles.id, userVerifications.userProfileId))
    .where(
      and(
        eq(userProfiles.userId, userId),
        eq(userProfiles.isDeleted, false),
        eq(userVerifications.isDeleted, false),
        page.where,
      ),
    )
    .orderBy(page.orderBy)
    .limit(page.limit);

/** One live request of the user's live profile. */
export async function verificationOf(db: Db, userId: string, id: string) {
  const [row] = await db
    .select({ v: userVerifications })
    .from(userVerifications)
    .innerJoin(userProfiles, eq(userProfiles.id, userVerifications.userProfileId))
    .where(
      and(
        eq(userVerifications.id, id),
        eq(userVerifications.isDeleted, false),
        eq(userProfiles.userId, userId),
        eq(userProfiles.isDeleted, false),
      ),
    );
  return row;
}

/** A page of the live requests staff filter by status, type and user, with the user of each. */
export function verificationQueue(db: Db, filter: AdminVerificationFilter, page: PageParts) {
  const conditions: (SQL | undefined)[] = [
    eq(userVerifications.isDeleted, false),
    filter.status?.length ? inArray(userVerifications.status, filter.status) : undefined,
    filter.type ? eq(userVerifications.verificationType, filter.type) : undefined,
    filter.user_id ? eq(userProfiles.userId, filter.user_id) : undefined,
    page.where,
  ];
  return db
    .select({ v: userVerifications, userId: userProfiles.userId })
    .from(userVerifications)
    .innerJoin(userProfiles, eq(userProfiles.id, userVerifications.userProfileId))
    .where(and(...conditions))
    .orderBy(page.orderBy)
    .limit(page.limit);
}

/** One live request with its user. */
export async function verificationWithOwner(db: Db, id: string) {
  const [row] = await db
    .select({ v: userVerifications, userId: userProfiles.userId })
    .from(userVerifications)
    .innerJoin(userProfiles, eq(userProfiles.id, userVerifications.userProfileId))
    .where(and(eq(userVerifications.id, id), eq(userVerifications.isDeleted, false)));
  return row;
}

/** One live request, locked for a decision. */
export async function lockVerification(tx: Db, id: string) {
  const [row] = await tx
    .select()
    .from(userVerifications)
    .where(and(eq(userVerifications.id, id), eq(userVerifications.isDeleted, false)))
    .for('update');
  return row;
}

/** The profile a request is of, share-locked while the decision changes it. */
export async function shareProfile(tx: Db, profileId: string) {
  const [row] = await tx
    .select()
    .from(userProfiles)
    .where(eq(userProfiles.id, profileId))
    .for('no key update');
  return row;
}

/** Decides a request if it is still pending: of two decisions at once, one lands. */
export async function decidePending(tx: Db, id: string, set: Partial<typeof userVerifications.$inferInsert>) {
  const [after] = await tx
    .update(userVerifications)
    .set(set)
    .where(and(eq(userVerifications.id, id), eq(userVerifications.status, 'pending')))
    .returning();
  return after;
}

/** Whether file `file` is evidence of a live request of `owner`'s: one row when it is. */
export const evidenceHolder = (db: Db) =>
  prepareSql(
    db,
    sql`select 1 from user_verifications v join user_profiles up on up.id = v.user_profile_id
      where up.user_id = ${sql.placeholder('owner')}::uuid
        and ${sql.placeholder('file')}::uuid = any(v.evidence_file_ids) and not v.is_deleted
      limit 1`,
  );
