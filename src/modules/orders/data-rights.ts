import { and, asc, desc, eq, isNotNull, notInArray, or, sql } from 'drizzle-orm';
import type { FieldCipher } from '../../platform/crypto.ts';
import { defineDataRights, EXPORT_LIMIT } from '../../platform/data-rights.ts';
import type { Db } from '../../platform/db.ts';
import type { AddonPriceType } from '../core/contract.ts';
import { bidView } from './bid-views.ts';
import { OrdersSection } from './data-export-contract.ts';
import { disputeView } from './dispute-service.ts';
import { WORK_IN_PROGRESS } from './lifecycle.ts';
import type { LocationValue } from './order-contract.ts';
import { historyEntryView } from './order-views.ts';
import { orderReviewView } from './review-service.ts';
import {
  bids,
  orderAddons,
  orderAssignments,
  orderDisputes,
  orderPhotos,
  orderReviews,
  orderSearches,
  orderStatusHistory,
  orders,
} from './schema.ts';
import { whenAndBudget } from './summary-views.ts';

// The rows of one person, by account id: what the declarations name and the parts read and settle.
const ordersOf = (userId: string) => eq(orders.clientUserId, userId);
const orderIdsOf = (userId: string) => sql`(select ${orders.id} from ${orders} where ${ordersOf(userId)})`;
const addonsOf = (userId: string) => sql`${orderAddons.orderId} in ${orderIdsOf(userId)}`;
const photosOf = (userId: string) => sql`${orderPhotos.orderId} in ${orderIdsOf(userId)}`;
const historyOf = (userId: string) =>
  or(sql`${orderStatusHistory.orderId} in ${orderIdsOf(userId)}`, eq(orderStatusHistory.actorId, userId))!;
const bidsOf = (userId: string) => eq(bids.providerUserId, userId);
const assignmentsOf = (userId: string) =>
  or(eq(orderAssignments.clientUserId, userId), eq(orderAssignments.providerUserId, userId))!;
const reviewsOf = (userId: string) =>
  or(eq(orderReviews.authorUserId, userId), eq(orderReviews.subjectUserId, userId))!;
const disputesOf = (userId: string) =>
  or(
    eq(orderDisputes.openedByUserId, userId),
    sql`${orderDisputes.orderId} in (select ${orderAssignments.orderId} from ${orderAssignments} where ${assignmentsOf(userId)})`,
    sql`${orderDisputes.orderId} in ${orderIdsOf(userId)}`,
  )!;
const searchesOf = (userId: string) => eq(orderSearches.userId, userId);

/** What an order showed with it: its live parts, or, once deleted, the parts its deletion took. */
const partsShown = (
  part: { isDeleted: boolean; deletionId: string | null },
  of: typeof orders.$inferSelect,
) => (of.isDeleted ? part.deletionId !== null && part.deletionId === of.deletionId : !part.isDeleted);

const groupBy = <T, K>(rows: T[], key: (row: T) => K) => {
  const groups = new Map<K, T[]>();
  for (const row of rows) groups.set(key(row), [...(groups.get(key(row)) ?? []), row]);
  return groups;
};

/** The orders module's tables: orders with their parts, bids, agreed work, reviews, disputes, searches. */
export function orderDataRights({ db, cipher }: { db: Db; cipher: Pick<FieldCipher, 'decrypt'> }) {
  const open = (value: string | null) => (value === null ? null : cipher.decrypt(value));

  async function exportOrders(userId: string) {
    const rows = await db
      .select()
      .from(orders)
      .where(ordersOf(userId))
      .orderBy(desc(orders.id))
      .limit(EXPORT_LIMIT);
    const addons = groupBy(
      await db.select().from(orderAddons).where(addonsOf(userId)).orderBy(asc(orderAddons.id)),
      (a) => a.orderId,
    );
    const photos = groupBy(
      await db
        .select()
        .from(orderPhotos)
        .where(photosOf(userId))
        .orderBy(asc(orderPhotos.sortOrder), asc(orderPhotos.id)),
      (p) => p.orderId,
    );
    const history = groupBy(
      await db
        .select()
        .from(orderStatusHistory)
        .where(sql`${orderStatusHistory.orderId} in ${orderIdsOf(userId)}`)
        .orderBy(asc(orderStatusHistory.id)),
      (h) => h.orderId,
    );
    return rows.map((o) => ({
      id: o.id,
      status: o.status,
      subcategory_id: o.subcategoryId,
      category_id: o.categoryId,
      title: o.title,
      description: o.description,
      service_area_id: o.serviceAreaId,
      address: open(o.addressEncrypted),
      location:
        o.locationEncrypted === null ? null : (JSON.parse(open(o.locationEncrypted)!) as LocationValue),
      ...whenAndBudget(o),
      final_price: o.finalPrice,
      bid_count: o.bidCount,
      addons: (addons.get(o.id) ?? [])
        .filter((a) => partsShown(a, o))
        .map((a) => ({
          id: a.id,
          addon_id: a.addonId,
          quantity: a.quantity,
          unit_price: a.unitPrice,
          price_type: a.priceType as AddonPriceType,
        })),
      photos: (photos.get(o.id) ?? [])
        .filter((p) => partsShown(p, o))
        .map((p) => ({
          id: p.id,
          file_id: p.fileId,
          caption: p.caption,
          is_primary: p.isPrimary,
          sort_order: p.sortOrder,
        })),
      history: (history.get(o.id) ?? []).map(historyEntryView),
      published_at: o.publishedAt?.toISOString() ?? null,
      assigned_at: o.assignedAt?.toISOString() ?? null,
      started_at: o.startedAt?.toISOString() ?? null,
      work_done_at: o.workDoneAt?.toISOString() ?? null,
      completed_at: o.completedAt?.toISOString() ?? null,
      cancelled_at: o.cancelledAt?.toISOString() ?? null,
      cancel_reason: o.cancelReason,
      created_at: o.createdAt.toISOString(),
      updated_at: o.updatedAt.toISOString(),
      is_deleted: o.isDeleted,
    }));
  }

  return defineDataRights({
    module: 'orders',
    section: OrdersSection,
    tables: [
      {
        table: orders,
        rowsOf: ordersOf,
        export: ['orders'],
        erasure: {
          action: 'anonymise',
          detail:
            'the address and location are removed from the person’s orders (agreed work not finished refuses the erasure); the rest of each order stays as the marketplace’s record, its client an id that names no one',
        },
        archived: false,
      },
      {
        table: orderAddons,
        rowsOf: addonsOf,
        export: ['orders'],
        erasure: {
          action: 'keep',
          detail: 'what was ordered at what price: part of the order’s price; no personal text',
        },
        archived: false,
      },
      {
        table: orderPhotos,
        rowsOf: photosOf,
        export: ['orders'],
        erasure: {
          action: 'delete',
          detail: 'the photos of the person’s orders; their files go with the person’s uploads (platform)',
        },
        archived: false,
      },
      {
        table: orderStatusHistory,
        rowsOf: historyOf,
        export: ['orders'],
        erasure: {
          action: 'keep',
          detail:
            'the order’s history: which id changed its state, when and why (the changes the person made to others’ orders are in the activity)',
        },
        archived: false,
      },
      {
        table: bids,
        rowsOf: bidsOf,
        export: ['bids'],
        erasure: {
          action: 'keep',
          detail:
            'the offers on other people’s orders, part of those orders’ record; the provider an id that names no one',
        },
        archived: false,
      },
      {
        table: orderAssignments,
        rowsOf: assignmentsOf,
        export: ['assignments'],
        erasure: {
          action: 'keep',
          detail:
            'agreed work: the record behind its price, invoice and payment, which the business must keep; the completion photos the person took as its provider are removed, their files going with the person’s uploads (platform)',
        },
        archived: false,
      },
      {
        table: orderReviews,
        rowsOf: reviewsOf,
        export: ['reviews_written', 'reviews_received'],
        erasure: {
          action: 'keep',
          detail: 'ratings stay in the other party’s average; the author or subject an id that names no one',
        },
        archived: false,
      },
      {
        table: orderDisputes,
        rowsOf: disputesOf,
        export: ['disputes'],
        erasure: {
          action: 'keep',
          detail:
            'the record of a ruling over agreed work, which may have moved money; the evidence the person gave is removed, its files going with the person’s uploads (platform)',
        },
        archived: false,
      },
      {
        table: orderSearches,
        rowsOf: searchesOf,
        export: ['searches'],
        erasure: {
          action: 'anonymise',
          detail:
            'the searches lose their user id; what was searched stays for search analytics, linked to no one',
        },
        retention: { setting: 'search_log_retention_days', days: 90, after: orderSearches.createdAt },
        archived: false,
      },
    ],

    async export({ userId }) {
      const bidRows = await db
        .select()
        .from(bids)
        .where(bidsOf(userId))
        .orderBy(desc(bids.id))
        .limit(EXPORT_LIMIT);
      const assignments = await db
        .select()
        .from(orderAssignments)
        .where(assignmentsOf(userId))
        .orderBy(desc(orderAssignments.id))
        .limit(EXPORT_LIMIT);
      const reviews = await db
        .select()
        .from(orderReviews)
        .where(reviewsOf(userId))
        .orderBy(desc(orderReviews.id))
        .limit(EXPORT_LIMIT);
      const disputes = await db
        .select()
        .from(orderDisputes)
        .where(disputesOf(userId))
        .orderBy(desc(orderDisputes.id))
        .limit(EXPORT_LIMIT);
      const searches = await db
        .select()
        .from(orderSearches)
        .where(searchesOf(userId))
        .orderBy(desc(orderSearches.id))
        .limit(EXPORT_LIMIT);
      return {
        orders: await exportOrders(userId),
        bids: bidRows.map((b) => ({ ...bidView(b), is_deleted: b.isDeleted })),
        assignments: assignments.map((a) => ({
          id: a.id,
          order_id: a.orderId,
          bid_id: a.bidId,
          role: a.providerUserId === userId ? ('provider' as const) : ('client' as const),
          start_date: a.startDate,
          progress_notes: a.progressNotes,
          completion_notes: a.completionNotes,
          completion_photo_file_ids: a.completionPhotoFileIds,
          client_rating: a.clientRating,
          created_at: a.createdAt.toISOString(),
          updated_at: a.updatedAt.toISOString(),
        })),
        reviews_written: reviews.filter((r) => r.authorUserId === userId).map(orderReviewView),
        reviews_received: reviews.filter((r) => r.subjectUserId === userId).map(orderReviewView),
        disputes: disputes.map(disputeView),
        searches: searches.map((s) => ({
          query: s.query,
          filters: s.filters,
          result_count: s.resultCount,
          created_at: s.createdAt.toISOString(),
        })),
      };
    },

    async erase({ userId }, erasure) {
      // The address and location leave all the person's orders but agreed work not finished, which refuses
      // the erasure (account-settlement.ts): finished and deleted ones, and the open ones, which the
      // erasure's event cancels a moment later and whose address no one but staff sees before agreement.
      await db
        .update(orders)
        .set({ addressEncrypted: null, locationEncrypted: null })
        .where(
          and(
            ordersOf(userId),
            or(notInArray(orders.status, [...WORK_IN_PROGRESS]), eq(orders.isDeleted, true)),
            or(isNotNull(orders.addressEncrypted), isNotNull(orders.locationEncrypted)),
          ),
        );
      await db.update(orderSearches).set({ userId: null }).where(searchesOf(userId));
      // What refers to the person's uploads, which the platform erases after every module.
      const photos = await db.delete(orderPhotos).where(photosOf(userId)).returning({ id: orderPhotos.id });
      erasure.forget(photos.map((p) => p.id));
      await db
        .update(orderAssignments)
        .set({ completionPhotoFileIds: [] })
        .where(eq(orderAssignments.providerUserId, userId));
      await db
        .update(orderDisputes)
        .set({ evidenceFileIds: [] })
        .where(eq(orderDisputes.openedByUserId, userId));
    },
  });
}
