import { bigint, index, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { baseColumns } from '../columns.ts';

export const FILE_PURPOSES = [
  'profile_photo',
  'verification_evidence',
  'order_photo',
  'dispute_evidence',
  'chat_attachment',
] as const;

/**
 * An uploaded file: the bytes live in the storage backend under `storage_key` (random), the row holds
 * what we know about them. The client's file name is metadata only and never part of a path.
 */
export const files = pgTable(
  'files',
  {
    ...baseColumns(),
    ownerId: uuid('owner_id').notNull(),
    purpose: text('purpose', { enum: FILE_PURPOSES }).notNull(),
    storageKey: text('storage_key').notNull().unique(),
    /** Sniffed from the bytes, not taken from the upload's headers. */
    contentType: text('content_type').notNull(),
    sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull(),
    sha256: text('sha256').notNull(),
    originalName: text('original_name'),
  },
  (t) => [index('files_owner_idx').on(t.ownerId, t.purpose)],
);
