import { and, asc, inArray, isNotNull, isNull, lt } from 'drizzle-orm';
import { systemActor } from '../actor.ts';
import { writeAudit } from '../audit/service.ts';
import type { Db } from '../db.ts';
import { defineJob, type Jobs } from '../jobs.ts';
import { files } from './schema.ts';
import type { FileRow } from './service.ts';
import type { FileStorage } from './storage.ts';

/**
 * What the audit trail records of a file: never its name, which is the person's own text (a passport scan's
 * name is often the person's name), nor the key to its bytes.
 */
export const auditedFile = (row: FileRow) => ({
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

/** How files go: their rows now, their bytes a moment later, and the uploads nobody used. */
export function createFileCleanup({
  db,
  storage,
  jobs,
}: {
  db: Db;
  storage: FileStorage;
  jobs: Pick<Jobs, 'enqueue'>;
}) {
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

  return { deleteObjectsJob: deleteObjects, deleteObjectsLater, sweepUnattached, sweepJob };
}
