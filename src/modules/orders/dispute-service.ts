import type { Actor, Role } from '../../platform/actor.ts';
import { writeAudit } from '../../platform/audit/service.ts';
import type { Db } from '../../platform/db.ts';
import { ConflictError, ForbiddenError, NotFoundError, onUniqueViolation } from '../../platform/errors.ts';
import type { CaseRules } from '../../platform/own-case.ts';
import { idPages, type PageRequest, type PageResult } from '../../platform/pagination.ts';
import type { FileService } from '../../platform/storage/service.ts';
import type { CatalogService } from '../core/service.ts';
import type { ProfileService } from '../users/profile-service.ts';
import { loadAssignment, loadOrder, lockOrderForParty, roleOf } from './access.ts';
import type {
  AdminDisputesFilter,
  AdminDisputeView,
  CloseDisputeInput,
  DisputeView,
  OpenDisputeInput,
  ResolveDisputeInput,
} from './dispute-contract.ts';
import {
  disputeById,
  disputeOfOrder,
  disputesOfOrder,
  findDisputes,
  insertDispute,
  lockDispute,
  updateDisputeIn,
} from './dispute-queries.ts';
import type { OrderEvents } from './events.ts';
import { ALLOWED_FROM, assertState, changeOrderStatus, type OrderRow } from './lifecycle.ts';
import type { ReviewService } from './review-service.ts';
import { type DISPUTE_STATUSES, orderDisputes } from './schema.ts';

type DisputeRow = typeof orderDisputes.$inferSelect;
type DisputeStatus = (typeof DISPUTE_STATUSES)[number];

const DAY_MS = 86_400_000;
/** The statuses in which staff still have to act; at most one dispute per order is in one of them. */
const PENDING: DisputeStatus[] = ['open', 'under_review'];

/**
 * Staff who read disputes and their evidence: those who rule on them, and finance, who carry out a ruling's
 * refund. Other staff see the order, not what the parties brought against each other.
 */
export const DISPUTE_READERS: readonly Role[] = ['admin', 'moderator', 'finance'];

const disputeNotFound = () => new NotFoundError('dispute');
const alreadyOpen = () =>
  new ConflictError('dispute_already_open', 'this order already has a dispute that staff are handling');
const wrongDisputeState = (status: DisputeStatus, allowed: readonly DisputeStatus[]) =>
  new ConflictError(
    `dispute_is_${status}`,
    `the dispute is ${status.replace('_', ' ')}; this needs it to be ${allowed.join(' or ')}`,
  );

export const disputeView = (d: DisputeRow): DisputeView => ({
  id: d.id,
  order_id: d.orderId,
  opened_by_user_id: d.openedByUserId,
  dispute_type: d.disputeType,
  description: d.description,
  evidence_file_ids: d.evidenceFileIds,
  status: d.status,
  resolution: d.resolution,
  created_at: d.createdAt.toISOString(),
  resolved_at: d.resolvedAt?.toISOString() ?? null,
});

export const adminDisputeView = (d: DisputeRow): AdminDisputeView => ({
  ...disputeView(d),
  order_status_before: d.orderStatusBefore,
  outcome: d.outcome,
  refund: d.refund,
  handled_by: d.handledBy,
  updated_at: d.updatedAt.toISOString(),
});

const orderDisputePages = idPages('orders.order_disputes', orderDisputes.id);
const adminDisputePages = idPages('orders.admin_disputes', orderDisputes.id);

export type DisputeService = ReturnType<typeof createDisputeService>;

/**
 * Disputes over agreed work. Either party opens one; the order waits in `disputed` until staff rule on it
 * (the order ends `completed` or `cancelled`) or close it without a ruling (the order goes back to where it
 * was). Each change is one transaction with the order's status change, the audit and the events.
 */
export function createDisputeService({
  db,
  events,
  profiles,
  files,
  catalog,
  cases,
  reviews,
}: {
  db: Db;
  events: OrderEvents;
  profiles: Pick<ProfileService, 'adjustClientCounters' | 'recordProviderCompletedOrder'>;
  files: Pick<FileService, 'attach'>;
  catalog: Pick<CatalogService, 'getSettingValue'>;
  cases: Pick<CaseRules, 'assertNotOwnCase'>;
  reviews: Pick<ReviewService, 'hideReviewsOfRuledOrder'>;
}) {
  /**
   * A pending dispute locked for a staff decision, with its order locked too. Staff who are a party of the
   * order cannot decide on it.
   */
  async function loadForDecision(tx: Db, actor: Actor, id: string) {
    const dispute = await lockDispute(tx, id);
    if (!dispute) throw disputeNotFound();
    if (!PENDING.includes(dispute.status)) throw wrongDisputeState(dispute.status, PENDING);
    const order = await loadOrder(tx, dispute.orderId, { forUpdate: true, includeDeleted: true });
    const assignment = await loadAssignment(tx, order.id);
    await cases.assertNotOwnCase(tx, actor, [order.clientUserId, assignment?.providerUserId], 'party');
    return { dispute, order, assignment, providerUserId: assignment?.providerUserId ?? null };
  }

  /** The conditional update that ends or advances a dispute: of two decisions at once, one lands. */
  async function decide(
    tx: Db,
    actor: Actor,
    dispute: DisputeRow,
    from: readonly DisputeStatus[],
    set: Partial<typeof orderDisputes.$inferInsert>,
  ) {
    const after = await updateDisputeIn(tx, dispute.id, from, { ...set, handledBy: actor.userId });
    if (!after) throw wrongDisputeState(dispute.status, from);
    await writeAudit(tx, actor, [
      { action: 'update', entity: 'order_disputes', entityId: dispute.id, before: dispute, after },
    ]);
    return after;
  }

  /**
   * The order counters follow where a ruling sends the order: work that ends completed counts as completed
   * once, for both parties, and work that ends cancelled as cancelled (no longer completed, for both).
   */
  async function countOutcome(
    tx: Db,
    order: OrderRow,
    before: OrderRow['status'],
    outcome: 'completed' | 'cancelled',
    providerProfileId: string | null,
  ) {
    const wasCompleted = before === 'completed';
    if (outcome === 'completed' && !wasCompleted) {
      await profiles.adjustClientCounters(order.clientUserId, { completed: 1 });
      if (providerProfileId) await profiles.recordProviderCompletedOrder(tx, providerProfileId, 1);
    } else if (outcome === 'cancelled') {
      await profiles.adjustClientCounters(order.clientUserId, {
        cancelled: 1,
        completed: wasCompleted ? -1 : 0,
      });
      if (wasCompleted && providerProfileId) {
        await profiles.recordProviderCompletedOrder(tx, providerProfileId, -1);
      }
    }
  }

  async function tellParties(dispute: DisputeRow, order: OrderRow, providerUserId: string | null) {
    await events.emit({
      type: 'dispute_resolved',
      order_id: order.id,
      dispute_id: dispute.id,
      recipient_user_ids: [order.clientUserId, providerUserId].filter((id): id is string => !!id),
    });
  }

  /** The order's two parties and dispute staff read its disputes; anyone else does not see the order. */
  async function checkReader(actor: Actor, orderId: string) {
    const order = await loadOrder(db, orderId);
    const role = roleOf(actor, order, await loadAssignment(db, orderId));
    if (role === 'other') throw new NotFoundError('order');
    if (role === 'staff' && !actor.roles.some((r) => DISPUTE_READERS.includes(r))) {
      throw new ForbiddenError('not_dispute_staff', 'only the parties and dispute staff read disputes');
    }
  }

  return {
    /**
     * A party disputes an assigned, started or completed order; a completed one only within
     * `dispute_window_days` of completion. The order moves to `disputed` and the other party hears of it.
     */
    async openDispute(actor: Actor, orderId: string, input: OpenDisputeInput): Promise<DisputeView> {
      const windowDays = await catalog.getSettingValue<number>('dispute_window_days', 7);
      return onUniqueViolation(
        db.transaction(async (tx) => {
          const { order, assignment, role } = await lockOrderForParty(tx, actor, orderId, 'open a dispute');
          if (order.status === 'disputed') throw alreadyOpen();
          assertState(order, ALLOWED_FROM.dispute);
          if (
            order.status === 'completed' &&
            order.completedAt &&
            Date.now() > order.completedAt.getTime() + windowDays * DAY_MS
          ) {
            throw new ConflictError(
              'dispute_window_closed',
              `a completed order can be disputed within ${windowDays} days of completion`,
            );
          }
          const evidence = input.evidence_file_ids ?? [];

          const dispute = await insertDispute(tx, {
            orderId,
            openedByUserId: actor.userId!,
            disputeType: input.dispute_type,
            description: input.description,
            evidenceFileIds: evidence,
            orderStatusBefore: order.status,
          });
          await files.attach(actor, evidence, 'dispute_evidence', {
            entity: 'order_disputes',
            id: dispute.id,
            field: 'evidence_file_ids',
          });
          await writeAudit(tx, actor, [
            { action: 'create', entity: 'order_disputes', entityId: dispute.id, after: dispute },
          ]);
          await changeOrderStatus(tx, actor, events, order, 'disputed', {
            from: ALLOWED_FROM.dispute,
            reason: `dispute opened: ${input.dispute_type}`,
            providerUserId: assignment?.providerUserId,
          });
          const other = role === 'client' ? assignment?.providerUserId : order.clientUserId;
          await events.emit({
            type: 'dispute_opened',
            order_id: orderId,
            dispute_id: dispute.id,
            recipient_user_ids: other ? [other] : [],
          });
          return disputeView(dispute);
        }),
        { order_disputes_one_open_uq: alreadyOpen },
      );
    },

    /** An order's disputes, newest first, for its two parties and the staff who read disputes. */
    async listOrderDisputes(
      actor: Actor,
      orderId: string,
      request: PageRequest,
    ): Promise<PageResult<DisputeView>> {
      const page = orderDisputePages(request);
      await checkReader(actor, orderId);
      const rows = await disputesOfOrder(db, orderId, page);
      return page.page(rows, (d) => d.id, disputeView);
    },

    /** One of an order's disputes, for whoever reads the order's disputes. */
    async getOrderDispute(actor: Actor, orderId: string, disputeId: string): Promise<DisputeView> {
      await checkReader(actor, orderId);
      const row = await disputeOfOrder(db, orderId, disputeId);
      if (!row) throw disputeNotFound();
      return disputeView(row);
    },

    async adminList(filter: AdminDisputesFilter): Promise<PageResult<AdminDisputeView>> {
      const page = adminDisputePages(filter, filter.sort);
      const rows = await findDisputes(db, filter, page);
      return page.page(rows, (d) => d.id, adminDisputeView);
    },

    async adminGet(id: string): Promise<AdminDisputeView> {
      const row = await disputeById(db, id);
      if (!row) throw disputeNotFound();
      return adminDisputeView(row);
    },

    /** Staff take an open dispute into review; they become its handler. */
    async startReview(actor: Actor, id: string): Promise<AdminDisputeView> {
      return db.transaction(async (tx) => {
        const { dispute } = await loadForDecision(tx, actor, id);
        if (dispute.status !== 'open') throw wrongDisputeState(dispute.status, ['open']);
        return adminDisputeView(await decide(tx, actor, dispute, ['open'], { status: 'under_review' }));
      });
    },

    /**
     * A ruling: the order leaves `disputed` for the outcome, and both parties hear of it. Ruled cancelled,
     * its reviews are hidden and leave the averages.
     */
    async resolve(actor: Actor, id: string, input: ResolveDisputeInput): Promise<AdminDisputeView> {
      return db.transaction(async (tx) => {
        const { dispute, order, assignment, providerUserId } = await loadForDecision(tx, actor, id);
        const now = new Date();
        const after = await decide(tx, actor, dispute, PENDING, {
          status: 'resolved',
          resolution: input.resolution,
          outcome: input.outcome,
          refund: input.refund,
          resolvedAt: now,
        });
        await changeOrderStatus(tx, actor, events, order, input.outcome, {
          from: ALLOWED_FROM.endDispute,
          reason: `dispute resolved: ${input.outcome}${input.refund ? ', refund' : ''}`,
          set:
            input.outcome === 'completed'
              ? { completedAt: order.completedAt ?? now }
              : { cancelledAt: now, cancelReason: 'cancelled by a dispute ruling' },
          providerUserId,
        });
        await countOutcome(
          tx,
          order,
          dispute.orderStatusBefore,
          input.outcome,
          assignment?.providerProfileId ?? null,
        );
        // Work ruled cancelled was not the work its reviews rated (DECISIONS.md).
        if (input.outcome === 'cancelled') await reviews.hideReviewsOfRuledOrder(tx, actor, order);
        await tellParties(after, order, providerUserId);
        return adminDisputeView(after);
      });
    },

    /**
     * No ruling (withdrawn, settled between the parties): the order goes back to where it was. Work marked
     * done and not yet confirmed gets a fresh confirmation window: the days in dispute do not count against
     * the client, or the auto-confirm job could confirm the order the moment it came back.
     */
    async close(actor: Actor, id: string, input: CloseDisputeInput): Promise<AdminDisputeView> {
      return db.transaction(async (tx) => {
        const { dispute, order, providerUserId } = await loadForDecision(tx, actor, id);
        const now = new Date();
        const after = await decide(tx, actor, dispute, PENDING, {
          status: 'closed',
          resolution: input.resolution,
          resolvedAt: now,
        });
        await changeOrderStatus(tx, actor, events, order, dispute.orderStatusBefore, {
          from: ALLOWED_FROM.endDispute,
          reason: 'dispute closed without a ruling',
          set:
            dispute.orderStatusBefore === 'in_progress' && order.workDoneAt ? { workDoneAt: now } : undefined,
          providerUserId,
        });
        await tellParties(after, order, providerUserId);
        return adminDisputeView(after);
      });
    },
  };
}
