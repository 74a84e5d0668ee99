import type { Actor } from '../../platform/actor.ts';
import type { Db } from '../../platform/db.ts';
import type { IdPage, PageResult } from '../../platform/pagination.ts';
import type { SealedContactCard } from '../users/queries.ts';
import type { AssignmentRow, OrderRole } from './access.ts';
import { AGREED, type OrderRow } from './lifecycle.ts';
import type { LocationValue, OrderLineView, OrderView } from './order-contract.ts';
import { orderParts, primaryPhotoFiles } from './order-queries.ts';
import { isOrderModerator } from './order-rules.ts';
import type { OrderServiceDeps } from './order-service.ts';
import type { orderStatusHistory } from './schema.ts';
import { orderLineView } from './summary-views.ts';

const iso = (d: Date | null) => d?.toISOString() ?? null;

export const historyEntryView = (h: typeof orderStatusHistory.$inferSelect) => ({
  id: h.id,
  from_status: h.fromStatus,
  to_status: h.toStatus,
  actor_id: h.actorId,
  reason: h.reason,
  created_at: h.createdAt.toISOString(),
});

export type OrderViews = ReturnType<typeof createOrderViews>;

/** How an order is shown: whole to whoever may see it, or as a line of a list. */
export function createOrderViews({
  db,
  cipher,
  profiles,
}: Pick<OrderServiceDeps, 'db' | 'cipher' | 'profiles'>) {
  return {
    /**
     * The order as `role` may see it: the address, the location and the assignment only for its parties
     * and staff; contact details only while the work is agreed.
     */
    async orderView(
      tx: Db,
      actor: Actor,
      order: OrderRow,
      role: OrderRole,
      assignment: AssignmentRow | undefined,
      parts?: Pick<OrderView, 'addons' | 'photos'> & {
        contacts?: { client: SealedContactCard | null; provider: SealedContactCard | null };
      },
    ): Promise<OrderView> {
      const [loaded] = parts ? [parts] : await orderParts(tx, order.id);
      const { addons, photos } = loaded!;
      const view: OrderView = {
        id: order.id,
        status: order.status,
        viewer_role: role,
        client_user_id: role === 'other' ? null : order.clientUserId,
        subcategory_id: order.subcategoryId,
        category_id: order.categoryId,
        title: order.title,
        description: order.description,
        service_area_id: order.serviceAreaId,
        service_date: order.serviceDate,
        time_from: order.timeFrom,
        time_to: order.timeTo,
        urgency: order.urgency,
        budget_min: order.budgetMin,
        budget_max: order.budgetMax,
        currency: order.currency,
        final_price: order.finalPrice,
        bid_count: order.bidCount,
        addons,
        photos,
        published_at: iso(order.publishedAt),
        assigned_at: iso(order.assignedAt),
        started_at: iso(order.startedAt),
        work_done_at: iso(order.workDoneAt),
        completed_at: iso(order.completedAt),
        cancelled_at: iso(order.cancelledAt),
        cancel_reason: order.cancelReason,
        created_at: order.createdAt.toISOString(),
        updated_at: order.updatedAt.toISOString(),
      };
      if (role === 'other') return view;

      view.address = order.addressEncrypted === null ? null : cipher.decrypt(order.addressEncrypted);
      view.location =
        order.locationEncrypted === null
          ? null
          : (JSON.parse(cipher.decrypt(order.locationEncrypted)) as LocationValue);
      view.assigned_provider = assignment
        ? {
            provider_profile_id: assignment.providerProfileId,
            provider_user_id: assignment.providerUserId,
            bid_id: assignment.bidId,
            completion_notes: assignment.completionNotes,
            completion_photo_file_ids: assignment.completionPhotoFileIds,
          }
        : null;
      const agreed = assignment !== undefined && AGREED.includes(order.status);
      const moderator = role === 'staff' && isOrderModerator(actor);
      const contactCard = (party: 'client' | 'provider', userId: string) =>
        parts?.contacts ? profiles.openContactCard(parts.contacts[party]) : profiles.contactCard(tx, userId);
      if (role === 'assigned_provider' || moderator) {
        view.client_contact = agreed ? await contactCard('client', order.clientUserId) : null;
      }
      if (role === 'client' || moderator) {
        view.provider_contact = agreed ? await contactCard('provider', assignment.providerUserId) : null;
      }
      return view;
    },

    /** A page of orders as list lines, each with its primary photo. */
    async summaries(page: IdPage, rows: OrderRow[], deleted = false): Promise<PageResult<OrderLineView>> {
      const { data, next_cursor } = page.page(
        rows,
        (r) => r.id,
        (r) => r,
      );
      const photos = await primaryPhotoFiles(
        db,
        data.map((r) => r.id),
        deleted,
      );
      return {
        next_cursor,
        data: data.map((o) => orderLineView(o, photos.get(o.id) ?? null)),
      };
    },
  };
}
