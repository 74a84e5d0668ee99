import type { Actor } from '../../platform/actor.ts';
import { writeAudit } from '../../platform/audit/service.ts';
import type { Db } from '../../platform/db.ts';
import { ForbiddenError, NotFoundError, RuleViolationError } from '../../platform/errors.ts';
import { idPages, type PageResult } from '../../platform/pagination.ts';
import type { FileService } from '../../platform/storage/service.ts';
import type { DirectoryService } from '../users/directory-service.ts';
import type { ProfileService } from '../users/profile-service.ts';
import { type AssignmentRow, loadAssignment, loadOrder, type OrderRole, roleOf } from './access.ts';
import {
  type AddProgressNoteInput,
  type AssignmentView,
  MAX_PROGRESS_NOTES,
  type MyAssignmentsFilter,
  type MyAssignmentView,
  type UpdateAssignmentInput,
} from './assignment-contract.ts';
import { assignmentsOf, bidById, updateAssignment } from './assignment-queries.ts';
import { bidView } from './bid-views.ts';
import { AGREED, ALLOWED_FROM, assertState, type OrderRow } from './lifecycle.ts';
import { primaryPhotoFiles, primaryPhotosOfLive } from './order-queries.ts';
import { orderAssignments } from './schema.ts';
import { orderSummaryView } from './summary-views.ts';

const assignmentPages = idPages('orders.my_assignments', orderAssignments.id);

/** Staff who may see the parties' contact details: those who handle disputes. */
const mayContactParties = (actor: Actor) => actor.roles.some((r) => r === 'admin' || r === 'moderator');

export type AssignmentService = ReturnType<typeof createAssignmentService>;

export function createAssignmentService({
  db,
  profiles,
  directory,
  files,
}: {
  db: Db;
  profiles: ProfileService;
  directory: DirectoryService;
  files: FileService;
}) {
  /** The order's assignment as its client, its assigned provider or staff see it; anyone else: "not found". */
  async function loadVisible(tx: Db, actor: Actor, orderId: string, options: { forUpdate?: boolean } = {}) {
    const order = await loadOrder(tx, orderId, options).catch((error: unknown) => {
      throw error instanceof NotFoundError ? new NotFoundError('assignment') : error;
    });
    const assignment = await loadAssignment(tx, order.id);
    const role = roleOf(actor, order, assignment);
    if (!assignment || role === 'other') throw new NotFoundError('assignment');
    return { order, assignment, role };
  }

  /** For writes: only the assigned provider, only while the work is on; the order row stays locked. */
  async function lockForProvider(tx: Db, actor: Actor, orderId: string) {
    const found = await loadVisible(tx, actor, orderId, { forUpdate: true });
    if (found.role !== 'assigned_provider') {
      throw new ForbiddenError(
        'assigned_provider_only',
        'only the assigned provider writes on the assignment',
      );
    }
    assertState(found.order, ALLOWED_FROM.workNotes);
    return found;
  }

  async function view(
    actor: Actor,
    order: OrderRow,
    assignment: AssignmentRow,
    role: OrderRole,
  ): Promise<AssignmentView> {
    const bid = await bidById(db, assignment.bidId);
    const cards = await directory.cards([assignment.providerProfileId]);
    const staffContact = role === 'staff' && mayContactParties(actor);
    const contactOf = async (show: boolean, userId: string) =>
      show && AGREED.includes(order.status) ? await profiles.contactCard(db, userId) : null;
    return {
      id: assignment.id,
      order_id: order.id,
      my_role: role === 'assigned_provider' ? 'provider' : role === 'client' ? 'client' : 'staff',
      order: orderSummaryView(order, {
        primaryPhoto: (await primaryPhotoFiles(db, [order.id], order.isDeleted)).get(order.id) ?? null,
        showClient: true,
      }),
      bid: bidView(bid!),
      provider: cards.get(assignment.providerProfileId) ?? null,
      start_date: assignment.startDate,
      progress_notes: assignment.progressNotes,
      completion_notes: assignment.completionNotes,
      completion_photo_file_ids: assignment.completionPhotoFileIds,
      client_contact: await contactOf(role === 'assigned_provider' || staffContact, assignment.clientUserId),
      provider_contact: await contactOf(role === 'client' || staffContact, assignment.providerUserId),
      created_at: assignment.createdAt.toISOString(),
      updated_at: assignment.updatedAt.toISOString(),
    };
  }

  async function getAssignment(actor: Actor, orderId: string) {
    const { order, assignment, role } = await loadVisible(db, actor, orderId);
    return view(actor, order, assignment, role);
  }

  return {
    getAssignment,

    /** The assigned provider tells the client how the work goes; notes are kept oldest first. */
    async addProgressNote(actor: Actor, orderId: string, input: AddProgressNoteInput) {
      await db.transaction(async (tx) => {
        const { assignment } = await lockForProvider(tx, actor, orderId);
        const notes = assignment.progressNotes;
        if (notes.length >= MAX_PROGRESS_NOTES) {
          throw new RuleViolationError(
            'too_many_progress_notes',
            `an assignment holds at most ${MAX_PROGRESS_NOTES} progress notes`,
          );
        }
        const note = { at: new Date().toISOString(), text: input.text };
        await updateAssignment(tx, assignment.id, { progressNotes: [...notes, note] });
        // The trail records the note added, not the whole list again.
        await writeAudit(tx, actor, [
          {
            action: 'update',
            entity: 'order_assignments',
            entityId: assignment.id,
            before: { progressNoteCount: notes.length, addedProgressNote: null },
            after: { progressNoteCount: notes.length + 1, addedProgressNote: note },
          },
        ]);
      });
      return getAssignment(actor, orderId);
    },

    /** Completion notes and photos (the provider's own `order_photo` uploads; the list is replaced). */
    async updateAssignment(actor: Actor, orderId: string, input: UpdateAssignmentInput) {
      await db.transaction(async (tx) => {
        const { assignment: before } = await lockForProvider(tx, actor, orderId);
        if (input.completion_photo_file_ids) {
          await files.attach(actor, input.completion_photo_file_ids, 'order_photo', {
            entity: 'order_assignments',
            id: before.id,
            field: 'completion_photo_file_ids',
          });
        }
        const after = await updateAssignment(tx, before.id, {
          completionNotes: input.completion_notes,
          completionPhotoFileIds: input.completion_photo_file_ids,
        });
        await writeAudit(tx, actor, [
          { action: 'update', entity: 'order_assignments', entityId: before.id, before, after },
        ]);
      });
      return getAssignment(actor, orderId);
    },

    /** A completion photo, for the parties and staff; only files listed on the assignment. */
    async openCompletionPhoto(actor: Actor, orderId: string, fileId: string) {
      const { assignment } = await loadVisible(db, actor, orderId);
      if (!assignment.completionPhotoFileIds.includes(fileId)) throw new NotFoundError('file');
      return files.openPublic(fileId, 'order_photo');
    },

    /** The caller's assignments, as provider, as client or both, newest first. */
    async listMyAssignments(
      actor: Actor,
      filter: MyAssignmentsFilter,
    ): Promise<PageResult<MyAssignmentView>> {
      const me = actor.userId ?? '';
      const page = assignmentPages(filter);
      const rows = await assignmentsOf(db, me, filter, page);
      const photos = await primaryPhotosOfLive(db, rows);
      return page.page(
        rows,
        (r) => r.assignment.id,
        ({ assignment, order }) => ({
          id: assignment.id,
          my_role: assignment.providerUserId === me ? 'provider' : 'client',
          order: orderSummaryView(order, { primaryPhoto: photos.get(order.id) ?? null, showClient: true }),
          bid_id: assignment.bidId,
          start_date: assignment.startDate,
          progress_note_count: assignment.progressNotes.length,
          created_at: assignment.createdAt.toISOString(),
        }),
      );
    },
  };
}
