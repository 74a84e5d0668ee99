import { newId } from '../../platform/columns.ts';
import type { Db } from '../../platform/db.ts';
import { TooManyRequestsError } from '../../platform/errors.ts';
import type { AccountEvents } from './events.ts';
import { countFailure, forgetFailures, lockSecondsLeft } from './sign-in-throttle-queries.ts';

/** Password sign-in per email or phone, from any number of addresses. */
export const SIGN_IN_THROTTLE = {
  /** Wrong passwords in a row before the first lock. */
  freeFailures: 5,
  firstLockSeconds: 60,
  /** Each wrong password after a lock doubles the next one, up to this. */
  maxLockSeconds: 3600,
  /** A day without a wrong password forgets the earlier ones. */
  forgetAfterSeconds: 86_400,
} as const;

/** A password attempt, counted as failed until it proves right. */
export interface SignInAttempt {
  subject: string;
  failures: number;
  /** Set when this attempt, if wrong, starts a lock. */
  lockedUntil: Date | null;
}

export type SignInThrottle = ReturnType<typeof createSignInThrottle>;

export function createSignInThrottle({ db, events }: { db: Db; events: AccountEvents }) {
  return {
    /**
     * Counts an attempt before its password is checked, so a burst of guesses sent at once cannot all pass
     * the check before the first of them is recorded; throws 429 while a lock holds, without counting. The
     * lock's time comes from the database's clock, which every API process shares.
     */
    async begin(subject: string): Promise<SignInAttempt> {
      const counted = await countFailure(db, subject, SIGN_IN_THROTTLE);
      if (counted) return { subject, ...counted };
      throw new TooManyRequestsError(
        Math.max(1, (await lockSecondsLeft(db, subject)) ?? 1),
        'login_throttled',
        'too many wrong passwords for this email or phone; sign in with a one-time code, or wait',
      );
    },

    /** A wrong password: the account's owner hears of each lock it starts (an unknown email has no one to tell). */
    async failed(
      attempt: SignInAttempt,
      account: { userId: string; identifier: 'email' | 'phone' } | undefined,
    ) {
      if (!attempt.lockedUntil || !account) return;
      await events.emit({
        id: newId(),
        type: 'account_sign_in_throttled',
        user_id: account.userId,
        at: new Date().toISOString(),
        identifier: account.identifier,
        failures: attempt.failures,
        locked_until: attempt.lockedUntil.toISOString(),
      });
    },

    /** The owner signed in: their identifiers start again from no failures. */
    async clear(tx: Db, subjects: (string | null)[]) {
      const known = subjects.filter((s): s is string => s !== null);
      if (known.length > 0) await forgetFailures(tx, known);
    },
  };
}
