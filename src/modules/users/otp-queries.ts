import { and, count, desc, eq, gt, inArray, isNull, sql } from 'drizzle-orm';
import type { Db } from '../../platform/db.ts';
import { otpCodes } from './schema.ts';

/* The one-time code service's statements on `otp_codes`. */

/** The phone's newest code that is neither spent nor expired, locked for the transaction. */
export async function lockNewestLiveCode(tx: Db, phoneHash: string) {
  const [otp] = await tx
    .select()
    .from(otpCodes)
    .where(
      and(eq(otpCodes.phoneHash, phoneHash), isNull(otpCodes.consumedAt), gt(otpCodes.expiresAt, new Date())),
    )
    .orderBy(desc(otpCodes.createdAt))
    .limit(1)
    .for('update');
  return otp;
}

export async function updateCode(tx: Db, id: string, changes: Partial<typeof otpCodes.$inferInsert>) {
  await tx.update(otpCodes).set(changes).where(eq(otpCodes.id, id));
}

/**
 * Holds the requests of an IP and of a phone to one at a time until the transaction ends, always taken in
 * that order, so two at once cannot both pass the limits.
 */
export async function lockRequesters(tx: Db, ip: string, phoneHash: string) {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`otp-ip:${ip}`}))`);
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`otp:${phoneHash}`}))`);
}

/** When each of the phone's codes since `since` was made, newest first. */
export const codesSentTo = (tx: Db, phoneHash: string, since: Date) =>
  tx
    .select({ createdAt: otpCodes.createdAt })
    .from(otpCodes)
    .where(and(eq(otpCodes.phoneHash, phoneHash), gt(otpCodes.createdAt, since)))
    .orderBy(desc(otpCodes.createdAt));

export async function countCodesFrom(tx: Db, ip: string, since: Date) {
  const [fromIp] = await tx
    .select({ n: count() })
    .from(otpCodes)
    .where(and(eq(otpCodes.ip, ip), gt(otpCodes.createdAt, since)));
  return fromIp?.n ?? 0;
}

/** Spends the phone's unspent codes; answers their ids. */
export async function retireCodes(tx: Db, phoneHash: string) {
  const retired = await tx
    .update(otpCodes)
    .set({ consumedAt: new Date() })
    .where(and(eq(otpCodes.phoneHash, phoneHash), isNull(otpCodes.consumedAt)))
    .returning({ id: otpCodes.id });
  return retired.map((r) => r.id);
}

export async function insertCode(tx: Db, values: typeof otpCodes.$inferInsert) {
  const [created] = await tx.insert(otpCodes).values(values).returning({ id: otpCodes.id });
  return created as { id: string };
}

/** Takes back a request: its code goes, and the codes it retired work again. */
export async function undoCodeRequest(tx: Db, sent: { id: string; retired: string[] }) {
  await tx.delete(otpCodes).where(eq(otpCodes.id, sent.id));
  if (sent.retired.length > 0) {
    await tx.update(otpCodes).set({ consumedAt: null }).where(inArray(otpCodes.id, sent.retired));
  }
}
