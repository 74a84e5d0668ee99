import type { Actor } from '../../platform/actor.ts';
import type { Db } from '../../platform/db.ts';
import type { AttachmentKind } from '../../platform/storage/service.ts';
import { canSeeOrderParts, roleOf } from './access.ts';
import {
  ordersShowingCompletionPhoto,
  ordersShowingEvidence,
  ordersShowingPhoto,
} from './attachment-queries.ts';
import { DISPUTE_READERS } from './dispute-service.ts';

type Attached = Awaited<ReturnType<typeof ordersShowingPhoto>>;

const anyOf = (rows: Attached, actor: Actor, may: (role: ReturnType<typeof roleOf>) => boolean) =>
  rows.some(({ order, assignment }) => {
    const role = roleOf(actor, order, assignment ?? undefined);
    return canSeeOrderParts(role, order) && may(role);
  });

/**
 * The files the orders module attaches, each shown as the row it hangs off: an order's photos as the order
 * (a draft's to its client alone, a deleted order's to staff), completion photos to the order's parties and
 * staff, dispute evidence to the parties and the staff who read disputes. Each file was attached by its
 * owner (the routes take only the caller's own uploads), so the rows are looked up through the owner's
 * indexed column rather than through the file id.
 */
export function orderAttachments(db: Db): AttachmentKind[] {
  return [
    {
      name: 'order photos',
      purpose: 'order_photo',
      visibleTo: 'whoever may see the order (a draft’s only its client; a deleted order’s only staff)',
      async canSee(actor, file) {
        const rows = await ordersShowingPhoto(db, file);
        return anyOf(rows, actor, () => true);
      },
    },
    {
      name: 'completion photos',
      purpose: 'order_photo',
      visibleTo: 'the order’s client and assigned provider, and staff',
      async canSee(actor, file) {
        const rows = await ordersShowingCompletionPhoto(db, file);
        return anyOf(rows, actor, (role) => role !== 'other');
      },
    },
    {
      name: 'dispute evidence',
      purpose: 'dispute_evidence',
      visibleTo: `the order’s client and assigned provider, and staff who read disputes (${DISPUTE_READERS.join(', ')})`,
      async canSee(actor, file) {
        const rows = await ordersShowingEvidence(db, file);
        return anyOf(
          rows,
          actor,
          (role) =>
            role === 'client' ||
            role === 'assigned_provider' ||
            (role === 'staff' && actor.roles.some((r) => DISPUTE_READERS.includes(r))),
        );
      },
    },
  ];
}
