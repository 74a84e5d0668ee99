import { createHash } from 'node:crypto';
import { type Readable, Transform } from 'node:stream';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Actor } from '../actor.ts';
import { writeAudit } from '../audit/service.ts';
import type { Db } from '../db.ts';
import { AppError, NotFoundError, RuleViolationError } from '../errors.ts';
import { type FILE_PURPOSES, files } from './schema.ts';
import {
  createContentInspector,
  type InspectedContent,
  mediaTypeEssence,
  type SniffedType,
} from './sniff.ts';
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
  { sniffed, decoded, image }: InspectedContent,
): SniffedType {
  if (!sniffed || !rule.types.includes(sniffed)) {
    throw new UnsupportedMediaTypeError(`the file is not ${rule.accepts}`);
  }
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

/**
 * An upload's bytes, stored as they arrived under a new key, with what was learnt of them on the way. The
 * object is removed again unless `upload` makes a file of it (`discard`, when the request ends).
 */
export interface ReceivedUpload {
  storageKey: string;
  size: number;
  sha256: string;
  content: InspectedContent;
  state: 'received' | 'stored' | 'discarded';
  /** What the idempotency check hashes: a retry is the same upload when its bytes are. */
  toJSON(): { sha256: string; size: number };
}

const received = new WeakSet<object>();
export const isReceivedUpload = (value: unknown): value is ReceivedUpload =>
  typeof value === 'object' && value !== null && received.has(value);

const tooLarge = (purpose: string | undefined, maxBytes: number) =>
  new AppError(
    413,
    'file_too_large',
    `${purpose ? `a ${purpose.replaceAll('_', ' ')}` : 'an upload'} may be at most ${maxBytes / MiB} MB`,
  );

/** The request's body ended before it was whole: the client went away or the connection broke. */
class UploadCutShortError extends AppError {
  constructor() {
    super(400, 'upload_incomplete', 'the upload ended before all of its bytes arrived');
  }
}

export interface UploadInput {
  /** The body, as `receive` stored it; none when the request had no body. */
  received: ReceivedUpload | undefined;
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

  /**
   * Makes a file of a received upload: the declared type must be one the purpose accepts, the bytes must
   * decode as that type (checkContent), the size must be within the purpose's limit and the account's quota.
   * The row and its audit entry commit together; the bytes are kept only then (`upload` discards them on any
   * refusal). The quota is checked again in the transaction, under a lock per account, so uploads racing each
   * other cannot pass it together.
   */
  async function store(actor: Actor, purpose: UploadPurpose, input: UploadInput): Promise<FileView> {
    if (!actor.userId) throw new NotFoundError('user');
    const rule: UploadRule = UPLOAD_RULES[purpose];
    const declared = mediaTypeEssence(input.declaredType);
    if (!rule.types.includes(declared as SniffedType)) {
      throw new UnsupportedMediaTypeError(`a ${purpose.replaceAll('_', ' ')} must be ${rule.accepts}`);
    }
    const body = input.received;
    if (!body || body.size === 0) throw new RuleViolationError('empty_file', 'the file is empty');
    if (body.size > rule.maxBytes) throw tooLarge(purpose, rule.maxBytes);
    const contentType = checkContent(purpose, rule, declared, body.content);
    const quota = await currentQuota();
    await checkQuota(db, actor.userId, body.size, quota);

    const row = await db.transaction(async (tx) => {
      await tx.execute(
        sql`select pg_advisory_xact_lock(hashtextextended(${`kg-job-portal:files:${actor.userId}`}, 0))`,
      );
      await checkQuota(tx, actor.userId!, body.size, quota);
      const [created] = await tx
        .insert(files)
        .values({
          ownerId: actor.userId!,
          purpose,
          storageKey: body.storageKey,
          contentType,
          sizeBytes: body.size,
          sha256: body.sha256,
          originalName: cleanOriginalName(input.originalName),
        })
        .returning();
      await writeAudit(tx, actor, [
        { action: 'create', entity: 'files', entityId: created!.id, after: created },
      ]);
      return created!;
    });
    body.state = 'stored';
    return fileView(row);
  }

  async function currentQuota() {
    const setting = await quotaBytes();
    return Number.isFinite(setting) && setting >= 0 ? setting : DEFAULT_STORAGE_QUOTA_BYTES;
  }

  async function discard(upload: ReceivedUpload) {
    if (upload.state !== 'received') return;
    upload.state = 'discarded';
    await storage.delete(upload.storageKey).catch(() => undefined);
  }

  return {
    /**
     * Streams an upload's body to storage under a new key as it arrives, hashing and inspecting it on the way
     * (`createContentInspector`), so that a file of any size takes a few kilobytes of memory and its head.
     * Past the purpose's limit (the largest of all for a purpose not known) it stops with 413
     * `file_too_large`, before reading the body when its Content-Length says so, and stores nothing. An
     * owner whose files already fill the quota, with the Content-Length on top, is refused (413
     * `storage_quota_exceeded`) before a byte is stored; `upload` checks the quota again with the real size.
     */
    async receive(
      body: Readable,
      {
        purpose,
        contentLength,
        ownerId,
      }: { purpose: unknown; contentLength: number; ownerId: string | undefined },
    ): Promise<ReceivedUpload> {
      const rule = UPLOAD_RULES[purpose as UploadPurpose] as UploadRule | undefined;
      const known = rule ? (purpose as UploadPurpose) : undefined;
      const maxBytes = rule?.maxBytes ?? MAX_UPLOAD_BYTES;
      if (contentLength > maxBytes) throw tooLarge(known, maxBytes);
      if (ownerId) await checkQuota(db, ownerId, contentLength || 0, await currentQuota());
      const hash = createHash('sha256');
      const inspector = createContentInspector();
      let size = 0;
      const counted = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          size += chunk.length;
          if (size > maxBytes) return done(tooLarge(known, maxBytes));
          hash.update(chunk);
          inspector.push(chunk);
          done(null, chunk);
        },
      });
      // Piped, not pipelined: a refusal must leave the request open for its 413 (Fastify then closes it).
      const cutShort = () => {
        if (!body.readableEnded) counted.destroy(new UploadCutShortError());
      };
      body.once('error', cutShort).once('close', cutShort);
      body.pipe(counted);
      const storageKey = newStorageKey();
      try {
        await storage.put(storageKey, counted);
      } finally {
        body.unpipe(counted);
        body.removeListener('error', cutShort).removeListener('close', cutShort);
      }
      const sha256 = hash.digest('hex');
      const upload: ReceivedUpload = {
        storageKey,
        size,
        sha256,
        content: inspector.finish(),
        state: 'received',
        toJSON: () => ({ sha256, size }),
      };
      received.add(upload);
      return upload;
    },

    /** Removes a received upload's bytes unless a file was made of them; safe to call more than once. */
    discard,

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
      const { received: body } = input;
      try {
        return await store(actor, purpose, input);
      } finally {
        if (body) await discard(body);
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
