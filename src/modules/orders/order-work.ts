import { type Actor, systemActor } from '../../platform/actor.ts';
import { type AuditEntry, writeAudit } from '../../platform/audit/service.ts';
import type { Db } from '../../platform/db.ts';
import { ConflictError } from '../../platform/errors.ts';
import { type AssignmentRow, loadAssignment, openOrder } from './access.ts';
import { ALLOWED_FROM, assertState, changeOrderStatus, type OrderRow } from './lifecycle.ts';
import type { CompleteOrderInput, NoteInput, OrderView } from './order-contract.ts';
import { lockLiveOrder, markWorkDone, updateAssignmentRow, workDoneBefore } from './order-queries.ts';
import { DAY_MS, notAssignedProvider, notYourOrder } from './order-rules.ts';
import type { OrderServiceDeps } from './order-service.ts';
import type { OrderViews } from './order-views.ts';

const AUTO_CONFIRM_BATCH = 200;

/** The agreed work: the provider starts it and marks it done, the client (or, in time, the platform) confirms it. */
export function createOrderWork({
  db,
  catalog,
  files,
  profiles,
  events,
  views,
}: Pick<OrderServiceDeps, 'db' | 'catalog' | 'files' | 'profiles' | 'events'> & { views: OrderViews }) {
  /** in_progress with the work marked done -> completed; both sides' counters follow. */
  async function confirmCompletion(
    tx: Db,
    actor: Actor,
    order: OrderRow,
    assignment: AssignmentRow | undefined,
    reason: string | null,
  ) {
    const after = await changeOrderStatus(tx, actor, events, order, 'completed', {
      from: ALLOWED_FROM.confirm,
      reason,
      set: { completedAt: new Date() },
      providerUserId: assignment?.providerUserId,
    });
    if (assignment) await profiles.recordProviderCompletedOrder(tx, assignment.providerProfileId, 1);
    await profiles.adjustClientCounters(order.clientUserId, { completed: 1 });
    return after;
  }

  return {
    async startOrder(actor: Actor, id: string, input: NoteInput): Promise<OrderView> {
      return db.transaction(async (tx) => {
        const { order, assignment, role } = await openOrder(tx, actor, id);
        if (role !== 'assigned_provider' || !assignment) throw notAssignedProvider();
        assertState(order, ALLOWED_FROM.start);
        const after = await changeOrderStatus(tx, actor, events, order, 'in_progress', {
          from: ALLOWED_FROM.start,
          reason: input?.note ?? null,
          set: { startedAt: new Date() },
          providerUserId: assignment.providerUserId,
        });
        return views.orderView(tx, actor, after, role, assignment);
      });
    },

    /** The provider says the work is done; the order stays in progress until the client confirms. */
    async completeOrder(actor: Actor, id: string, input: CompleteOrderInput): Promise<OrderView> {
      return db.transaction(async (tx) => {
        const { order, assignment, role } = await openOrder(tx, actor, id);
        if (role !== 'assigned_provider' || !assignment) throw notAssignedProvider();
        assertState(order, ALLOWED_FROM.complete);
        if (order.workDoneAt) {
          throw new ConflictError(
            'work_already_done',
            'the work is already marked done; the client confirms it',
          );
        }
        const photoIds = input?.completion_photo_file_ids;
        if (photoIds) {
          await files.attach(actor, photoIds, 'order_photo', {
            entity: 'order_assignments',
            id: assignment.id,
            field: 'completion_photo_file_ids',
          });
        }
        const after = await markWorkDone(tx, order.id);
        const audit: AuditEntry[] = [
          { action: 'update', entity: 'orders', entityId: order.id, before: order, after },
        ];
        let current = assignment;
        if (input?.completion_notes !== undefined || photoIds !== undefined) {
          const changed = await updateAssignmentRow(tx, assignment.id, {
            completionNotes: input?.completion_notes,
            completionPhotoFileIds: photoIds,
          });
          audit.push({
            action: 'update',
            entity: 'order_assignments',
            entityId: assignment.id,
            before: assignment,
            after: changed,
          });
          current = changed;
        }
        await writeAudit(tx, actor, audit);
        await events.emit({
          type: 'order_work_done',
          order_id: order.id,
          recipient_user_ids: [order.clientUserId],
        });
        return views.orderView(tx, actor, after!, role, current);
      });
    },

    async confirmOrder(actor: Actor, id: string, input: NoteInput): Promise<OrderView> {
      return db.transaction(async (tx) => {
        const { order, assignment, role } = await openOrder(tx, actor, id);
        if (role !== 'client') throw notYourOrder();
        assertState(order, ALLOWED_FROM.confirm);
        if (!order.workDoneAt) {
          throw new ConflictError('work_not_done', 'the provider has not marked the work done yet');
        }
        const after = await confirmCompletion(tx, actor, order, assignment, input?.note ?? null);
        return views.orderView(tx, actor, after, role, assignment);
      });
    },

    /**
     * For the hourly job: confirms the work the provider marked done more than `order_auto_confirm_days`
     * ago and the client never answered. Each order in its own transaction, re-checked under its lock, so a
     * second run (or a client confirming at the same moment) changes nothing twice.
     */
    async autoConfirmOrders(now = new Date()) {
      const setting = await catalog.getSettingValue<number>('order_auto_confirm_days', 3);
      const days = Number.isFinite(setting) && setting >= 0 ? setting : 3;
      const cutoff = new Date(now.getTime() - days * DAY_MS);
      const actor = systemActor();
      let confirmed = 0;
      for (;;) {
        const due = await workDoneBefore(db, cutoff, AUTO_CONFIRM_BATCH);
        for (const { id } of due) {
          const done = await db.transaction(async (tx) => {
            const order = await lockLiveOrder(tx, id);
            if (order?.status !== 'in_progress' || !order.workDoneAt || order.workDoneAt >= cutoff) {
              return false;
            }
            const assignment = await loadAssignment(tx, id);
            await confirmCompletion(
              tx,
              actor,
              order,
              assignment,
              `confirmed automatically after ${days} ${days === 1 ? 'day' : 'days'}`,
            );
            return true;
          });
          if (done) confirmed++;
        }
        if (due.length < AUTO_CONFIRM_BATCH) return confirmed;
      }
    },
  };
}
