import type { Actor } from '../../platform/actor.ts';
import { type AuditEntry, writeAudit } from '../../platform/audit/service.ts';
import type { Db } from '../../platform/db.ts';
import { ConflictError, NotFoundError, onUniqueViolation } from '../../platform/errors.ts';
import type { CaseRules } from '../../platform/own-case.ts';
import { idPages, type PageRequest, type PageResult } from '../../platform/pagination.ts';
import type { SoftDeletes } from '../../platform/soft-delete.ts';
import type { ProfileService } from '../users/profile-service.ts';
import { type AssignmentRow, loadAssignment, loadOrder, lockOrderForParty, roleOf } from './access.ts';
import { updateAssignment } from './assignment-queries.ts';
import type { OrderEvents } from './events.ts';
import { ALLOWED_FROM, assertState, type OrderRow } from './lifecycle.ts';
import type { CreateReviewInput, OrderReviewView, PublicReviewView } from './review-contract.ts';
import {
  clientProfileOfOrder,
  hideShownReviews,
  insertReview,
  lockReview,
  publishedReviewsOf,
  reviewById,
  reviewIn,
  reviewOfOrder,
  reviewsOfOrder,
} from './review-queries.ts';
import { orderReviews } from './schema.ts';

type ReviewRow = typeof orderReviews.$inferSelect;

const orderReviewPages = idPages('orders.order_reviews', orderReviews.id);
const providerReviewPages = idPages('orders.provider_reviews', orderReviews.id);

const reviewNotFound = () => new NotFoundError('review');
const alreadyReviewed = () =>
  new ConflictError(
    'review_already_exists',
    'you have already reviewed this order; a review is written once',
  );

export const orderReviewView = (r: ReviewRow): OrderReviewView => ({
  id: r.id,
  order_id: r.orderId,
  direction: r.direction,
  author_user_id: r.authorUserId,
  subject_user_id: r.subjectUserId,
  rating: r.rating,
  comment: r.comment,
  created_at: r.createdAt.toISOString(),
  updated_at: r.updatedAt.toISOString(),
  is_deleted: r.isDeleted,
  deleted_at: r.deletedAt?.toISOString() ?? null,
  hidden_reason: r.hiddenReason,
});

/** What others may know of a person from their account name: the first word of it. */
const firstName = (fullName: string | undefined) => fullName?.trim().split(/\s+/)[0] || null;

export type ReviewService = ReturnType<typeof createReviewService>;

/**
 * Ratings after an order is completed: the client rates the assigned provider, the provider rates the
 * client, each once. The subject's average and count (kept by the users module) move in the same
 * transaction as the review, and move back when staff remove it or a dispute ruling cancels the order
 * (the review is then hidden: kept for staff, shown to no one else).
 */
export function createReviewService({
  db,
  events,
  profiles,
  cases,
  softDeletes,
}: {
  db: Db;
  events: OrderEvents;
  profiles: Pick<
    ProfileService,
    'recordProviderReview' | 'recordClientReview' | 'contactCard' | 'liveProviderIds'
  >;
  cases: Pick<CaseRules, 'assertNotOwnCase'>;
  softDeletes: SoftDeletes;
}) {
  /**
   * Moves the subject's rating by one review (+1 when it counts, -1 when it stops counting) and keeps the
   * assignment's mirror of the client's rating in step.
   */
  async function countReview(
    tx: Db,
    review: ReviewRow,
    order: Pick<OrderRow, 'clientProfileId'>,
    assignment: AssignmentRow | undefined,
    sign: 1 | -1,
  ): Promise<AuditEntry[]> {
    if (review.direction === 'provider_to_client') {
      await profiles.recordClientReview(tx, order.clientProfileId, review.rating, sign);
      return [];
    }
    if (!assignment) return [];
    await profiles.recordProviderReview(tx, assignment.providerProfileId, review.rating, sign);
    const after = await updateAssignment(tx, assignment.id, {
      clientRating: sign === 1 ? review.rating : null,
    });
    return [
      { action: 'update', entity: 'order_assignments', entityId: assignment.id, before: assignment, after },
    ];
  }

  /**
   * A review for a staff decision, with its order (deleted or not) and the order's assignment, the review
   * row locked. Staff who wrote it or are its subject do not decide on it.
   */
  async function loadReviewForDecision(tx: Db, actor: Actor, id: string) {
    const review = await lockReview(tx, id);
    if (!review) throw reviewNotFound();
    await cases.assertNotOwnCase(tx, actor, [review.authorUserId, review.subjectUserId], 'party');
    const order = await clientProfileOfOrder(tx, review.orderId);
    if (!order) throw reviewNotFound();
    return { review, order, assignment: await loadAssignment(tx, review.orderId) };
  }

  /**
   * The reviews of an order the caller reads: its two parties the live ones, staff removed ones too; anyone
   * else does not see the order.
   */
  async function readableReviews(actor: Actor, orderId: string) {
    const order = await loadOrder(db, orderId);
    const role = roleOf(actor, order, await loadAssignment(db, orderId));
    if (role === 'other') throw new NotFoundError('order');
    return { orderId, withRemoved: role === 'staff' };
  }

  return {
    /**
     * The caller rates the other party of a completed order. The order row is locked, so two reviews sent
     * at once are taken one after the other and the second is 409; the partial unique index backs this up.
     * A review staff removed still counts as written: the author cannot write another one.
     */
    async createReview(actor: Actor, orderId: string, input: CreateReviewInput): Promise<OrderReviewView> {
      return onUniqueViolation(
        db.transaction(async (tx) => {
          const { order, assignment, role } = await lockOrderForParty(tx, actor, orderId, 'review an order');
          assertState(order, ALLOWED_FROM.review);
          if (!assignment) throw new NotFoundError('order');

          const direction = role === 'client' ? 'client_to_provider' : 'provider_to_client';
          const existing = await reviewIn(tx, orderId, direction);
          if (existing) throw alreadyReviewed();

          const review = await insertReview(tx, {
            orderId,
            direction,
            authorUserId: actor.userId!,
            subjectUserId: role === 'client' ? assignment.providerUserId : order.clientUserId,
            rating: input.rating,
            comment: input.comment ?? null,
          });
          const audit = await countReview(tx, review, order, assignment, 1);
          await writeAudit(tx, actor, [
            { action: 'create', entity: 'order_reviews', entityId: review.id, after: review },
            ...audit,
          ]);
          await events.emit({
            type: 'review_received',
            order_id: orderId,
            review_id: review.id,
            recipient_user_ids: [review.subjectUserId],
          });
          return orderReviewView(review);
        }),
        { order_reviews_once_uq: alreadyReviewed },
      );
    },

    /** The reviews of one order, for its two parties (live ones) and staff (removed ones too). */
    async listOrderReviews(
      actor: Actor,
      orderId: string,
      request: PageRequest,
    ): Promise<PageResult<OrderReviewView>> {
      const page = orderReviewPages(request);
      const rows = await reviewsOfOrder(db, await readableReviews(actor, orderId), page);
      return page.page(rows, (r) => r.id, orderReviewView);
    },

    /** One review of an order, for whoever reads the order's reviews. */
    async getOrderReview(actor: Actor, orderId: string, reviewId: string): Promise<OrderReviewView> {
      const row = await reviewOfOrder(db, await readableReviews(actor, orderId), reviewId);
      if (!row) throw new NotFoundError('review');
      return orderReviewView(row);
    },

    /** Anyone: the live reviews clients wrote of a provider (by provider profile id), newest first. */
    async listProviderReviews(
      providerId: string,
      request: PageRequest,
    ): Promise<PageResult<PublicReviewView>> {
      const page = providerReviewPages(request);
      if ((await profiles.liveProviderIds([providerId])).length === 0) throw new NotFoundError('provider');
      const rows = await publishedReviewsOf(db, providerId, page);
      const { data, next_cursor } = page.page(
        rows,
        (r) => r.review.id,
        (r) => r,
      );
      const names = new Map<string, string | null>();
      for (const authorId of new Set(data.map((r) => r.review.authorUserId))) {
        names.set(authorId, firstName((await profiles.contactCard(db, authorId))?.full_name));
      }
      return {
        next_cursor,
        data: data.map(({ review, subcategoryId }) => ({
          id: review.id,
          rating: review.rating,
          comment: review.comment,
          author_name: names.get(review.authorUserId) ?? null,
          subcategory_id: subcategoryId,
          created_at: review.createdAt.toISOString(),
        })),
      };
    },

    /**
     * In the ruling's transaction, the order locked and now cancelled: its reviews are hidden, each out of
     * its subject's average and count (a removed one is out already), and stay for staff.
     */
    async hideReviewsOfRuledOrder(tx: Db, actor: Actor, order: Pick<OrderRow, 'id' | 'clientProfileId'>) {
      const hidden = await hideShownReviews(tx, order.id, 'order_cancelled_by_ruling');
      if (hidden.length === 0) return;
      const assignment = await loadAssignment(tx, order.id);
      const audit: AuditEntry[] = [];
      for (const review of hidden) {
        audit.push({
          action: 'update',
          entity: 'order_reviews',
          entityId: review.id,
          before: { hiddenReason: null },
          after: { hiddenReason: review.hiddenReason },
        });
        if (!review.isDeleted) audit.push(...(await countReview(tx, review, order, assignment, -1)));
      }
      await writeAudit(tx, actor, audit);
    },

    /** Staff take a review down: it stops counting in the subject's average and count. */
    async removeReview(actor: Actor, reviewId: string) {
      await db.transaction(async (tx) => {
        const { review, order, assignment } = await loadReviewForDecision(tx, actor, reviewId);
        if (review.isDeleted) {
          throw new ConflictError('review_already_removed', 'this review has already been removed');
        }
        await softDeletes.softDelete(tx, actor, orderReviews, [review.id]);
        // A hidden review already left the average.
        if (review.hiddenReason === null)
          await writeAudit(tx, actor, await countReview(tx, review, order, assignment, -1));
      });
    },

    /** Staff put a removed review back: it counts again, unless it is hidden (its order ruled cancelled). */
    async restoreReview(actor: Actor, reviewId: string): Promise<OrderReviewView> {
      return onUniqueViolation(
        db.transaction(async (tx) => {
          const { review, order, assignment } = await loadReviewForDecision(tx, actor, reviewId);
          await softDeletes.restore(tx, actor, orderReviews, review.id, 'review');
          if (review.hiddenReason === null)
            await writeAudit(tx, actor, await countReview(tx, review, order, assignment, 1));
          const after = await reviewById(tx, review.id);
          return orderReviewView(after!);
        }),
        { order_reviews_once_uq: alreadyReviewed },
      );
    },
  };
}
