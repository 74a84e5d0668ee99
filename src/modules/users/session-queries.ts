import { and, eq, gt, isNull, type SQL, sql } from 'drizzle-orm';
import type { Db } from '../../platform/db.ts';
import type { IdPage } from '../../platform/pagination.ts';
import { refreshTokens, userSessions, users } from './schema.ts';

/* The session service's statements on `user_sessions` and `refresh_tokens`. */

/**
 * Whether the account has had any session, and one from this device (by name and user agent) among them:
 * what tells a sign-in from a new device.
 */
export async function deviceSeen(
  tx: Db,
  userId: string,
  deviceName: string | null,
  userAgent: string | null,
) {
  const [seen] = await tx
    .select({
      any: sql<boolean>`count(*) > 0`,
      known: sql<boolean>`coalesce(bool_or(${userSessions.deviceName} is not distinct from ${deviceName}::text and ${userSessions.userAgent} is not distinct from ${userAgent}::text), false)`,
    })
    .from(userSessions)
    .where(eq(userSessions.userId, userId));
  return seen as { any: boolean; known: boolean };
}

export async function insertSession(tx: Db, values: typeof userSessions.$inferInsert) {
  const [session] = await tx.insert(userSessions).values(values).returning({ id: userSessions.id });
  return session as { id: string };
}

export async function insertRefreshToken(tx: Db, values: typeof refreshTokens.$inferInsert) {
  await tx.insert(refreshTokens).values(values);
}

/** Ends the live sessions `where` picks; answers them. */
export async function revokeSessionsWhere(tx: Db, where: SQL, reason: string) {
  return tx
    .update(userSessions)
    .set({ revokedAt: new Date(), revokedReason: reason })
    .where(and(where, isNull(userSessions.revokedAt)))
    .returning({ id: userSessions.id, userId: userSessions.userId });
}

/** At most `limit` sessions that ran out and were never ended otherwise. */
export const expiredSessions = (limit: number) =>
  sql`${userSessions.id} in (select ${userSessions.id} from ${userSessions}
    where ${userSessions.revokedAt} is null and ${userSessions.expiresAt} <= now() limit ${limit})`;

export const sessionIs = (id: string) => eq(userSessions.id, id);
export const sessionsOf = (userId: string) => eq(userSessions.userId, userId);
/** The user's sessions but one. */
export const otherSessionsOf = (userId: string, sessionId: string | null) =>
  and(sessionsOf(userId), sql`${userSessions.id} <> ${sessionId}`) as SQL;

/**
 * Whether the session (`id` a placeholder) is live and its account active: asked on every signed-in request
 * once the cached answer is old, so prepared once per connection, not per call.
 */
export const liveSessionQuery = (db: Db) =>
  db
    .select({ id: userSessions.id })
    .from(userSessions)
    .innerJoin(users, eq(users.id, userSessions.userId))
    .where(
      and(
        eq(userSessions.id, sql.placeholder('id')),
        isNull(userSessions.revokedAt),
        gt(userSessions.expiresAt, sql`now()`),
        eq(users.status, 'active'),
        eq(users.isDeleted, false),
      ),
    )
    .limit(1);

/** Marks the token with this hash used, unless it was already: answers it, or nothing. */
export async function rotateRefreshToken(tx: Db, tokenHash: string) {
  const [current] = await tx
    .update(refreshTokens)
    .set({ rotatedAt: new Date() })
    .where(and(eq(refreshTokens.tokenHash, tokenHash), isNull(refreshTokens.rotatedAt)))
    .returning();
  return current;
}

export async function refreshTokenByHash(tx: Db, tokenHash: string) {
  const [token] = await tx
    .select()
    .from(refreshTokens)
    .where(eq(refreshTokens.tokenHash, tokenHash))
    .limit(1);
  return token;
}

export async function lockSession(tx: Db, sessionId: string) {
  const [session] = await tx.select().from(userSessions).where(eq(userSessions.id, sessionId)).for('update');
  return session;
}

export async function updateSession(
  tx: Db,
  sessionId: string,
  changes: Partial<typeof userSessions.$inferInsert>,
) {
  await tx.update(userSessions).set(changes).where(eq(userSessions.id, sessionId));
}

/** A page of the user's live sessions. */
export const liveSessionsOf = (db: Db, userId: string, page: Pick<IdPage, 'where' | 'orderBy' | 'limit'>) =>
  db
    .select()
    .from(userSessions)
    .where(
      and(
        eq(userSessions.userId, userId),
        isNull(userSessions.revokedAt),
        gt(userSessions.expiresAt, new Date()),
        page.where,
      ),
    )
    .orderBy(page.orderBy)
    .limit(page.limit);

/** Whether the session is one of the user's, live or not. */
export async function isSessionOf(tx: Db, sessionId: string, userId: string) {
  const [session] = await tx
    .select({ id: userSessions.id })
    .from(userSessions)
    .where(and(eq(userSessions.id, sessionId), eq(userSessions.userId, userId)));
  return session !== undefined;
}
