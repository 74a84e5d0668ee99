import { and, desc, eq, ilike, inArray, sql } from 'drizzle-orm';
import type { Db } from '../../platform/db.ts';
import type { IdPage } from '../../platform/pagination.ts';
import type { AdminUserFilter } from './admin-service.ts';
import { userProfiles, users } from './schema.ts';

/* The statements of staff's work on accounts (admin-service.ts). */

type PageParts = Pick<IdPage, 'where' | 'orderBy' | 'limit'>;

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** The kind and verification of the account's latest profile. */
export async function latestProfileOf(db: Db, userId: string) {
  const [profile] = await db
    .select({ userType: userProfiles.userType, verificationStatus: userProfiles.verificationStatus })
    .from(userProfiles)
    .where(eq(userProfiles.userId, userId))
    .orderBy(desc(userProfiles.id))
    .limit(1);
  return profile;
}

/** A page of accounts by the filter; email and phone by their keyed hash, the name by substring. */
export const findUsers = (
  db: Db,
  filter: Omit<AdminUserFilter, 'email' | 'phone'> & { emailHash?: string; phoneHash?: string },
  page: PageParts,
) =>
  db
    .select()
    .from(users)
    .where(
      and(
        eq(users.isDeleted, filter.deleted ?? false),
        filter.emailHash ? eq(users.emailHash, filter.emailHash) : undefined,
        filter.phoneHash ? eq(users.phoneHash, filter.phoneHash) : undefined,
        filter.q ? ilike(users.fullName, `%${escapeLike(filter.q)}%`) : undefined,
        filter.role ? sql`${filter.role} = any(${users.roles})` : undefined,
        filter.status?.length ? inArray(users.status, filter.status) : undefined,
        page.where,
      ),
    )
    .orderBy(page.orderBy)
    .limit(page.limit);
