import { timingSafeEqual } from 'node:crypto';
import { type FieldCipher, randomDigits } from '../../platform/crypto.ts';
import type { Db } from '../../platform/db.ts';
import { AppError, TooManyRequestsError, UnauthorizedError } from '../../platform/errors.ts';
import type { LanguageCode } from '../../platform/i18n.ts';
import type { OtpSent } from './contract.ts';
import {
  codesSentTo,
  countCodesFrom,
  insertCode,
  lockNewestLiveCode,
  lockRequesters,
  retireCodes,
  undoCodeRequest,
  updateCode,
} from './otp-queries.ts';
import type { SmsSender } from './sms.ts';

export const OTP_RULES = {
  digits: 6,
  ttlSeconds: 5 * 60,
  maxAttempts: 5,
  resendAfterSeconds: 60,
  perPhonePerHour: 5,
  perIpPerHour: 20,
} as const;

const OTP_TEXT: Record<LanguageCode, (code: string) => string> = {
  ru: (code) => `Код входа: ${code}. Никому его не сообщайте.`,
  ky: (code) => `Кирүү коду: ${code}. Аны эч кимге айтпаңыз.`,
  en: (code) => `Your sign-in code: ${code}. Do not share it.`,
};

const secondsUntil = (time: number) => Math.max(1, Math.ceil((time - Date.now()) / 1000));

export type OtpCodes = ReturnType<typeof createOtpCodes>;

/** One-time codes sent by SMS: how often a phone and an IP may ask, and how many tries a code takes. */
export function createOtpCodes({ db, cipher, sms }: { db: Db; cipher: FieldCipher; sms: SmsSender }) {
  const otpHash = (phoneHash: string, code: string) => cipher.blindIndex(`otp:${phoneHash}:${code}`);

  return {
    async request(phone: string, ip: string, language: LanguageCode): Promise<OtpSent> {
      const phoneHash = cipher.blindIndex(phone);
      const code = randomDigits(OTP_RULES.digits);
      const sent = await db.transaction(async (tx) => {
        await lockRequesters(tx, ip, phoneHash);
        const hourAgo = new Date(Date.now() - 3_600_000);
        const recent = await codesSentTo(tx, phoneHash, hourAgo);
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
        if ((await countCodesFrom(tx, ip, hourAgo)) >= OTP_RULES.perIpPerHour)
          throw new TooManyRequestsError(3600, 'otp_rate_limited');
        // Only the newest code works: asking again retires the older ones.
        const retired = await retireCodes(tx, phoneHash);
        const created = await insertCode(tx, {
          phoneHash,
          codeHash: otpHash(phoneHash, code),
          expiresAt: new Date(Date.now() + OTP_RULES.ttlSeconds * 1000),
          ip,
        });
        return { id: created.id, retired };
      });
      try {
        await sms.send(phone, OTP_TEXT[language](code));
      } catch (err) {
        // Undo the request: a code nobody received must not hold back the retry nor count against the limits.
        await db.transaction((tx) => undoCodeRequest(tx, sent));
        throw Object.assign(
          new AppError(503, 'sms_unavailable', 'the code could not be sent; try again in a moment'),
          { cause: err },
        );
      }
      return { expires_in: OTP_RULES.ttlSeconds, resend_after: OTP_RULES.resendAfterSeconds };
    },

    /**
     * Spends the phone's newest live code when `code` is it; otherwise counts a wrong try against it and
     * answers why the code does not work. The caller commits the count even though its request fails.
     */
    async spend(tx: Db, phoneHash: string, code: string): Promise<AppError | undefined> {
      const otp = await lockNewestLiveCode(tx, phoneHash);
      if (!otp) {
        return new UnauthorizedError(
          'otp_invalid',
          'there is no valid code for this phone; request a new one',
        );
      }
      const expected = Buffer.from(otp.codeHash);
      const given = Buffer.from(otpHash(phoneHash, code));
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
        const attempts = otp.attempts + 1;
        const spent = attempts >= OTP_RULES.maxAttempts;
        await updateCode(tx, otp.id, { attempts, consumedAt: spent ? new Date() : null });
        return spent
          ? new UnauthorizedError('otp_attempts_exceeded', 'too many wrong codes; request a new one')
          : new UnauthorizedError(
              'otp_wrong_code',
              `the code is wrong; ${OTP_RULES.maxAttempts - attempts} tries left`,
            );
      }
      await updateCode(tx, otp.id, { consumedAt: new Date() });
      return undefined;
    },
  };
}
