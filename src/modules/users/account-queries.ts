import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../../platform/db.ts';
import { users } from './schema.ts';

/* The account service's statements on `users`. */

export type UserRow = typeof users.$inferSelect;

/** The columns an account's view is made of: what a read that only shows the account selects. */
export const viewColumns = {
  id: users.id,
  emailEncrypted: users.emailEncrypted,
  phoneEncrypted: users.phoneEncrypted,
  fullName: users.fullName,
  roles: users.roles,
  status: users.status,
  emailVerifiedAt: users.emailVerifiedAt,
  phoneVerifiedAt: users.phoneVerifiedAt,
  passwordHash: users.passwordHash,
  createdAt: users.createdAt,
};

/** The live account whose id, email's blind index or phone's blind index is `value`. */
export async function liveUserBy(db: Db, key: 'id' | 'emailHash' | 'phoneHash', value: string) {
  const [user] = await db
    .select()
    .from(users)
    .where(and(eq(users[key], value), eq(users.isDeleted, false)))
    .limit(1);
  return user;
}

export async function insertUser(tx: Db, values: typeof users.$inferInsert) {
  const [user] = await tx.insert(users).values(values).returning();
  return user as UserRow;
}

export async function updateUser(tx: Db, id: string, changes: Partial<typeof users.$inferInsert>) {
  const [after] = await tx.update(users).set(changes).where(eq(users.id, id)).returning();
  return after as UserRow;
}

/** The account's status, its row share-locked until the transaction ends. */
export async function lockedStatus(tx: Db, userId: string) {
  const [row] = await tx
    .select({ status: users.status, isDeleted: users.isDeleted })
    .from(users)
    .where(eq(users.id, userId))
    .for('share');
  return row;
}

export const statuses = (db: Db, userIds: string[]) =>
  db
    .select({ id: users.id, status: users.status, isDeleted: users.isDeleted })
    .from(users)
    .where(inArray(users.id, userIds));

/** What GET /me reads on every call, and no column more than it shows (`id` a placeholder, to prepare). */
export const liveUserView = (db: Db) =>
  db
    .select(viewColumns)
    .from(users)
    .where(and(eq(users.id, sql.placeholder('id')), eq(users.isDeleted, false)))
    .limit(1);

/** The account row, live or not. */
export async function userRow(tx: Db, id: string) {
  const [user] = await tx.select().from(users).where(eq(users.id, id));
  return user;
}

/** The live account row, locked for the rest of the transaction when `lock` says how. */
export async function liveUserRow(tx: Db, id: string, lock?: 'update') {
  const query = tx
    .select()
    .from(users)
    .where(and(eq(users.id, id), eq(users.isDeleted, false)));
  const [user] = await (lock ? query.for(lock) : query);
  return user;
}
