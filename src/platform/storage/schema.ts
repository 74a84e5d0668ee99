import { sql } from 'drizzle-orm';
import { bigint, index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { baseColumns, newId } from '../columns.ts';

export const FILE_PURPOSES = [
  'profile_photo',
  'verification_evidence',
  'order_photo',
  'dispute_evidence',
  'chat_attachment',
  /** The platform's own: rows of a retired partition, kept as a file (no person owns it). */
  'archive',
] as const;

/**
 * An uploaded file: the bytes live in the storage backend under `storage_key` (random), the row holds
 * what we know about them. The client's file name is metadata only and never part of a path.
 */
export const files = pgTable(
  'files',
  {
    ...baseColumns(),
    /**
     * The person who uploaded it; null for a file the platform keeps for itself (an archive), which no
     * person downloads, deletes or exports, and the sweep of unattached uploads never takes.
     */
    ownerId: uuid('owner_id'),
    purpose: text('purpose', { enum: FILE_PURPOSES }).notNull(),
    storageKey: text('storage_key').notNull().unique(),
    /** Sniffed from the bytes, not taken from the upload's headers. */
    contentType: text('content_type').notNull(),
    sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull(),
    sha256: text('sha256').notNull(),
    originalName: text('original_name'),
    /** Since when some module's row refers to the file (`file_attachments`); null while none does. */
    attachedAt: timestamp('attached_at', { withTimezone: true }),
  },
  (t) => [
    index('files_owner_idx').on(t.ownerId, t.purpose),
    // What the sweep reads: people's uploads that nothing refers to, oldest first.
    index('files_unattached_idx').on(t.createdAt).where(sql`attached_at is null and owner_id is not null`),
  ],
);

/**
 * Which module rows refer to which files: `entity` and `entity_id` name the row (`user_profiles` and its
 * id), `field` what of it refers (`photo_file_id`). Written only by the file service's `attach`, the one
 * call a module makes when a row of its own starts or stops referring to files.
 */
export const fileAttachments = pgTable(
  'file_attachments',
  {
    id: uuid('id').primaryKey().$defaultFn(newId),
    fileId: uuid('file_id')
      .notNull()
      .references(() => files.id),
    entity: text('entity').notNull(),
    entityId: uuid('entity_id').notNull(),
    field: text('field').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('file_attachments_ref_uq').on(t.entity, t.entityId, t.field, t.fileId),
    index('file_attachments_file_idx').on(t.fileId),
  ],
);
