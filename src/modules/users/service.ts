import { timingSafeEqual } from 'node:crypto';
import { hash as hashPassword, verify as verifyPassword } from '@node-rs/argon2';
import { and, count, desc, eq, gt, inArray, isNull, type SQL, sql } from 'drizzle-orm';
import type { Actor, Role } from '../../platform/actor.ts';
import { writeAudit } from '../../platform/audit/service.ts';
import type { TokenSigner } from '../../platform/auth.ts';
import type { Cache } from '../../platform/cache.ts';
import { type FieldCipher, randomDigits, randomToken, sha256 } from '../../platform/crypto.ts';
import { type Db, inTransaction } from '../../platform/db.ts';
import {
  AppError,
  ConflictError,
  ForbiddenError,
  isUniqueViolation,
  NotFoundError,
  RuleViolationError,
  TooManyRequestsError,
  UnauthorizedError,
  ValidationError,
} from '../../platform/errors.ts';
import type { LanguageCode } from '../../platform/i18n.ts';
import type { CaseRules } from '../../platform/own-case.ts';
import { idPages, type PageRequest, type PageResult } from '../../platform/pagination.ts';
import type {
  AccountStanding,
  OtpSent,
  ReauthenticationInput,
  SessionView,
  Tokens,
  UserView,
} from './contract.ts';
import type { AccountEvents } from './events.ts';
import { emailColumns, emailIndex } from './identifiers.ts';
import { otpCodes, refreshTokens, userSessions, users } from './schema.ts';
import type { SignInAttempt, SignInThrottle } from './sign-in-throttle.ts';
import type { SmsSender } from './sms.ts';

/** OWASP's argon2id baseline: 19 MiB, two passes (the library's default algorithm is argon2id). */
const PASSWORD_HASHING = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const OTP_RULES = {
  digits: 6,
  ttlSeconds: 5 * 60,
  maxAttempts: 5,
  resendAfterSeconds: 60,
  perPhonePerHour: 5,
  perIpPerHour: 20,
} as const;

const SESSION_CACHE_SECONDS = 30;

const sessionPages = idPages('users.sessions', userSessions.id);

const OTP_TEXT: Record<LanguageCode, (code: string) => string> = {
  ru: (code) => `Код входа: ${code}. Никому его не сообщайте.`,
  ky: (code) => `Кирүү коду: ${code}. Аны эч кимге айтпаңыз.`,
  en: (code) => `Your sign-in code: ${code}. Do not share it.`,
};

/** Where a sign-in comes from: kept on the session so the user recognises their devices. */
export interface ClientInfo {
  ip: string;
  userAgent?: string;
  deviceName?: string;
  requestId: string;
}

type UserRow = typeof users.$inferSelect;
type UserStatus = UserRow['status'];

/** The columns an account's view is made of: what a read that only shows the account selects. */
const viewColumns = {
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

const standingOf = (row: Pick<UserRow, 'status' | 'isDeleted'>): AccountStanding =>
  row.isDeleted || row.status === 'deactivated' ? 'closed' : row.status;

export interface AccountServiceDeps {
  db: Db;
  cache: Cache;
  signer: TokenSigner;
  sms: SmsSender;
  cipher: FieldCipher;
  throttle: SignInThrottle;
  events: AccountEvents;
  refreshTokenTtlDays: number;
  cases: Pick<CaseRules, 'assertMayActOnAccount'>;
}

const secondsUntil = (time: number) => Math.max(1, Math.ceil((time - Date.now()) / 1000));

export type AccountService = ReturnType<typeof createAccountService>;

export function createAccountService({
  db,
  cache,
  signer,
  sms,
  cipher,
  throttle,
  events,
  refreshTokenTtlDays,
  cases,
}: AccountServiceDeps) {
  const refreshTtlMs = refreshTokenTtlDays * 86_400_000;
  // Verifying against a real hash when the account does not exist keeps the answer time the same.
  const unknownUserHash = hashPassword(randomToken(), PASSWORD_HASHING);

  const otpHash = (phoneHash: string, code: string) => cipher.blindIndex(`otp:${phoneHash}:${code}`);
  const actorFor = (user: UserRow, client: ClientInfo): Actor => ({
    userId: user.id,
    sessionId: null,
    roles: user.roles,
    requestId: client.requestId,
  });

  function view(user: Pick<UserRow, keyof typeof viewColumns>): UserView {
    return {
      id: user.id,
      email: user.emailEncrypted ? cipher.decrypt(user.emailEncrypted) : null,
      phone: user.phoneEncrypted ? cipher.decrypt(user.phoneEncrypted) : null,
      full_name: user.fullName,
      roles: user.roles,
      status: user.status,
      email_verified: user.emailVerifiedAt !== null,
      phone_verified: user.phoneVerifiedAt !== null,
      has_password: user.passwordHash !== null,
      created_at: user.createdAt.toISOString(),
    };
  }

  async function findLiveUser(where: SQL) {
    const [user] = await db
      .select()
      .from(users)
      .where(and(where, eq(users.isDeleted, false)))
      .limit(1);
    return user;
  }

  /** Why an account may not sign in, or undefined when it may. */
  function signInRefusal(user: UserRow): AppError | undefined {
    if (user.status === 'blocked')
      return new ForbiddenError('account_blocked', 'this account is blocked; contact support');
    if (user.status === 'deactivated') {
      return new ForbiddenError(
        'account_deactivated',
        'this account is deactivated; contact support to reopen it',
      );
    }
    return undefined;
  }

  function assertMaySignIn(user: UserRow) {
    const refusal = signInRefusal(user);
    if (refusal) throw refusal;
  }

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
      user: view(user),
    };
  }

  async function openSession(tx: Db, user: UserRow, client: ClientInfo) {
    const expiresAt = new Date(Date.now() + refreshTtlMs);
    const userAgent = client.userAgent?.slice(0, 500) ?? null;
    // A device the account has used before, by name and user agent; the first sign-in tells no one.
    const [seen] = await tx
      .select({
        any: sql<boolean>`count(*) > 0`,
        known: sql<boolean>`coalesce(bool_or(${userSessions.deviceName} is not distinct from ${client.deviceName ?? null}::text and ${userSessions.userAgent} is not distinct from ${userAgent}::text), false)`,
      })
      .from(userSessions)
      .where(eq(userSessions.userId, user.id));
    const [session] = await tx
      .insert(userSessions)
      .values({
        userId: user.id,
        deviceName: client.deviceName,
        userAgent,
        ip: client.ip,
        expiresAt,
      })
      .returning({ id: userSessions.id });
    if (seen?.any && !seen.known) {
      await events.emit({
        type: 'account_signed_in_new_device',
        user_id: user.id,
        at: new Date().toISOString(),
        session_id: session!.id,
        device: [client.deviceName, userAgent].filter(Boolean).join(', ') || client.ip,
      });
    }
    const refreshToken = randomToken();
    await tx
      .insert(refreshTokens)
      .values({ sessionId: session!.id, tokenHash: sha256(refreshToken), expiresAt });
    const [signedIn] = await tx
      .update(users)
      .set({ lastLoginAt: new Date() })
      .where(eq(users.id, user.id))
      .returning();
    return issueTokens(signedIn!, session!.id, refreshToken, expiresAt);
  }

  /** Ends sessions; their access tokens stop working as soon as every process has dropped its cached answer. */
  async function revokeSessions(tx: Db, where: SQL, reason: string) {
    const revoked = await tx
      .update(userSessions)
      .set({ revokedAt: new Date(), revokedReason: reason })
      .where(and(where, isNull(userSessions.revokedAt)))
      .returning({ id: userSessions.id });
    return revoked.map((s) => s.id);
  }

  async function forgetSessions(ids: string[]) {
    await Promise.all(ids.map((id) => cache.invalidate(`session:${id}`)));
  }

  async function createUser(tx: Db, values: typeof users.$inferInsert, client: ClientInfo) {
    const [user] = await tx.insert(users).values(values).returning();
    await writeAudit(tx, actorFor(user!, client), [
      { action: 'create', entity: 'users', entityId: user!.id, after: user },
    ]);
    return user!;
  }

  /**
   * Spends the phone's newest live code when `code` is it; otherwise counts a wrong try against it and
   * answers why the code does not work. The caller commits the count even though its request fails.
   */
  async function spendCode(tx: Db, phoneHash: string, code: string): Promise<AppError | undefined> {
    const [otp] = await tx
      .select()
      .from(otpCodes)
      .where(
        and(
          eq(otpCodes.phoneHash, phoneHash),
          isNull(otpCodes.consumedAt),
          gt(otpCodes.expiresAt, new Date()),
        ),
      )
      .orderBy(desc(otpCodes.createdAt))
      .limit(1)
      .for('update');
    if (!otp) {
      return new UnauthorizedError('otp_invalid', 'there is no valid code for this phone; request a new one');
    }
    const expected = Buffer.from(otp.codeHash);
    const given = Buffer.from(otpHash(phoneHash, code));
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      const attempts = otp.attempts + 1;
      const spent = attempts >= OTP_RULES.maxAttempts;
      await tx
        .update(otpCodes)
        .set({ attempts, consumedAt: spent ? new Date() : null })
        .where(eq(otpCodes.id, otp.id));
      return spent
        ? new UnauthorizedError('otp_attempts_exceeded', 'too many wrong codes; request a new one')
        : new UnauthorizedError(
            'otp_wrong_code',
            `the code is wrong; ${OTP_RULES.maxAttempts - attempts} tries left`,
          );
    }
    await tx.update(otpCodes).set({ consumedAt: new Date() }).where(eq(otpCodes.id, otp.id));
    return undefined;
  }

  /**
   * A password given to confirm an action (the account has one), counted in the sign-in throttle of the
   * account's email and phone as a sign-in's is, before it is checked (sign-in-throttle.ts): guessing it
   * here is no faster than at sign-in. The right one clears the count, as at sign-in.
   */
  async function checkPassword(user: UserRow, password: string) {
    const identifiers = (
      [
        ['email', user.emailHash],
        ['phone', user.phoneHash],
      ] as const
    ).filter((pair): pair is readonly ['email' | 'phone', string] => pair[1] !== null);
    const attempts: [SignInAttempt, 'email' | 'phone'][] = [];
    for (const [identifier, subject] of identifiers)
      attempts.push([await throttle.begin(subject), identifier]);
    const subjects = identifiers.map(([, subject]) => subject);
    if (await verifyPassword(user.passwordHash as string, password)) {
      await throttle.clear(db, subjects);
      return true;
    }
    for (const [attempt, identifier] of attempts) {
      await throttle.failed(attempt, { userId: user.id, identifier });
    }
    return false;
  }

  /** What the person must send to confirm, for an account as it is. */
  function reauthenticationRequired(user: UserRow) {
    const code = 'a one-time code sent to its phone (POST /api/v1/auth/otp/request) as `otp_code`';
    const ways = [user.passwordHash && 'the account’s password as `password`', user.phoneHash && code]
      .filter(Boolean)
      .join(', or ');
    return new UnauthorizedError(
      'reauthentication_required',
      ways
        ? `confirm that it is you: send ${ways}`
        : 'confirm that it is you: this account has no password yet; set one with PUT /api/v1/me/password',
    );
  }

  /**
   * Asked on every signed-in request once the cached answer is older than SESSION_CACHE_SECONDS: built once
   * and planned once per connection, not per call.
   */
  const liveSession = db
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
    .limit(1)
    .prepare('session_live');

  /** What GET /me reads on every call, and no column more than it shows: prepared as the session check is. */
  const liveUserQuery = () =>
    db
      .select(viewColumns)
      .from(users)
      .where(and(eq(users.id, sql.placeholder('id')), eq(users.isDeleted, false)))
      .limit(1);
  const liveUserById = liveUserQuery().prepare('live_user_by_id');

  return {
    view,

    /**
     * For another module's transaction: how the account stands, with its row share-locked until that
     * transaction ends. A block or a closing that committed first is seen; one that comes later waits, so
     * what the caller decides on this answer cannot be overtaken by it.
     */
    async lockStanding(tx: Db, userId: string): Promise<AccountStanding> {
      const [row] = await tx
        .select({ status: users.status, isDeleted: users.isDeleted })
        .from(users)
        .where(eq(users.id, userId))
        .for('share');
      return row ? standingOf(row) : 'closed';
    },

    /** How each account stands, for a list another module shows; an unknown id is left out. */
    async standings(userIds: string[]): Promise<Map<string, AccountStanding>> {
      if (userIds.length === 0) return new Map();
      const rows = await db
        .select({ id: users.id, status: users.status, isDeleted: users.isDeleted })
        .from(users)
        .where(inArray(users.id, userIds));
      return new Map(rows.map((r) => [r.id, standingOf(r)]));
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

    async register(input: { email: string; password: string; full_name: string }, client: ClientInfo) {
      const passwordHash = await hashPassword(input.password, PASSWORD_HASHING);
      try {
        return await db.transaction(async (tx) => {
          const user = await createUser(
            tx,
            {
              ...emailColumns(cipher, input.email),
              passwordHash,
              fullName: input.full_name,
              roles: ['client'],
            },
            client,
          );
          return openSession(tx, user, client);
        });
      } catch (error) {
        if (isUniqueViolation(error, 'users_email_hash_live_uq')) {
          throw new ConflictError(
            'email_taken',
            'an account with this email already exists; sign in instead',
          );
        }
        throw error;
      }
    },

    /**
     * Wrong passwords for one email or phone lock its password sign-in for a while, from wherever they come
     * (sign-in-throttle.ts); the owner can still sign in with a one-time code, which clears them. An email
     * without an account goes through the same steps and answers the same.
     */
    async login(input: { email?: string; phone?: string; password: string }, client: ClientInfo) {
      const identifier = input.email === undefined ? 'phone' : 'email';
      const subject =
        input.email === undefined ? cipher.blindIndex(input.phone ?? '') : emailIndex(cipher, input.email);
      const attempt = await throttle.begin(subject);
      const user = await findLiveUser(
        eq(identifier === 'email' ? users.emailHash : users.phoneHash, subject),
      );
      const matches = await verifyPassword(user?.passwordHash ?? (await unknownUserHash), input.password);
      if (!user?.passwordHash || !matches) {
        await throttle.failed(attempt, user && { userId: user.id, identifier });
        throw new UnauthorizedError('invalid_credentials', 'the email, phone or password is wrong');
      }
      assertMaySignIn(user);
      return db.transaction(async (tx) => {
        await throttle.clear(tx, [subject]);
        return openSession(tx, user, client);
      });
    },

    async requestOtp(phone: string, client: ClientInfo, language: LanguageCode): Promise<OtpSent> {
      const phoneHash = cipher.blindIndex(phone);
      const code = randomDigits(OTP_RULES.digits);
      const sent = await db.transaction(async (tx) => {
        // One request per IP and per phone at a time (always in that order), so two at once cannot
        // both pass the limits.
        await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`otp-ip:${client.ip}`}))`);
        await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`otp:${phoneHash}`}))`);
        const hourAgo = new Date(Date.now() - 3_600_000);
        const recent = await tx
          .select({ createdAt: otpCodes.createdAt })
          .from(otpCodes)
          .where(and(eq(otpCodes.phoneHash, phoneHash), gt(otpCodes.createdAt, hourAgo)))
          .orderBy(desc(otpCodes.createdAt));
        const latest = recent[0]?.createdAt.getTime();
        if (latest !== undefined && Date.now() - latest < OTP_RULES.resendAfterSeconds * 1000) {
          throw new TooManyRequestsError(
            secondsUntil(latest + OTP_RULES.resendAfterSeconds * 1000),
            'otp_resend_too_soon',
          );
        }
        const oldest = recent[OTP_RULES.perPhonePerHour - 1]?.createdAt.getTime();
        if (oldest !== undefined)
          throw new TooManyRequestsError(secondsUntil(oldest + 3_600_000), 'otp_rate_limited');
        const [fromIp] = await tx
          .select({ n: count() })
          .from(otpCodes)
          .where(and(eq(otpCodes.ip, client.ip), gt(otpCodes.createdAt, hourAgo)));
        if ((fromIp?.n ?? 0) >= OTP_RULES.perIpPerHour)
          throw new TooManyRequestsError(3600, 'otp_rate_limited');
        // Only the newest code works: asking again retires the older ones.
        const retired = await tx
          .update(otpCodes)
          .set({ consumedAt: new Date() })
          .where(and(eq(otpCodes.phoneHash, phoneHash), isNull(otpCodes.consumedAt)))
          .returning({ id: otpCodes.id });
        const [created] = await tx
          .insert(otpCodes)
          .values({
            phoneHash,
            codeHash: otpHash(phoneHash, code),
            expiresAt: new Date(Date.now() + OTP_RULES.ttlSeconds * 1000),
            ip: client.ip,
          })
          .returning({ id: otpCodes.id });
        return { id: created!.id, retired: retired.map((r) => r.id) };
      });
      try {
        await sms.send(phone, OTP_TEXT[language](code));
      } catch (err) {
        // Undo the request: a code nobody received must not hold back the retry nor count against the limits.
        await db.transaction(async (tx) => {
          await tx.delete(otpCodes).where(eq(otpCodes.id, sent.id));
          if (sent.retired.length > 0) {
            await tx.update(otpCodes).set({ consumedAt: null }).where(inArray(otpCodes.id, sent.retired));
          }
        });
        throw Object.assign(
          new AppError(503, 'sms_unavailable', 'the code could not be sent; try again in a moment'),
          { cause: err },
        );
      }
      return { expires_in: OTP_RULES.ttlSeconds, resend_after: OTP_RULES.resendAfterSeconds };
    },

    /** Checks a code; signs in the phone's account, or creates it when the phone is new. */
    async verifyOtp(input: { phone: string; code: string; full_name?: string }, client: ClientInfo) {
      const phoneHash = cipher.blindIndex(input.phone);
      const outcome = await db.transaction(async (tx) => {
        const refusal = await spendCode(tx, phoneHash, input.code);
        if (refusal) return { error: refusal };
        const existing = await findLiveUser(eq(users.phoneHash, phoneHash));
        if (existing) {
          assertMaySignIn(existing);
          await throttle.clear(tx, [existing.phoneHash, existing.emailHash]);
          const user = existing.phoneVerifiedAt
            ? existing
            : (
                await tx
                  .update(users)
                  .set({ phoneVerifiedAt: new Date() })
                  .where(eq(users.id, existing.id))
                  .returning()
              )[0]!;
          return { tokens: await openSession(tx, user, client), isNewUser: false };
        }
        const user = await createUser(
          tx,
          {
            phoneEncrypted: cipher.encrypt(input.phone),
            phoneHash,
            phoneVerifiedAt: new Date(),
            fullName: input.full_name ?? '',
            roles: ['client'],
          },
          client,
        );
        return { tokens: await openSession(tx, user, client), isNewUser: true };
      });
      if ('error' in outcome) throw outcome.error;
      return { ...outcome.tokens, is_new_user: outcome.isNewUser };
    },

    /**
     * Exchanges a refresh token for a new pair. A token works once: a second use means it was copied,
     * so the whole session ends and both holders must sign in again.
     */
    async refresh(token: string, client: ClientInfo): Promise<Tokens> {
      const tokenHash = sha256(token);
      const outcome = await db.transaction(async (tx) => {
        const [current] = await tx
          .update(refreshTokens)
          .set({ rotatedAt: new Date() })
          .where(and(eq(refreshTokens.tokenHash, tokenHash), isNull(refreshTokens.rotatedAt)))
          .returning();
        if (!current) {
          const [used] = await tx
            .select()
            .from(refreshTokens)
            .where(eq(refreshTokens.tokenHash, tokenHash))
            .limit(1);
          if (!used)
            return {
              error: new UnauthorizedError('invalid_refresh_token', 'the refresh token is not valid'),
            };
          const revoked = await revokeSessions(
            tx,
            eq(userSessions.id, used.sessionId),
            'refresh_token_reused',
          );
          return {
            revoked,
            error: new UnauthorizedError(
              'refresh_token_reused',
              'this refresh token was already used; the session has been ended for safety, sign in again',
            ),
          };
        }
        const [session] = await tx
          .select()
          .from(userSessions)
          .where(eq(userSessions.id, current.sessionId))
          .for('update');
        const ended = new UnauthorizedError('session_expired', 'this session has ended; sign in again');
        if (!session) return { error: ended };
        const user = await findLiveUser(eq(users.id, session.userId));
        // Blocking ends the sessions too, so the account's state is checked first: the app should
        // tell the person their account is blocked, not send them back to a sign-in that will fail.
        const refusal = user && signInRefusal(user);
        if (!user || refusal) {
          const revoked = await revokeSessions(tx, eq(userSessions.id, session.id), 'account_closed');
          return { revoked, error: refusal ?? ended };
        }
        if (session.revokedAt || current.expiresAt.getTime() <= Date.now()) return { error: ended };
        const expiresAt = new Date(Date.now() + refreshTtlMs);
        const next = randomToken();
        await tx.insert(refreshTokens).values({ sessionId: session.id, tokenHash: sha256(next), expiresAt });
        await tx
          .update(userSessions)
          .set({ lastUsedAt: new Date(), expiresAt, ip: client.ip })
          .where(eq(userSessions.id, session.id));
        return { tokens: await issueTokens(user, session.id, next, expiresAt) };
      });
      if ('revoked' in outcome && outcome.revoked) await forgetSessions(outcome.revoked);
      if ('error' in outcome && outcome.error) throw outcome.error;
      return outcome.tokens as Tokens;
    },

    async me(actor: Actor) {
      // The export reads the account inside its transaction, where the prepared statement must not run.
      const read = inTransaction() ? liveUserQuery() : liveUserById;
      const [user] = await read.execute({ id: actor.userId ?? '' });
      if (!user) throw new NotFoundError('user');
      return view(user);
    },

    async listSessions(actor: Actor, request: PageRequest): Promise<PageResult<SessionView>> {
      const page = sessionPages(request);
      const rows = await db
        .select()
        .from(userSessions)
        .where(
          and(
            eq(userSessions.userId, actor.userId ?? ''),
            isNull(userSessions.revokedAt),
            gt(userSessions.expiresAt, new Date()),
            page.where,
          ),
        )
        .orderBy(page.orderBy)
        .limit(page.limit);
      return page.page(
        rows,
        (s) => s.id,
        (s) => ({
          id: s.id,
          device_name: s.deviceName,
          user_agent: s.userAgent,
          ip: s.ip,
          created_at: s.createdAt.toISOString(),
          last_used_at: s.lastUsedAt.toISOString(),
          expires_at: s.expiresAt.toISOString(),
          current: s.id === actor.sessionId,
        }),
      );
    },

    /** Ends one of the caller's sessions; someone else's session is "not found". */
    async revokeSession(actor: Actor, sessionId: string) {
      const revoked = await db.transaction(async (tx) => {
        const [session] = await tx
          .select({ id: userSessions.id })
          .from(userSessions)
          .where(and(eq(userSessions.id, sessionId), eq(userSessions.userId, actor.userId ?? '')));
        if (!session) throw new NotFoundError('session');
        return revokeSessions(tx, eq(userSessions.id, sessionId), 'signed_out');
      });
      await forgetSessions(revoked);
    },

    async logoutAll(actor: Actor) {
      const revoked = await revokeSessions(
        db,
        eq(userSessions.userId, actor.userId ?? ''),
        'signed_out_everywhere',
      );
      await forgetSessions(revoked);
      return revoked.length;
    },

    /** Ends every session of an account, for staff actions and account closing. */
    async endSessionsOf(userId: string, reason: string) {
      const revoked = await revokeSessions(db, eq(userSessions.userId, userId), reason);
      await forgetSessions(revoked);
      return revoked.length;
    },

    /**
     * What closing, erasing and exporting ask for beyond the access token, which may have been stolen: the
     * account's password, or a fresh one-time code sent to its phone (the only way for an account without a
     * password). A wrong password counts in the sign-in throttle, a wrong code against the code's tries;
     * each is committed on its own, before the action's transaction, so the count stands though the request
     * fails: never call this inside a transaction. A wrong one answers 403, not 401: the token is good, and
     * a client that refreshes and retries on a 401 would send the same wrong password twice.
     */
    async reauthenticate(actor: Actor, given: ReauthenticationInput) {
      const user = await findLiveUser(eq(users.id, actor.userId ?? ''));
      if (!user) throw new NotFoundError('user');
      if (given.password !== undefined && given.otp_code !== undefined) {
        throw new ValidationError([
          { in: 'body', field: 'otp_code', message: 'give either password or otp_code, not both' },
        ]);
      }
      if (given.password !== undefined && user.passwordHash) {
        if (await checkPassword(user, given.password)) return;
        throw new ForbiddenError('wrong_password', 'the password is wrong');
      }
      if (given.otp_code !== undefined && user.phoneHash) {
        const phoneHash = user.phoneHash;
        const code = given.otp_code;
        const refusal = await db.transaction((tx) => spendCode(tx, phoneHash, code));
        if (refusal) throw new ForbiddenError(refusal.code, refusal.message);
        return;
      }
      throw reauthenticationRequired(user);
    },

    /** Sets or changes the password; every other session ends, this one stays. */
    async changePassword(actor: Actor, input: { current_password?: string; new_password: string }) {
      const user = await findLiveUser(eq(users.id, actor.userId ?? ''));
      if (!user) throw new NotFoundError('user');
      if (user.passwordHash) {
        if (!input.current_password || !(await checkPassword(user, input.current_password))) {
          throw new RuleViolationError('wrong_current_password', 'the current password is wrong', [
            { in: 'body', field: 'current_password', message: 'does not match' },
          ]);
        }
      }
      const passwordHash = await hashPassword(input.new_password, PASSWORD_HASHING);
      const revoked = await db.transaction(async (tx) => {
        const [after] = await tx.update(users).set({ passwordHash }).where(eq(users.id, user.id)).returning();
        await writeAudit(tx, actor, [
          { action: 'update', entity: 'users', entityId: user.id, before: user, after },
        ]);
        const others = and(eq(userSessions.userId, user.id), sql`${userSessions.id} <> ${actor.sessionId}`);
        return revokeSessions(tx, others as SQL, 'password_changed');
      });
      await forgetSessions(revoked);
    },

    /**
     * Staff block or unblock an account; blocking ends every session at once. Not one's own, nor of someone
     * one has dealings with; a staff account only by an admin (platform/own-case.ts).
     */
    async setStatus(actor: Actor, userId: string, status: UserStatus) {
      const revoked = await db.transaction(async (tx) => {
        const before = await findLiveUser(eq(users.id, userId));
        if (!before) throw new NotFoundError('user');
        await cases.assertMayActOnAccount(tx, actor, before, 'dealings');
        const [after] = await tx.update(users).set({ status }).where(eq(users.id, userId)).returning();
        await writeAudit(tx, actor, [{ action: 'update', entity: 'users', entityId: userId, before, after }]);
        if (status === 'blocked' && before.status !== 'blocked') {
          await events.emit({ type: 'account_blocked', user_id: userId, at: new Date().toISOString() });
        }
        return status === 'active'
          ? []
          : revokeSessions(tx, eq(userSessions.userId, userId), `account_${status}`);
      });
      await forgetSessions(revoked);
      return view((await findLiveUser(eq(users.id, userId)))!);
    },

    /** The first admin, from the command line: creates the account, or gives an existing one the admin role. */
    async createAdmin(input: { email: string; password: string; fullName: string }, client: ClientInfo) {
      const existing = await findLiveUser(eq(users.emailHash, emailIndex(cipher, input.email)));
      if (existing) {
        if (existing.roles.includes('admin')) return { user: view(existing), created: false };
        const roles: Role[] = [...existing.roles, 'admin'];
        const after = await db.transaction(async (tx) => {
          const [row] = await tx.update(users).set({ roles }).where(eq(users.id, existing.id)).returning();
          await writeAudit(tx, actorFor(existing, client), [
            { action: 'update', entity: 'users', entityId: existing.id, before: existing, after: row },
          ]);
          return row!;
        });
        return { user: view(after), created: false };
      }
      const passwordHash = await hashPassword(input.password, PASSWORD_HASHING);
      const user = await db.transaction((tx) =>
        createUser(
          tx,
          {
            ...emailColumns(cipher, input.email),
            emailVerifiedAt: new Date(),
            passwordHash,
            fullName: input.fullName,
            roles: ['admin'],
          },
          client,
        ),
      );
      return { user: view(user), created: true };
    },
  };
}
