import { randomBytes } from 'node:crypto';
import { and, asc, eq, getTableName, gt, isNotNull, like, not, type SQL } from 'drizzle-orm';
import type { FieldCipher } from './crypto.ts';
import type { Db } from './db.ts';
import type { EncryptedColumn } from './encrypted-columns.ts';
import { defineJob } from './jobs.ts';

const BATCH = 500;

export interface RotationResult {
  /** Values re-encrypted per `table.column`. */
  reencrypted: Record<string, number>;
  keyVersion: number;
}

/**
 * Re-encrypts every value of the `encrypted` columns not written with the newest key. Safe while the
 * service runs: each value is replaced only if it is still what was read, so a concurrent edit (already on
 * the new key) wins.
 */
export async function rotateEncryptionKeys(
  db: Db,
  cipher: FieldCipher,
  encrypted: readonly EncryptedColumn[],
): Promise<RotationResult> {
  const current = `v${cipher.currentVersion}.%`;
  const reencrypted: Record<string, number> = {};
  for (const { table, column, key } of encrypted) {
    const name = `${getTableName(table)}.${column.name}`;
    let count = 0;
    let after: string | undefined;
    for (;;) {
      const stale = (await db
        .select({ id: table.id, value: column })
        .from(table)
        .where(
          and(isNotNull(column), not(like(column, current)), after ? gt(table.id, after) : undefined) as SQL,
        )
        .orderBy(asc(table.id))
        .limit(BATCH)) as { id: string; value: string }[];
      if (stale.length === 0) break;
      await db.transaction(async (tx) => {
        for (const row of stale) {
          const replaced = (await tx
            .update(table)
            .set({ [key]: cipher.encrypt(cipher.decrypt(row.value)) })
            .where(and(eq(table.id, row.id), eq(column, row.value)))
            .returning({ id: table.id })) as { id: string }[];
          count += replaced.length;
        }
      });
      after = stale[stale.length - 1]?.id;
    }
    reencrypted[name] = count;
  }
  return { reencrypted, keyVersion: cipher.currentVersion };
}

/**
 * The same rotation as a job: the server enqueues it at start, so adding a key to ENCRYPTION_KEYS and
 * restarting is all an embedded install needs.
 */
export const rotateEncryptionKeysJob = (db: Db, cipher: FieldCipher, encrypted: readonly EncryptedColumn[]) =>
  defineJob<Record<string, never>>({
    name: 'platform.rotate-encryption-keys',
    retryLimit: 3,
    async handle(_data, { log }) {
      const result = await rotateEncryptionKeys(db, cipher, encrypted);
      const total = Object.values(result.reencrypted).reduce((a, b) => a + b, 0);
      if (total > 0) log.info(result, 're-encrypted personal data with the newest key');
    },
  });

/** The ENCRYPTION_KEYS value for a key ring. */
export const keyRingSpec = (keys: Map<number, Buffer>) =>
  [...keys].map(([version, key]) => `${version}:${key.toString('base64')}`).join(',');

/** The ring with a fresh random key as the newest version. */
export function withNewKey(keys: Map<number, Buffer>) {
  return new Map([...keys, [Math.max(...keys.keys()) + 1, randomBytes(32)]]);
}
