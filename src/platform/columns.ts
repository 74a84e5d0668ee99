import { randomFillSync } from 'node:crypto';
import { type SQL, sql } from 'drizzle-orm';
import { boolean, index, type PgColumn, timestamp, uuid } from 'drizzle-orm/pg-core';
import { v7 as uuidv7 } from 'uuid';

/**
 * uuid's own source makes one synchronous crypto call per id, a measurable share of a request that makes
 * several (a bid makes four); the random bytes come from a pool refilled every 256 ids instead. Handed its
 * bytes, uuid no longer keeps the ids of one millisecond in order, so the counter it would keep is kept here,
 * as RFC 9562 (6.2, method 1) has it: a random start each millisecond, then one up per id.
 */
const randomPool = Buffer.alloc(16 * 256);
let poolOffset = randomPool.length;
let lastMs = -1;
let sequence = 0;

export function newId(): string {
  if (poolOffset === randomPool.length) {
    randomFillSync(randomPool);
    poolOffset = 0;
  }
  const random = randomPool.subarray(poolOffset, poolOffset + 16);
  poolOffset += 16;
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    // 31 bits, so a millisecond has room for 2^31 more ids before it borrows the next one.
    sequence = random.readUInt32BE(6) & 0x7fffffff;
  } else {
    sequence = (sequence + 1) | 0;
    if (sequence === 0) lastMs += 1;
  }
  return uuidv7({ random, msecs: lastMs, seq: sequence });
}

/** Primary key and timestamps that every table carries. UUIDv7 is made in the app: it sorts by creation time. */
export const baseColumns = () => ({
  id: uuid('id').primaryKey().$defaultFn(newId),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true })
    .notNull()
    .defaultNow()
    .$onUpdateFn(() => new Date()),
});

/** `deletion_id` ties together every row one soft delete took, so a restore brings back exactly those. */
export const softDeleteColumns = () => ({
  isDeleted: boolean('is_deleted').notNull().default(false),
  deletedAt: timestamp('deleted_at', { withTimezone: true }),
  restoredAt: timestamp('restored_at', { withTimezone: true }),
  deletionId: uuid('deletion_id'),
});

/**
 * `is_deleted` is indexed for the deleted rows only: they are what an index on it can find (staff lists
 * and restores); live rows, nearly all of them, are read through each table's other indexes. Indexing
 * them too cost every insert, and every update that cannot stay on its page, one more index entry.
 */
export const softDeleteIndexes = (name: string, t: { isDeleted: PgColumn; deletionId: PgColumn }) => [
  index(`${name}_is_deleted_idx`).on(t.isDeleted).where(sql`is_deleted`),
  index(`${name}_deletion_id_idx`).on(t.deletionId).where(sql`deletion_id is not null`),
];

/** A timestamptz as `Date.toISOString()` writes it (milliseconds, UTC), for SQL that answers JSON itself. */
export const isoTimestamp = (value: SQL) =>
  sql`to_char(${value} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** The least UUIDv7 of a moment: every id made at or after it sorts after it, every earlier one before. */
export const firstIdAt = (at: Date) => uuidv7({ msecs: at.getTime(), random: new Uint8Array(16), seq: 0 });
