import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Actor } from '../actor.ts';
import { writeAudit } from '../audit/service.ts';
import type { Db } from '../db.ts';
import { AppError, NotFoundError, RuleViolationError } from '../errors.ts';
import { type FILE_PURPOSES, files } from './schema.ts';
import { decodeImage, mediaTypeEssence, pdfIsComplete, type SniffedType, sniffContentType } from './sniff.ts';
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
 * The largest image accepted, per side and in all: the header is all that is read here, but whoever shows
 * or scales the image decodes every pixel (60 megapixels are 240 MB as RGBA), and a few kilobytes of
 * compressed data can claim far more (a decompression bomb). A 50-megapixel phone camera fits.
 */
export const MAX_IMAGE_SIDE = 12_000;
export const MAX_IMAGE_PIXELS = 60_000_000;

/** The `storage_quota_bytes` setting's default: what one account's files may take in all. */
export const DEFAULT_STORAGE_QUOTA_BYTES = 200 * MiB;

/**
 * A kind of attachment: a module's row that refers to files of one purpose (an order's photos, a
 * verification's evidence). A file is shown to its owner and to whoever the module that owns the row says
 * may see the file through it, as that module decides who sees the row itself; the platform knows no
 * module's rules.
 */
export interface AttachmentKind {
  /** What is attached, in words, for the download route's documentation (`order photos`). */
  name: string;
  purpose: FilePurpose;
  /** Who sees it, in words, for the documentation. */
  visibleTo: string;
  /** Whether `actor`, who is not the file's owner, may see it through some row of this kind. */
  canSee(actor: Actor, file: Pick<FileRow, 'id' | 'ownerId'>): Promise<boolean>;
}

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
  constructor(message: string, code = 'unsupported_media_type') {
    super(415, code, message);
  }
}

const megabytes = (bytes: number) => `${Math.round((bytes / MiB) * 10) / 10} MB`;

/**
 * What the bytes decode as, checked against what the purpose accepts and what the client declared: an
 * image's header must decode (type, dimensions) and its structure be complete, a PDF must end as one, the
 * decoded type must be the declared one, and an image must be within the size limits.
 */
function checkContent(
  purpose: UploadPurpose,
  rule: UploadRule,
  declared: string,
  bytes: Buffer,
): SniffedType {
  const sniffed = sniffContentType(bytes);
  if (!sniffed || !rule.types.includes(sniffed)) {
    throw new UnsupportedMediaTypeError(`the file is not ${rule.accepts}`);
  }
  const image = sniffed === 'application/pdf' ? undefined : decodeImage(bytes);
  const decoded = sniffed === 'application/pdf' ? (pdfIsComplete(bytes) ? sniffed : undefined) : image?.type;
  if (!decoded) {
    throw new UnsupportedMediaTypeError(
      `the file does not decode as ${sniffed}: it is damaged or incomplete`,
      'file_not_decodable',
    );
  }
  if (decoded !== declared) {
    throw new UnsupportedMediaTypeError(
      `the file was sent as ${declared} but its content is ${decoded}`,
      'file_type_mismatch',
    );
  }
  if (
    image &&
    (Math.max(image.width, image.height) > MAX_IMAGE_SIDE || image.width * image.height > MAX_IMAGE_PIXELS)
  ) {
    throw new RuleViolationError(
      'image_too_large',
      `a ${purpose.replaceAll('_', ' ')} may be at most ${MAX_IMAGE_SIDE} pixels a side and ${MAX_IMAGE_PIXELS / 1_000_000} megapixels; this one is ${image.width}x${image.height}`,
    );
  }
  return decoded;
}

export interface UploadInput {
  bytes: Buffer;
  /** The Content-Type the client sent; checked against what the bytes are. */
  declaredType: string | undefined;
  originalName?: string;
}

export type FileService = ReturnType<typeof createFileService>;

export function createFileService({
  db,
  storage,
  quotaBytes,
}: {
  db: Db;
  storage: FileStorage;
  /** The `storage_quota_bytes` setting, read for each upload. */
  quotaBytes: () => Promise<number>;
}) {
  const attachments: AttachmentKind[] = [];

  async function findFile(id: string) {
    const [row] = await db.select().from(files).where(eq(files.id, id)).limit(1);
    return row;
  }

  async function mayRead(actor: Actor, row: FileRow) {
    if (row.ownerId === actor.userId) return true;
    for (const kind of attachments) {
      if (kind.purpose === row.purpose && (await kind.canSee(actor, row))) return true;
    }
    return false;
  }

  /** The bytes the owner's files take, with `incoming` more, refused beyond the quota. */
  async function checkQuota(tx: Db, ownerId: string, incoming: number, quota: number) {
    const [used] = await tx
      .select({ bytes: sql<string>`coalesce(sum(${files.sizeBytes}), 0)` })
      .from(files)
      .where(eq(files.ownerId, ownerId));
    const usedBytes = Number(used?.bytes ?? 0);
    if (usedBytes + incoming > quota) {
      throw new AppError(
        413,
        'storage_quota_exceeded',
        `your files take ${megabytes(usedBytes)} of the ${megabytes(quota)} an account may store; this one (${megabytes(incoming)}) does not fit`,
      );
    }
  }

  return {
    /** Called in app.ts with each module's kinds, before the routes are registered. */
    registerAttachments(...kinds: AttachmentKind[]) {
      attachments.push(...kinds);
    },

    /** Who may download a file, in words: the download route's documentation. */
    describeVisibility() {
      return attachments.map((k) => `${k.name}: ${k.visibleTo}`).join('; ');
    },

    /**
     * Stores an upload: the declared type must be one the purpose accepts, the bytes must decode as that
     * type (checkContent), the size must be within the purpose's limit and the account's quota. The bytes
     * go to storage under a random key first, then the row and its audit entry commit; if the commit fails,
     * the stored object is removed again. The quota is checked again in the transaction, under a lock per
     * account, so uploads racing each other cannot pass it together.
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
      const contentType = checkContent(purpose, rule, declared, input.bytes);
      const setting = await quotaBytes();
      const quota = Number.isFinite(setting) && setting >= 0 ? setting : DEFAULT_STORAGE_QUOTA_BYTES;
      // Before the bytes are written: an account at its quota costs no disk.
      await checkQuota(db, actor.userId, input.bytes.length, quota);

      const storageKey = newStorageKey();
      await storage.put(storageKey, input.bytes);
      try {
        const row = await db.transaction(async (tx) => {
          await tx.execute(
            sql`select pg_advisory_xact_lock(hashtextextended(${`kg-job-portal:files:${actor.userId}`}, 0))`,
          );
          await checkQuota(tx, actor.userId!, input.bytes.length, quota);
          const [created] = await tx
            .insert(files)
            .values({
              ownerId: actor.userId!,
              purpose,
              storageKey,
              contentType,
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
    async assertOwnedFiles(actor: Actor, ids: readonly string[], purpose: FilePurpose, field = 'file_ids') {
      if (ids.length === 0) return;
      const owned = await db
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

    /**
     * The file's metadata and a stream of its bytes, for its owner and for whoever may see it through what
     * it is attached to (the registered attachment kinds); anyone else gets "not found".
     */
    async open(actor: Actor, id: string): Promise<{ file: FileRow; stream: Readable }> {
      const row = await findFile(id);
      if (!row || !(await mayRead(actor, row))) throw new NotFoundError('file');
      return { file: row, stream: await storage.get(row.storageKey) };
    },
  };
}
