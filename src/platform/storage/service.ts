import { createHash } from 'node:crypto';
import { type Readable, Transform } from 'node:stream';
import { and, asc, eq, inArray, isNotNull, isNull, lt, sql } from 'drizzle-orm';
import { type Actor, systemActor } from '../actor.ts';
import { writeAudit } from '../audit/service.ts';
import type { Db } from '../db.ts';
import { AppError, ConflictError, NotFoundError, RuleViolationError } from '../errors.ts';
import { defineJob, type Jobs } from '../jobs.ts';
import { type FILE_PURPOSES, fileAttachments, files } from './schema.ts';
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
  chat_attachment: {
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
  canSee(actor: Actor, file: { id: string; ownerId: string }): Promise<boolean>;
}

/** The row of a module that refers to files, and which of its fields does: one set of files per field. */
export interface AttachedTo {
  /** The row's table (`user_profiles`). */
  entity: string;
  id: string;
  /** The field of the request and of the row that names the files (`photo_file_id`). */
  field: string;
}

export interface FileView {
  id: string;
  purpose: FilePurpose;
  content_type: string;
  size_bytes: number;
  original_name: string | null;
  attached: boolean;
  created_at: string;
}

export const fileView = (row: FileRow): FileView => ({
  id: row.id,
  purpose: row.purpose,
  content_type: row.contentType,
  size_bytes: row.sizeBytes,
  original_name: row.originalName,
  attached: row.attachedAt !== null,
  created_at: row.createdAt.toISOString(),
});

/**
 * What the audit trail records of a file: never its name, which is the person's own text (a passport scan's
 * name is often the person's name), nor the key to its bytes.
 */
const auditedFile = (row: FileRow) => ({
  ownerId: row.ownerId,
  purpose: row.purpose,
  contentType: row.contentType,
  sizeBytes: row.sizeBytes,
});

const DAY_MS = 86_400_000;
/** How long an upload may stay attached to nothing before the sweep takes it: a day to use it in. */
export const UNATTACHED_GRACE_MS = DAY_MS;
/** Files one sweep statement takes, and statements per run: the next run takes the rest. */
const SWEEP_BATCH = 500;
const SWEEP_BATCHES_PER_RUN = 20;
/** Storage keys per job of the object deletions: one erasure of many files is several jobs. */
const KEYS_PER_JOB = 1_000;

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
  jobs,
  quotaBytes,
}: {
  db: Db;
  storage: FileStorage;
  jobs: Pick<Jobs, 'enqueue'>;
  /** The `storage_quota_bytes` setting, read for each upload. */
  quotaBytes: () => Promise<number>;
}) {
  const attachments: AttachmentKind[] = [];

  /**
   * The bytes of files whose rows are gone. A job, enqueued in the transaction that took the rows: the bytes
   * go once the rows surely have, and a deletion that fails is retried, so no object outlives its row for
   * long. Until then nothing reaches it: only a row names its random key.
   */
  const deleteObjects = defineJob<{ keys: string[] }>({
    name: 'platform.delete-file-objects',
    async handle({ keys }) {
      for (const key of keys) await storage.delete(key);
    },
  });

  async function deleteObjectsLater(tx: Db, keys: string[]) {
    for (let i = 0; i < keys.length; i += KEYS_PER_JOB) {
      await jobs.enqueue(tx, deleteObjects, { keys: keys.slice(i, i + KEYS_PER_JOB) });
    }
  }

  /** Takes people's uploads attached to nothing since before `cutoff`, a batch in one transaction. */
  async function sweepBatch(cutoff: Date) {
    return db.transaction(async (tx) => {
      // Locked and skipped when locked: an upload being attached this moment is left for the next run.
      const stale = tx
        .select({ id: files.id })
        .from(files)
        .where(and(isNull(files.attachedAt), isNotNull(files.ownerId), lt(files.createdAt, cutoff)))
        .orderBy(asc(files.createdAt))
        .limit(SWEEP_BATCH)
        .for('update', { skipLocked: true });
      const gone = await tx
        .delete(files)
        .where(and(inArray(files.id, stale), isNull(files.attachedAt)))
        .returning();
      await writeAudit(
        tx,
        systemActor(),
        gone.map((f) => ({ action: 'delete', entity: 'files', entityId: f.id, before: auditedFile(f) })),
      );
      await deleteObjectsLater(
        tx,
        gone.map((f) => f.storageKey),
      );
      return gone.length;
    });
  }

  async function findFile(id: string) {
    const [row] = await db.select().from(files).where(eq(files.id, id)).limit(1);
    return row;
  }

  async function mayRead(actor: Actor, row: FileRow) {
    const ownerId = row.ownerId;
    // The platform's own files are no one's to download.
    if (ownerId === null) return false;
    if (ownerId === actor.userId) return true;
    for (const kind of attachments) {
      if (kind.purpose === row.purpose && (await kind.canSee(actor, { id: row.id, ownerId }))) return true;
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
   * Removes people's uploads that have been attached to nothing for a day (UNATTACHED_GRACE_MS), counted
   * from the upload: in batches, each its own transaction, at most SWEEP_BATCHES_PER_RUN a run. The
   * platform's own files (archives) are never taken. Answers how many went.
   */
  async function sweepUnattached(now = new Date()) {
    const cutoff = new Date(now.getTime() - UNATTACHED_GRACE_MS);
    let swept = 0;
    for (let batch = 0; batch < SWEEP_BATCHES_PER_RUN; batch++) {
      const gone = await sweepBatch(cutoff);
      swept += gone;
      if (gone < SWEEP_BATCH) break;
    }
    return swept;
  }

  const sweepJob = defineJob<Record<string, never>>({
    name: 'platform.sweep-unattached-files',
    cron: '25 * * * *',
    async handle(_data, { log }) {
      log.info({ swept: await sweepUnattached() }, 'unattached uploads swept');
    },
  });

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
        { action: 'create', entity: 'files', entityId: created!.id, after: auditedFile(created!) },
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
    /** Deletes the bytes of files whose rows are gone; registered in app.ts. */
    deleteObjectsJob: deleteObjects,
    /** The hourly sweep of unattached uploads; registered in app.ts. */
    sweepJob,
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
      if (!row || !actor.userId || row.ownerId !== actor.userId) throw new NotFoundError('file');
      return row;
    },

    /**
     * The one call a module makes when a row of its own refers to files: `ids` become the files that the
     * row's field refers to, in place of those it did (none, the first time; an empty list takes them all
     * off). Every id must be one of the caller's files of `purpose`: anything else (someone else's file, a
     * photo given as evidence, an unknown id) is a 422 naming the offending entries of the field. Made in
     * the caller's transaction, so the references commit with its row or not at all; the files are locked
     * meanwhile, so an owner's delete or the sweep of one of them waits, then finds it attached, or has taken
     * it first and the call answers 422. A file stays attached while any row refers to it.
     */
    async attach(actor: Actor, ids: readonly string[], purpose: FilePurpose, to: AttachedTo) {
      const wanted = [...new Set(ids)];
      const ref = and(
        eq(fileAttachments.entity, to.entity),
        eq(fileAttachments.entityId, to.id),
        eq(fileAttachments.field, to.field),
      );
      await db.transaction(async (tx) => {
        const held = (
          await tx.select({ fileId: fileAttachments.fileId }).from(fileAttachments).where(ref)
        ).map((r) => r.fileId);
        const touched = [...new Set([...wanted, ...held])];
        if (touched.length === 0) return;
        // In id order, so two calls touching the same files cannot wait on each other.
        const locked = await tx
          .select({ id: files.id, ownerId: files.ownerId, purpose: files.purpose })
          .from(files)
          .where(inArray(files.id, touched))
          .orderBy(asc(files.id))
          .for('no key update');
        const usable = new Set(
          locked.filter((f) => f.ownerId === actor.userId && f.purpose === purpose).map((f) => f.id),
        );
        const errors = ids.flatMap((id, i) =>
          usable.has(id)
            ? []
            : [
                {
                  in: 'body',
                  field: `${to.field}.${i}`,
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
        const dropped = held.filter((id) => !wanted.includes(id));
        if (dropped.length > 0) {
          await tx.delete(fileAttachments).where(and(ref, inArray(fileAttachments.fileId, dropped)));
        }
        if (wanted.length > 0) {
          await tx
            .insert(fileAttachments)
            .values(wanted.map((fileId) => ({ fileId, entity: to.entity, entityId: to.id, field: to.field })))
            .onConflictDoNothing();
        }
        // A new statement under the locks: it sees every other row's references to these files.
        await tx
          .update(files)
          .set({
            attachedAt: sql`case when exists (select 1 from file_attachments a where a.file_id = files.id)
              then coalesce(files.attached_at, now()) end`,
          })
          .where(inArray(files.id, touched));
      });
    },

    /**
     * The owner deletes an upload of theirs that nothing refers to (one they did not use, or took off what
     * used it): the row now, its bytes a moment later (deleteObjects). Anyone else's file, or the platform's,
     * is "not found"; an attached one is 409 `file_attached`.
     */
    async deleteUnattached(actor: Actor, id: string) {
      if (!actor.userId) throw new NotFoundError('file');
      const ownerId = actor.userId;
      await db.transaction(async (tx) => {
        const [row] = await tx
          .select()
          .from(files)
          .where(and(eq(files.id, id), eq(files.ownerId, ownerId)))
          .for('update');
        if (!row) throw new NotFoundError('file');
        if (row.attachedAt) {
          throw new ConflictError(
            'file_attached',
            'the file is in use: something of yours refers to it (a profile, an order, a verification, a dispute); take it off there first',
          );
        }
        await tx.delete(files).where(eq(files.id, id));
        await writeAudit(tx, actor, [
          { action: 'delete', entity: 'files', entityId: id, before: auditedFile(row) },
        ]);
        await deleteObjectsLater(tx, [row.storageKey]);
      });
    },

    /**
     * For erasure: every file the person uploaded goes, with what refers to it, in the caller's transaction;
     * the bytes a moment later (deleteObjects). Answers the files' ids, whose audit trail the erasure settles.
     */
    async eraseOwnedBy(ownerId: string): Promise<string[]> {
      return db.transaction(async (tx) => {
        const owned = tx.select({ id: files.id }).from(files).where(eq(files.ownerId, ownerId));
        await tx.delete(fileAttachments).where(inArray(fileAttachments.fileId, owned));
        const gone = await tx
          .delete(files)
          .where(eq(files.ownerId, ownerId))
          .returning({ id: files.id, storageKey: files.storageKey });
        await deleteObjectsLater(
          tx,
          gone.map((f) => f.storageKey),
        );
        return gone.map((f) => f.id);
      });
    },

    sweepUnattached,

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
