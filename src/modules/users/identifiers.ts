import type { FieldCipher } from '../../platform/crypto.ts';

/**
 * An email address matches whatever its case: it is stored and looked up only in this form. Validation lets
 * only ASCII addresses in (ajv-formats' `email`), so lower case is all the folding there is to do.
 */
const normalizeEmail = (email: string) => email.trim().toLowerCase();

/** The blind index an account is found by from an email, as typed. */
export const emailIndex = (cipher: FieldCipher, email: string) => cipher.blindIndex(normalizeEmail(email));

/** The `users` columns that hold an email. */
export function emailColumns(cipher: FieldCipher, email: string) {
  const normal = normalizeEmail(email);
  return { emailEncrypted: cipher.encrypt(normal), emailHash: cipher.blindIndex(normal) };
}
