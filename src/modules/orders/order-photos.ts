import type { Actor } from '../../platform/actor.ts';
import type { AuditEntry } from '../../platform/audit/service.ts';
import type { Db } from '../../platform/db.ts';
import { RuleViolationError } from '../../platform/errors.ts';
import { insertPhoto, livePhotos, placePhoto } from './order-queries.ts';
import type { OrderServiceDeps } from './order-service.ts';
import { orderPhotos } from './schema.ts';

export type PhotoSync = ReturnType<typeof createPhotoSync>;

export function createPhotoSync({ files, softDeletes }: Pick<OrderServiceDeps, 'files' | 'softDeletes'>) {
  /**
   * Makes the order's photos the `fileIds` list (the caller's `order_photo` uploads, in display order) with
   * one primary: the one named, else the one that was, else the first.
   */
  return async function syncPhotos(
    tx: Db,
    actor: Actor,
    orderId: string,
    fileIds: string[] | undefined,
    primaryId: string | undefined,
    audit: AuditEntry[],
  ) {
    if (fileIds === undefined && primaryId === undefined) return;
    const current = await livePhotos(tx, orderId);
    const wanted = fileIds ?? current.map((p) => p.fileId);
    if (fileIds) {
      await files.attach(actor, fileIds, 'order_photo', {
        entity: 'orders',
        id: orderId,
        field: 'photo_file_ids',
      });
    }
    if (primaryId !== undefined && !wanted.includes(primaryId)) {
      throw new RuleViolationError('invalid_primary_photo', 'the primary photo must be one of the photos', [
        { in: 'body', field: 'primary_photo_id', message: 'is not one of the order’s photos' },
      ]);
    }
    const wasPrimary = current.find((p) => p.isPrimary)?.fileId;
    const primary =
      primaryId ?? (wasPrimary && wanted.includes(wasPrimary) ? wasPrimary : undefined) ?? wanted[0];

    const byFile = new Map(current.map((p) => [p.fileId, p]));
    const removed = current.filter((p) => !wanted.includes(p.fileId)).map((p) => p.id);
    if (removed.length > 0) await softDeletes.softDelete(tx, actor, orderPhotos, removed);
    // Rows that stop being primary go first: one order has one primary photo at any moment.
    const changes = wanted
      .flatMap((fileId, sortOrder) => {
        const row = byFile.get(fileId);
        const isPrimary = fileId === primary;
        return row && (row.sortOrder !== sortOrder || row.isPrimary !== isPrimary)
          ? [{ row, sortOrder, isPrimary }]
          : [];
      })
      .sort((a, b) => Number(a.isPrimary) - Number(b.isPrimary));
    for (const { row, sortOrder, isPrimary } of changes) {
      const after = await placePhoto(tx, row.id, { sortOrder, isPrimary });
      audit.push({ action: 'update', entity: 'order_photos', entityId: row.id, before: row, after });
    }
    for (const [sortOrder, fileId] of wanted.entries()) {
      if (byFile.has(fileId)) continue;
      const created = await insertPhoto(tx, { orderId, fileId, sortOrder, isPrimary: fileId === primary });
      audit.push({ action: 'create', entity: 'order_photos', entityId: created.id, after: created });
    }
  };
}
