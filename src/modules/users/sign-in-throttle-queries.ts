import { inArray, type SQL, sql } from 'drizzle-orm';
import type { Db } from '../../platform/db.ts';
import { signInThrottles } from './schema.ts';
import type { SIGN_IN_THROTTLE } from './sign-in-throttle.ts';

type Rules = typeof SIGN_IN_THROTTLE;

const t = signInThrottles;

/** The failures after one more, on the row as it is. */
const nextFailures = (rules: Rules) => sql`case
  when ${t.lastFailureAt} < now() - make_interval(secs => ${rules.forgetAfterSeconds}) then 1
  else ${t.failures} + 1 end`;

/** The lock that `failures` failures earn: none below the threshold, then doubling from the first, capped. */
const lockAfter = (failures: SQL, rules: Rules) => sql`case when ${failures} >= ${rules.freeFailures}
  then now() + make_interval(secs => least(${rules.maxLockSeconds},
    ${rules.firstLockSeconds} * power(2, least(${failures} - ${rules.freeFailures}, 16))))
  end`;

/**
 * Counts a failure of `subject` unless a lock holds: its failures and lock after it, or nothing while
 * locked (the row is left as it is).
 */
export async function countFailure(db: Db, subject: string, rules: Rules) {
  const [counted] = await db
    .insert(t)
    .values({ subject, failures: 1, lastFailureAt: sql`now()`, lockedUntil: lockAfter(sql`1`, rules) })
    .onConflictDoUpdate({
      target: t.subject,
      set: {
        failures: nextFailures(rules),
        lastFailureAt: sql`now()`,
        lockedUntil: lockAfter(nextFailures(rules), rules),
        updatedAt: sql`now()`,
      },
      setWhere: sql`${t.lockedUntil} is null or ${t.lockedUntil} <= now()`,
    })
    .returning({ failures: t.failures, lockedUntil: t.lockedUntil });
  return counted;
}

/** The seconds left of `subject`'s lock, by the database's clock. */
export async function lockSecondsLeft(db: Db, subject: string) {
  const [locked] = await db
    .select({ seconds: sql<number>`ceil(extract(epoch from ${t.lockedUntil} - now()))::int` })
    .from(t)
    .where(sql`${t.subject} = ${subject}`);
  return locked?.seconds;
}

export const forgetFailures = (tx: Db, subjects: string[]) =>
  tx.delete(t).where(inArray(t.subject, subjects));
