import { sql } from 'drizzle-orm';
import { index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import type { Role } from '../../platform/actor.ts';
import { baseColumns, softDeleteColumns, softDeleteIndexes } from '../../platform/columns.ts';

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
