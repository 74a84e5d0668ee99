import type { Readable } from 'node:stream';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Actor } from '../actor.ts';
import { writeAudit } from '../audit/service.ts';
import type { Db } from '../db.ts';
import { AppError, ConflictError, NotFoundError, RuleViolationError } from '../errors.ts';
import type { Jobs } from '../jobs.ts';
import { auditedFile, createFileCleanup } from './cleanup.ts';
import { type ReceivedUpload, receiveUpload } from './receive.ts';
import { fileAttachments, files } from './schema.ts';
import { mediaTypeEssence, type SniffedType } from './sniff.ts';
import type { FileStorage } from './storage.ts';
import {
  checkContent,
  cleanOriginalName,
  DEFAULT_STORAGE_QUOTA_BYTES,
  type FilePurpose,
  MAX_UPLOAD_BYTES,
  megabytes,
  tooLarge,
  UnsupportedMediaTypeError,
  UPLOAD_RULES,
  type UploadPurpose,
  type UploadRule,
} from './upload-rules.ts';

export type FileRow = typeof files.$inferSelect;

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

  const { deleteObjectsJob, deleteObjectsLater, sweepUnattached, sweepJob } = createFileCleanup({
    db,
    storage,
    jobs,
  });

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
    deleteObjectsJob,
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
      return receiveUpload(storage, body, { maxBytes, purpose: known });
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
