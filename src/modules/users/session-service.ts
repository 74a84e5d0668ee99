import type { SQL } from 'drizzle-orm';
import type { Actor } from '../../platform/actor.ts';
import type { TokenSigner } from '../../platform/auth.ts';
import type { Cache } from '../../platform/cache.ts';
import { type FieldCipher, randomToken, sha256 } from '../../platform/crypto.ts';
import type { Db } from '../../platform/db.ts';
import { NotFoundError, UnauthorizedError } from '../../platform/errors.ts';
import { defineJob } from '../../platform/jobs.ts';
import { idPages, type PageRequest, type PageResult } from '../../platform/pagination.ts';
import { liveUserBy, type UserRow, updateUser } from './account-queries.ts';
import { accountView, signInRefusal } from './account-view.ts';
import type { SessionView, Tokens } from './contract.ts';
import type { AccountEvents } from './events.ts';
import { userSessions } from './schema.ts';
import {
  deviceSeen,
  expiredSessions,
  insertRefreshToken,
  insertSession,
  isSessionOf,
  liveSessionQuery,
  liveSessionsOf,
  lockSession,
  refreshTokenByHash,
  revokeSessionsWhere,
  rotateRefreshToken,
  sessionIs,
  sessionsOf,
  updateSession,
} from './session-queries.ts';

const SESSION_CACHE_SECONDS = 30;
/** Sessions ended per statement by the expiry sweep; the next run takes the rest. */
const EXPIRED_BATCH = 500;

const sessionPages = idPages('users.sessions', userSessions.id);

/** Where a sign-in comes from: kept on the session so the user recognises their devices. */
export interface ClientInfo {
  ip: string;
  userAgent?: string;
  deviceName?: string;
  requestId: string;
}

/** What a session shows of where it was opened and when it was last used: in the list and in the export. */
export const sessionDevice = (s: typeof userSessions.$inferSelect) => ({
  id: s.id,
  device_name: s.deviceName,
  user_agent: s.userAgent,
  ip: s.ip,
  created_at: s.createdAt.toISOString(),
  last_used_at: s.lastUsedAt.toISOString(),
});

export type Sessions = ReturnType<typeof createSessions>;

/** Sessions and their tokens: a sign-in opens one, a refresh rotates its token, staff and owners end them. */
export function createSessions({
  db,
  cache,
  signer,
  cipher,
  refreshTokenTtlDays,
  events,
}: {
  db: Db;
  cache: Cache;
  signer: TokenSigner;
  cipher: FieldCipher;
  refreshTokenTtlDays: number;
  events: AccountEvents;
}) {
  const refreshTtlMs = refreshTokenTtlDays * 86_400_000;

  async function issueTokens(
    user: UserRow,
    sessionId: string,
    refreshToken: string,
    expiresAt: Date,
  ): Promise<Tokens> {
    return {
      access_token: await signer.sign({ userId: user.id, sessionId, roles: user.roles }),
      token_type: 'Bearer',
      expires_in: signer.ttlSeconds,
      refresh_token: refreshToken,
      refresh_expires_at: expiresAt.toISOString(),
      user: accountView(cipher, user),
    };
  }

  /**
   * Ends sessions, in the caller's transaction, and tells of each (`session_ended`) so that what other
   * modules keep per session (push devices) goes with it; answers their ids. Their access tokens stop
   * working as soon as every process has dropped its cached answer (`forget`).
   */
  async function revoke(tx: Db, where: SQL, reason: string) {
    const ended = await revokeSessionsWhere(tx, where, reason);
    const at = new Date().toISOString();
    await events.emit(
      ...ended.map((s) => ({
        type: 'session_ended' as const,
        user_id: s.userId,
        session_id: s.id,
        reason,
        at,
      })),
    );
    return ended.map((s) => s.id);
  }

  async function forget(ids: string[]) {
    await Promise.all(ids.map((id) => cache.invalidate(`session:${id}`)));
  }

  async function endSessions(where: SQL, reason: string) {
    const revoked = await db.transaction((tx) => revoke(tx, where, reason));
    await forget(revoked);
    return revoked.length;
  }

  const liveSession = liveSessionQuery(db).prepare('session_live');

  return {
    revoke,
    forget,

    async open(tx: Db, user: UserRow, client: ClientInfo) {
      const expiresAt = new Date(Date.now() + refreshTtlMs);
      const userAgent = client.userAgent?.slice(0, 500) ?? null;
      // The first sign-in of an account tells no one.
      const seen = await deviceSeen(tx, user.id, client.deviceName ?? null, userAgent);
      const session = await insertSession(tx, {
        userId: user.id,
        deviceName: client.deviceName,
        userAgent,
        ip: client.ip,
        expiresAt,
      });
      if (seen.any && !seen.known) {
        await events.emit({
          type: 'account_signed_in_new_device',
          user_id: user.id,
          at: new Date().toISOString(),
          session_id: session.id,
          device: [client.deviceName, userAgent].filter(Boolean).join(', ') || client.ip,
        });
      }
      const refreshToken = randomToken();
      await insertRefreshToken(tx, { sessionId: session.id, tokenHash: sha256(refreshToken), expiresAt });
      const signedIn = await updateUser(tx, user.id, { lastLoginAt: new Date() });
      return issueTokens(signedIn, session.id, refreshToken, expiresAt);
    },

    /** The cached answer as it is, without a promise: the auth hook then admits the request in its own turn. */
    isSessionLive(sessionId: string): boolean | Promise<boolean> {
      const key = `session:${sessionId}`;
      const cached = cache.get<boolean>(key);
      if (cached !== undefined) return cached;
      return liveSession.execute({ id: sessionId }).then(([row]) => {
        cache.set(key, row !== undefined, SESSION_CACHE_SECONDS);
        return row !== undefined;
      });
    },

    /**
     * Exchanges a refresh token for a new pair. A token works once: a second use means it was copied,
     * so the whole session ends and both holders must sign in again.
     */
    async refresh(token: string, client: ClientInfo): Promise<Tokens> {
      const tokenHash = sha256(token);
      const outcome = await db.transaction(async (tx) => {
        const current = await rotateRefreshToken(tx, tokenHash);
        if (!current) {
          const used = await refreshTokenByHash(tx, tokenHash);
          if (!used)
            return {
              error: new UnauthorizedError('invalid_refresh_token', 'the refresh token is not valid'),
            };
          const revoked = await revoke(tx, sessionIs(used.sessionId), 'refresh_token_reused');
          return {
            revoked,
            error: new UnauthorizedError(
              'refresh_token_reused',
              'this refresh token was already used; the session has been ended for safety, sign in again',
            ),
          };
        }
        const session = await lockSession(tx, current.sessionId);
        const ended = new UnauthorizedError('session_expired', 'this session has ended; sign in again');
        if (!session) return { error: ended };
        const user = await liveUserBy(db, 'id', session.userId);
        // Blocking ends the sessions too, so the account's state is checked first: the app should
        // tell the person their account is blocked, not send them back to a sign-in that will fail.
        const refusal = user && signInRefusal(user);
        if (!user || refusal) {
          const revoked = await revoke(tx, sessionIs(session.id), 'account_closed');
          return { revoked, error: refusal ?? ended };
        }
        if (session.revokedAt || current.expiresAt.getTime() <= Date.now()) return { error: ended };
        const expiresAt = new Date(Date.now() + refreshTtlMs);
        const next = randomToken();
        await insertRefreshToken(tx, { sessionId: session.id, tokenHash: sha256(next), expiresAt });
        await updateSession(tx, session.id, { lastUsedAt: new Date(), expiresAt, ip: client.ip });
        return { tokens: await issueTokens(user, session.id, next, expiresAt) };
      });
      if ('revoked' in outcome && outcome.revoked) await forget(outcome.revoked);
      if ('error' in outcome && outcome.error) throw outcome.error;
      return outcome.tokens as Tokens;
    },

    async listSessions(actor: Actor, request: PageRequest): Promise<PageResult<SessionView>> {
      const page = sessionPages(request);
      const rows = await liveSessionsOf(db, actor.userId ?? '', page);
      return page.page(
        rows,
        (s) => s.id,
        (s) => ({
          ...sessionDevice(s),
          expires_at: s.expiresAt.toISOString(),
          current: s.id === actor.sessionId,
        }),
      );
    },

    /** Ends one of the caller's sessions; someone else's session is "not found". */
    async revokeSession(actor: Actor, sessionId: string) {
      const revoked = await db.transaction(async (tx) => {
        if (!(await isSessionOf(tx, sessionId, actor.userId ?? ''))) throw new NotFoundError('session');
        return revoke(tx, sessionIs(sessionId), 'signed_out');
      });
      await forget(revoked);
    },

    async logoutAll(actor: Actor) {
      return endSessions(sessionsOf(actor.userId ?? ''), 'signed_out_everywhere');
    },

    /** Ends every session of an account, for staff actions and account closing. */
    async endSessionsOf(userId: string, reason: string) {
      return endSessions(sessionsOf(userId), reason);
    },

    /**
     * Ends the sessions that ran out, as a sign-out would: a run out session can no longer be refreshed,
     * and without this only the retention purge, a month later, would let go of what is kept for it.
     */
    async endExpiredSessions() {
      let total = 0;
      for (;;) {
        const ended = await endSessions(expiredSessions(EXPIRED_BATCH), 'expired');
        total += ended;
        if (ended < EXPIRED_BATCH) return total;
      }
    },
  };
}

/** Hourly: sessions that ran out are ended and told (`session_ended`), at most an hour after their end. */
export const endExpiredSessionsJob = (sessions: Pick<Sessions, 'endExpiredSessions'>) =>
  defineJob<Record<string, never>>({
    name: 'users.end-expired-sessions',
    cron: '13 * * * *',
    async handle(_data, { log }) {
      const ended = await sessions.endExpiredSessions();
      if (ended > 0) log.info({ ended }, 'expired sessions ended');
    },
  });
