import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  randomBytes,
  randomInt,
} from 'node:crypto';

/**
 * Field encryption with AES-256-GCM and a versioned key ring: the newest key encrypts,
 * every key still in the ring decrypts, so keys rotate without downtime.
 * Stored form: `v<version>.<iv>.<tag>.<ciphertext>`, base64url parts.
 */
export interface FieldCipher {
  encrypt(plain: string): string;
  decrypt(stored: string): string;
  /** The key version a stored value was written with. */
  versionOf(stored: string): number;
  currentVersion: number;
  /** A keyed hash for equality look-ups of an encrypted value (a blind index). */
  blindIndex(value: string): string;
}

export function createFieldCipher(keys: Map<number, Buffer>, blindIndexKey: string): FieldCipher {
  const currentVersion = Math.max(...keys.keys());
  const currentKey = keys.get(currentVersion) as Buffer;
  const versionOf = (stored: string) => Number(stored.slice(1, stored.indexOf('.')));
  return {
    currentVersion,
    versionOf,
    encrypt(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', currentKey, iv);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return [`v${currentVersion}`, iv, cipher.getAuthTag(), body]
        .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
        .join('.');
    },
    decrypt(stored) {
      const [, iv, tag, body] = stored.split('.');
      const key = keys.get(versionOf(stored));
      if (!key || !iv || !tag || body === undefined)
        throw new Error('cannot decrypt: unknown key version or bad format');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    },
    blindIndex: (value) => createHmac('sha256', blindIndexKey).update(value).digest('base64url'),
  };
}

/** For tokens that are random already (refresh tokens): a plain digest is enough to store them. */
export const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');

export const randomToken = (bytes = 32) => randomBytes(bytes).toString('base64url');

export const randomDigits = (length: number) => Array.from({ length }, () => randomInt(0, 10)).join('');
