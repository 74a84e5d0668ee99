import { hash as hashPassword, verify as verifyPassword } from '@node-rs/argon2';
import type { Actor, Role } from '../../platform/actor.ts';
import { writeAudit } from '../../platform/audit/service.ts';
import type { TokenSigner } from '../../platform/auth.ts';
import type { Cache } from '../../platform/cache.ts';
import { type FieldCipher, randomToken } from '../../platform/crypto.ts';
import { type Db, inTransaction } from '../../platform/db.ts';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  onUniqueViolation,
  RuleViolationError,
  UnauthorizedError,
  ValidationError,
} from '../../platform/errors.ts';
import type { LanguageCode } from '../../platform/i18n.ts';
import type { CaseRules } from '../../platform/own-case.ts';
import {
  insertUser,
  liveUserBy,
  liveUserView,
  lockedStatus,
  statuses,
  type UserRow,
  updateUser,
} from './account-queries.ts';
import { accountView, signInRefusal, standingOf } from './account-view.ts';
import type { AccountStanding, OtpSent, ReauthenticationInput } from './contract.ts';
import type { AccountEvents } from './events.ts';
import { emailColumns, emailIndex } from './identifiers.ts';
import { createOtpCodes } from './otp-service.ts';
import type { users } from './schema.ts';
import { otherSessionsOf, sessionsOf } from './session-queries.ts';
import { type ClientInfo, createSessions } from './session-service.ts';
import type { SignInAttempt, SignInThrottle } from './sign-in-throttle.ts';
import type { SmsSender } from './sms.ts';

export type { ClientInfo } from './session-service.ts';

/** OWASP's argon2id baseline: 19 MiB, two passes (the library's default algorithm is argon2id). */
const PASSWORD_HASHING = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

type UserStatus = UserRow['status'];

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

export type AccountService = ReturnType<typeof createAccountService>;

/** Accounts: signing up and in (password or one-time code), credentials, and staff actions on an account. */
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
  const sessions = createSessions({ db, cache, signer, cipher, refreshTokenTtlDays, events });
  const codes = createOtpCodes({ db, cipher, sms });
  // Verifying against a real hash when the account does not exist keeps the answer time the same.
  const unknownUserHash = hashPassword(randomToken(), PASSWORD_HASHING);

  const actorFor = (user: UserRow, client: ClientInfo): Actor => ({
    userId: user.id,
    sessionId: null,
    roles: user.roles,
    requestId: client.requestId,
  });
  const view = (user: Parameters<typeof accountView>[1]) => accountView(cipher, user);

  function assertMaySignIn(user: UserRow) {
    const refusal = signInRefusal(user);
    if (refusal) throw refusal;
  }

  async function createUser(tx: Db, values: typeof users.$inferInsert, client: ClientInfo) {
    const user = await insertUser(tx, values);
    await writeAudit(tx, actorFor(user, client), [
      { action: 'create', entity: 'users', entityId: user.id, after: user },
    ]);
    return user;
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

  /** Prepared as the session check is: GET /me reads it on every call. */
  const preparedUserView = liveUserView(db).prepare('live_user_by_id');

  return {
    view,

    /**
     * For another module's transaction: how the account stands, with its row share-locked until that
     * transaction ends. A block or a closing that committed first is seen; one that comes later waits, so
     * what the caller decides on this answer cannot be overtaken by it.
     */
    async lockStanding(tx: Db, userId: string): Promise<AccountStanding> {
      const row = await lockedStatus(tx, userId);
      return row ? standingOf(row) : 'closed';
    },

    /** How each account stands, for a list another module shows; an unknown id is left out. */
    async standings(userIds: string[]): Promise<Map<string, AccountStanding>> {
      if (userIds.length === 0) return new Map();
      const rows = await statuses(db, userIds);
      return new Map(rows.map((r) => [r.id, standingOf(r)]));
    },

    isSessionLive: sessions.isSessionLive,
    refresh: sessions.refresh,
    listSessions: sessions.listSessions,
    revokeSession: sessions.revokeSession,
    logoutAll: sessions.logoutAll,
    endSessionsOf: sessions.endSessionsOf,
    endExpiredSessions: sessions.endExpiredSessions,

    async register(input: { email: string; password: string; full_name: string }, client: ClientInfo) {
      const passwordHash = await hashPassword(input.password, PASSWORD_HASHING);
      return onUniqueViolation(
        db.transaction(async (tx) => {
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
          return sessions.open(tx, user, client);
        }),
        {
          users_email_hash_live_uq: () =>
            new ConflictError('email_taken', 'an account with this email already exists; sign in instead'),
        },
      );
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
      const user = await liveUserBy(db, identifier === 'email' ? 'emailHash' : 'phoneHash', subject);
      const matches = await verifyPassword(user?.passwordHash ?? (await unknownUserHash), input.password);
      if (!user?.passwordHash || !matches) {
        await throttle.failed(attempt, user && { userId: user.id, identifier });
        throw new UnauthorizedError('invalid_credentials', 'the email, phone or password is wrong');
      }
      assertMaySignIn(user);
      return db.transaction(async (tx) => {
        await throttle.clear(tx, [subject]);
        return sessions.open(tx, user, client);
      });
    },

    async requestOtp(phone: string, client: ClientInfo, language: LanguageCode): Promise<OtpSent> {
      return codes.request(phone, client.ip, language);
    },

    /** Checks a code; signs in the phone's account, or creates it when the phone is new. */
    async verifyOtp(input: { phone: string; code: string; full_name?: string }, client: ClientInfo) {
      const phoneHash = cipher.blindIndex(input.phone);
      const outcome = await db.transaction(async (tx) => {
        const refusal = await codes.spend(tx, phoneHash, input.code);
        if (refusal) return { error: refusal };
        const existing = await liveUserBy(db, 'phoneHash', phoneHash);
        if (existing) {
          assertMaySignIn(existing);
          await throttle.clear(tx, [existing.phoneHash, existing.emailHash]);
          const user = existing.phoneVerifiedAt
            ? existing
            : await updateUser(tx, existing.id, { phoneVerifiedAt: new Date() });
          return { tokens: await sessions.open(tx, user, client), isNewUser: false };
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
        return { tokens: await sessions.open(tx, user, client), isNewUser: true };
      });
      if ('error' in outcome) throw outcome.error;
      return { ...outcome.tokens, is_new_user: outcome.isNewUser };
    },

    async me(actor: Actor) {
      // The export reads the account inside its transaction, where the prepared statement must not run.
      const read = inTransaction() ? liveUserView(db) : preparedUserView;
      const [user] = await read.execute({ id: actor.userId ?? '' });
      if (!user) throw new NotFoundError('user');
      return view(user);
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
      const user = await liveUserBy(db, 'id', actor.userId ?? '');
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
        const refusal = await db.transaction((tx) => codes.spend(tx, phoneHash, code));
        if (refusal) throw new ForbiddenError(refusal.code, refusal.message);
        return;
      }
      throw reauthenticationRequired(user);
    },

    /** Sets or changes the password; every other session ends, this one stays. */
    async changePassword(actor: Actor, input: { current_password?: string; new_password: string }) {
      const user = await liveUserBy(db, 'id', actor.userId ?? '');
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
        const after = await updateUser(tx, user.id, { passwordHash });
        await writeAudit(tx, actor, [
          { action: 'update', entity: 'users', entityId: user.id, before: user, after },
        ]);
        return sessions.revoke(tx, otherSessionsOf(user.id, actor.sessionId), 'password_changed');
      });
      await sessions.forget(revoked);
    },

    /**
     * Staff block or unblock an account; blocking ends every session at once. Not one's own, nor of someone
     * one has dealings with; a staff account only by an admin (platform/own-case.ts).
     */
    async setStatus(actor: Actor, userId: string, status: UserStatus) {
      const revoked = await db.transaction(async (tx) => {
        const before = await liveUserBy(db, 'id', userId);
        if (!before) throw new NotFoundError('user');
        await cases.assertMayActOnAccount(tx, actor, before, 'dealings');
        const after = await updateUser(tx, userId, { status });
        await writeAudit(tx, actor, [{ action: 'update', entity: 'users', entityId: userId, before, after }]);
        if (status === 'blocked' && before.status !== 'blocked') {
          await events.emit({ type: 'account_blocked', user_id: userId, at: new Date().toISOString() });
        }
        return status === 'active' ? [] : sessions.revoke(tx, sessionsOf(userId), `account_${status}`);
      });
      await sessions.forget(revoked);
      return view((await liveUserBy(db, 'id', userId))!);
    },

    /** The first admin, from the command line: creates the account, or gives an existing one the admin role. */
    async createAdmin(input: { email: string; password: string; fullName: string }, client: ClientInfo) {
      const existing = await liveUserBy(db, 'emailHash', emailIndex(cipher, input.email));
      if (existing) {
        if (existing.roles.includes('admin')) return { user: view(existing), created: false };
        const roles: Role[] = [...existing.roles, 'admin'];
        const after = await db.transaction(async (tx) => {
          const row = await updateUser(tx, existing.id, { roles });
          await writeAudit(tx, actorFor(existing, client), [
            { action: 'update', entity: 'users', entityId: existing.id, before: existing, after: row },
          ]);
          return row;
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
