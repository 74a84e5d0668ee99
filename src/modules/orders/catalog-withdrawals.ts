import type { Actor } from '../../platform/actor.ts';
import type { Db } from '../../platform/db.ts';
import { subscribe } from '../../platform/events.ts';
import type { SearchVocabulary } from '../../platform/search/service.ts';
import type { SoftDeletes } from '../../platform/soft-delete.ts';
import { CATALOG_EVENTS, type CatalogEvent } from '../core/events.ts';
import type { CatalogService } from '../core/service.ts';
import {
  biddersHeldBy,
  lockOrdersIn,
  lockSubcategoryOrders,
  ordersDeletedBy,
} from './catalog-withdrawal-queries.ts';
import type { OrderEvents, OrderEventType } from './events.ts';
import { OPEN } from './lifecycle.ts';
import { ORDER_SEARCH_SCOPE, type OrderStatus, orderSearchText, orders } from './schema.ts';

/** What a subcategory taken off the catalog takes with it: orders still looking for a provider. */
const WITHDRAWN_WITH_SUBCATEGORY: OrderStatus[] = ['draft', 'published', 'bidding'];

/** Subcategories the catalog deleted, or brought back, under the deletion `deletionId`. */
export interface CatalogDeletion {
  actor: Actor;
  deletionId: string;
  subcategoryIds: string[];
}

export type CatalogWithdrawals = ReturnType<typeof createCatalogWithdrawals>;

/**
 * The orders module's side of a catalog delete: the orders in a subcategory are this module's rows, so
 * the catalog says what it deleted or restored and this module takes its orders down or brings them back,
 * under the catalog's deletion id (one restore of the category brings back exactly what its delete took,
 * here and there), and tells the client and the providers who bid. Each step reads what the catalog holds
 * now rather than trusting the order it hears things in, under a lock per subcategory, so a delete and a
 * restore handled in either order, or at once, leave the orders as the catalog is.
 */
export function createCatalogWithdrawals({
  db,
  softDeletes,
  catalog,
  vocabulary,
  events,
}: {
  db: Db;
  softDeletes: SoftDeletes;
  catalog: Pick<CatalogService, 'subcategoryDeletions'>;
  vocabulary: SearchVocabulary;
  events: OrderEvents;
}) {
  /** One change of a subcategory's orders at a time; in id order, so two never wait on each other. */
  async function lockSubcategories(ids: string[]) {
    if (ids.length === 0) return;
    await lockSubcategoryOrders(db, ids);
  }

  /**
   * The event for each order, to its client and the providers whose bids its deletion `deletionId` holds:
   * read while the bids still hold it.
   */
  async function toTell(
    type: OrderEventType,
    deletionId: string,
    taken: { id: string; clientUserId: string }[],
  ) {
    if (taken.length === 0) return [];
    const bidders = await biddersHeldBy(
      db,
      taken.map((o) => o.id),
      deletionId,
    );
    return taken.map((order) => ({
      type,
      order_id: order.id,
      recipient_user_ids: [
        order.clientUserId,
        ...bidders.filter((b) => b.orderId === order.id).map((b) => b.userId),
      ],
    }));
  }

  const tell = (told: Awaited<ReturnType<typeof toTell>>) => events.emit(...told);

  /**
   * Takes down, with their bids, add-ons and photos, the orders still looking for a provider in each of
   * these subcategories that the catalog holds deleted, under the deletion that holds it.
   */
  async function withdrawOrdersOf(actor: Actor, subcategoryIds: string[]) {
    const byDeletion = new Map<string, string[]>();
    for (const [id, deletionId] of await catalog.subcategoryDeletions(subcategoryIds)) {
      if (deletionId) byDeletion.set(deletionId, [...(byDeletion.get(deletionId) ?? []), id]);
    }
    for (const [deletionId, ids] of byDeletion) {
      const taken = await lockOrdersIn(db, ids, WITHDRAWN_WITH_SUBCATEGORY);
      await softDeletes.softDelete(
        db,
        actor,
        orders,
        taken.map((o) => o.id),
        { deletionId },
      );
      await tell(await toTell('order_withdrawn_by_catalog', deletionId, taken));
    }
  }

  return {
    /** The catalog deleted these subcategories (a category's delete, or a subcategory's own). */
    async subcategoriesDeleted({ actor, subcategoryIds }: CatalogDeletion) {
      await lockSubcategories(subcategoryIds);
      await withdrawOrdersOf(actor, subcategoryIds);
    },

    /**
     * The catalog brought these subcategories back: their orders come back with what their deletion took,
     * and open ones are found by their words again. One deleted again since goes with that deletion.
     */
    async subcategoriesRestored({ actor, deletionId, subcategoryIds }: CatalogDeletion) {
      await lockSubcategories(subcategoryIds);
      const back = await ordersDeletedBy(db, deletionId);
      const told = await toTell('order_restored_by_catalog', deletionId, back);
      await softDeletes.restoreDeletion(db, actor, orders, deletionId);
      for (const order of back) {
        if (OPEN.includes(order.status))
          await vocabulary.addWords(db, ORDER_SEARCH_SCOPE, orderSearchText(order));
      }
      await tell(told);
      await withdrawOrdersOf(actor, subcategoryIds);
    },
  };
}

/**
 * The orders module's subscription to the catalog's events, wired in app.ts: each delete and restore of a
 * category or subcategory, handled in a job of its own (the catalog's request never waits on the orders),
 * in whatever order the jobs run.
 */
export const catalogSubscription = (withdrawals: CatalogWithdrawals) =>
  subscribe<CatalogEvent>({
    module: 'orders',
    types: CATALOG_EVENTS,
    async handle(event) {
      const deletion = {
        // Staff who deleted or restored: the audit trail names them for what follows.
        actor: { userId: event.actor_id, sessionId: null, roles: [], requestId: event.request_id },
        deletionId: event.deletion_id,
        subcategoryIds: event.subcategory_ids,
      };
      if (event.type === 'category_deleted' || event.type === 'subcategory_deleted') {
        await withdrawals.subcategoriesDeleted(deletion);
      } else {
        await withdrawals.subcategoriesRestored(deletion);
      }
    },
  });
