import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { and, eq, inArray } from 'drizzle-orm';
import { type Actor, type Role, STAFF_ROLES } from '../actor.ts';
import { writeAudit } from '../audit/service.ts';
import type { Db } from '../db.ts';
import { AppError, NotFoundError, RuleViolationError } from '../errors.ts';
import { type FILE_PURPOSES, files } from './schema.ts';
import { mediaTypeEssence, type SniffedType, sniffContentType } from './sniff.ts';
import { type FileStorage, newStorageKey } from './storage.ts';

export type FilePurpose = (typeof FILE_PURPOSES)[number];
export type FileRow = typeof files.$inferSelect;

const MiB = 1024 * 1024;

interface UploadRule {
  types: readonly SniffedType[];
  maxBytes: number;
  /** What the rule accepts, in words, for error messages. */
  accepts: string;
}

/** What each purpose accepts. Purposes without a rule cannot be uploaded yet (their module adds one). */
export const UPLOAD_RULES = {
  profile_photo: {
    types: ['image/jpeg', 'image/png', 'image/webp'],
    maxBytes: 5 * MiB,
    accepts: 'a JPEG, PNG or WebP image',
  },
  verification_evidence: {
    types: ['image/jpeg', 'image/png', 'image/webp', 'application/pdf'],
    maxBytes: 10 * MiB,
    accepts: 'a JPEG, PNG or WebP image or a PDF',
  },
  order_photo: {
    types: ['image/jpeg', 'image/png', 'image/webp'],
    maxBytes: 10 * MiB,
    accepts: 'a JPEG, PNG or WebP image',
  },
  dispute_evidence: {
    types: ['image/jpeg', 'image/png', 'image/webp', 'application/pdf'],
    maxBytes: 10 * MiB,
    accepts: 'a JPEG, PNG or WebP image or a PDF',
  },
} as const satisfies Partial<Record<FilePurpose, UploadRule>>;

export type UploadPurpose = keyof typeof UPLOAD_RULES;
export const UPLOAD_PURPOSES = Object.keys(UPLOAD_RULES) as UploadPurpose[];
/** The largest upload any purpose accepts: the body limit of the upload route. */
export const MAX_UPLOAD_BYTES = Math.max(...Object.values(UPLOAD_RULES).map((r) => r.maxBytes));
/** Every content type some purpose accepts: what the upload route parses. */
export const UPLOAD_CONTENT_TYPES = [
  ...new Set(Object.values(UPLOAD_RULES).flatMap((r) => r.types)),
] as SniffedType[];

/**
 * Staff who may read a file besides its owner. Identity documents are the most sensitive thing we
 * hold, so only the roles that review them see them.
 */
const STAFF_READERS: Record<FilePurpose, readonly Role[]> = {
  profile_photo: STAFF_ROLES,
  verification_evidence: ['admin', 'moderator'],
  order_photo: STAFF_ROLES,
  dispute_evidence: ['admin', 'moderator', 'finance'],
  chat_attachment: ['admin', 'moderator'],
};

export interface FileView {
  id: string;
  purpose: FilePurpose;
  content_type: string;
  size_bytes: number;
  original_name: string | null;
  created_at: string;
}

export const fileView = (row: FileRow): FileView => ({
  id: row.id,
  purpose: row.purpose,
  content_type: row.contentType,
  size_bytes: row.sizeBytes,
  original_name: row.originalName,
  created_at: row.createdAt.toISOString(),
});

/** The client's file name as metadata: no directories, no control characters, at most 255 characters. */
export function cleanOriginalName(name: string | undefined): string | null {
  if (name === undefined) return null;
  const base = name.split(/[/\\]/).pop() ?? '';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return clean.length > 0 ? clean.slice(0, 255) : null;
}

export class UnsupportedMediaTypeError extends AppError {
  constructor(message: string) {
    super(415, 'unsupported_media_type', message);
  }
}

export interface UploadInput {
  bytes: Buffer;
  /** The Content-Type the client sent; checked against what the bytes are. */
  declaredType: string | undefined;
  originalName?: string;
}

export type FileService = ReturnType<typeof createFileService>;

export function createFileService({ db, storage }: { db: Db; storage: FileStorage }) {
  async function findFile(id: string, tx: Db = db) {
    const [row] = await tx.select().from(files).where(eq(files.id, id)).limit(1);
    return row;
  }

  const mayRead = (actor: Actor, row: FileRow) =>
    row.ownerId === actor.userId || actor.roles.some((r) => STAFF_READERS[row.purpose].includes(r));

  return {
    /**
     * Stores an upload: the declared type must be one the purpose accepts, the bytes must be that type,
     * and the size within the purpose's limit. The bytes go to storage under a random key first, then the
     * row and its audit entry commit; if the commit fails, the stored object is removed again.
     */
    async upload(actor: Actor, purpose: UploadPurpose, input: UploadInput): Promise<FileView> {
      if (!actor.userId) throw new NotFoundError('user');
      const rule: UploadRule = UPLOAD_RULES[purpose];
      const declared = mediaTypeEssence(input.declaredType);
      if (!rule.types.includes(declared as SniffedType)) {
        throw new UnsupportedMediaTypeError(`a ${purpose.replaceAll('_', ' ')} must be ${rule.accepts}`);
      }
      if (input.bytes.length === 0) throw new RuleViolationError('empty_file', 'the file is empty');
      if (input.bytes.length > rule.maxBytes) {
        throw new AppError(
          413,
          'file_too_large',
          `a ${purpose.replaceAll('_', ' ')} may be at most ${rule.maxBytes / MiB} MB`,
        );
      }
      const sniffed = sniffContentType(input.bytes);
      if (!sniffed || !rule.types.includes(sniffed)) {
        throw new UnsupportedMediaTypeError(`the file is not ${rule.accepts}`);
      }
      if (sniffed !== declared) {
        throw new RuleViolationError(
          'file_type_mismatch',
          `the file was sent as ${declared} but its content is ${sniffed}`,
        );
      }

      const storageKey = newStorageKey();
      await storage.put(storageKey, input.bytes);
      try {
        const row = await db.transaction(async (tx) => {
          const [created] = await tx
            .insert(files)
            .values({
              ownerId: actor.userId!,
              purpose,
              storageKey,
              contentType: sniffed,
              sizeBytes: input.bytes.length,
              sha256: createHash('sha256').update(input.bytes).digest('hex'),
              originalName: cleanOriginalName(input.originalName),
            })
            .returning();
          await writeAudit(tx, actor, [
            { action: 'create', entity: 'files', entityId: created!.id, after: created },
          ]);
          return created!;
        });
        return fileView(row);
      } catch (error) {
        await storage.delete(storageKey).catch(() => undefined);
        throw error;
      }
    },

    /** One of the caller's own files; anyone else's is "not found". */
    async getOwned(actor: Actor, id: string): Promise<FileRow> {
      const row = await findFile(id);
      if (!row || row.ownerId !== actor.userId) throw new NotFoundError('file');
      return row;
    },

    /**
     * For other modules that attach files to their records: every id must be one of the caller's files
     * of `purpose`. Anything else (someone else's file, a photo given as evidence, an unknown id) is a 422
     * naming the offending entries of `field`.
     */
    async assertOwnedFiles(
      actor: Actor,
      ids: readonly string[],
      purpose: FilePurpose,
      field = 'file_ids',
      tx: Db = db,
    ) {
      if (ids.length === 0) return;
      const owned = await tx
        .select({ id: files.id })
        .from(files)
        .where(
          and(inArray(files.id, [...ids]), eq(files.ownerId, actor.userId ?? ''), eq(files.purpose, purpose)),
        );
      const found = new Set(owned.map((f) => f.id));
      const errors = ids.flatMap((id, i) =>
        found.has(id)
          ? []
          : [
              {
                in: 'body',
                field: `${field}.${i}`,
                message: `is not one of your ${purpose.replaceAll('_', ' ')} files`,
              },
            ],
      );
      if (errors.length > 0) {
        throw new RuleViolationError(
          'invalid_file',
          `some files cannot be used as ${purpose.replaceAll('_', ' ')}`,
          errors,
        );
      }
    },

    /**
     * A file that is public by where it is used (a provider's profile photo in the directory): the caller
     * has checked that use; this only makes sure the file is of that purpose.
     */
    async openPublic(id: string, purpose: FilePurpose): Promise<{ file: FileRow; stream: Readable }> {
      const row = await findFile(id);
      if (!row || row.purpose !== purpose) throw new NotFoundError('file');
      return { file: row, stream: await storage.get(row.storageKey) };
    },

    /** The file's metadata and a stream of its bytes, for its owner and the staff allowed to read its purpose. */
    async open(actor: Actor, id: string): Promise<{ file: FileRow; stream: Readable }> {
      const row = await findFile(id);
      if (!row || !mayRead(actor, row)) throw new NotFoundError('file');
      return { file: row, stream: await storage.get(row.storageKey) };
    },
  };
}
