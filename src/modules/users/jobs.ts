import { lt } from 'drizzle-orm';
import type { Db } from '../../platform/db.ts';
import { defineJob } from '../../platform/jobs.ts';
import { otpCodes, refreshTokens, signInThrottles } from './schema.ts';
import { SIGN_IN_THROTTLE } from './sign-in-throttle.ts';

/**
 * Codes and refresh tokens are worthless once expired; a day's grace keeps them for support questions.
 * Wrong passwords are forgotten a day after the last one, row or no row.
 */
const purgeExpiredCredentials = (db: Db) =>
  defineJob<Record<string, never>>({
    name: 'users.purge-expired-credentials',
    cron: '40 3 * * *',
    async handle(_data, { log }) {
      const cutoff = new Date(Date.now() - 86_400_000);
      const codes = await db
        .delete(otpCodes)
        .where(lt(otpCodes.createdAt, cutoff))
        .returning({ id: otpCodes.id });
      const tokens = await db
        .delete(refreshTokens)
        .where(lt(refreshTokens.expiresAt, cutoff))
        .returning({ id: refreshTokens.id });
      const throttles = await db
        .delete(signInThrottles)
        .where(
          lt(
            signInThrottles.lastFailureAt,
            new Date(Date.now() - SIGN_IN_THROTTLE.forgetAfterSeconds * 1000),
          ),
        )
        .returning({ id: signInThrottles.id });
      log.info(
        { codes: codes.length, tokens: tokens.length, throttles: throttles.length },
        'purged expired credentials',
      );
    },
  });

export const accountJobs = (db: Db) => [purgeExpiredCredentials(db)];
