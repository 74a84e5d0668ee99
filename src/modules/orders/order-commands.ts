import type { Actor } from '../../platform/actor.ts';
import { type AuditEntry, diffFields, writeAudit } from '../../platform/audit/service.ts';
import { ConflictError, NotFoundError, RuleViolationError } from '../../platform/errors.ts';
import { parentDeleted } from '../../platform/soft-delete.ts';
import { canSee, loadAssignment, loadOrder, openOrder, orderPartyIds, roleOf } from './access.ts';
import { ALLOWED_FROM, assertState, changeOrderStatus, OPEN } from './lifecycle.ts';
import type { AddonSync } from './order-addons.ts';
import type {
  CancelOrderInput,
  CreateOrderInput,
  LocationValue,
  NoteInput,
  OrderView,
  UpdateOrderInput,
} from './order-contract.ts';
import type { PhotoSync } from './order-photos.ts';
import { hasAcceptedBid, insertOrder, recordOrderCreated, updateOrderRow } from './order-queries.ts';
import {
  checkBudget,
  checkServiceDate,
  checkTimeRange,
  isOrderModerator,
  notYourOrder,
  type OrderRules,
} from './order-rules.ts';
import type { OrderServiceDeps } from './order-service.ts';
import type { OrderViews } from './order-views.ts';
import { OPEN_ORDER_WORDS, ORDER_SEARCH_SCOPE, orderSearchText, orders } from './schema.ts';

/**
 * What a client does with their order until a provider takes it (create, edit, publish, cancel, take
 * down), and what staff do to take one down and bring it back.
 */
export function createOrderCommands({
  db,
  cipher,
  catalog,
  profiles,
  events,
  vocabulary,
  cases,
  softDeletes,
  settling,
  rules,
  views,
  syncAddons,
  syncPhotos,
}: Omit<OrderServiceDeps, 'files'> & {
  rules: OrderRules;
  views: OrderViews;
  syncAddons: AddonSync;
  syncPhotos: PhotoSync;
}) {
  const encryptLocation = (value: LocationValue | null) =>
    value === null ? null : cipher.encrypt(JSON.stringify(value));

  const { dropOrderWords } = settling;

  /**
   * Before a transaction that needs catalog reads: the order as it is now, if the caller is its client.
   * The transaction checks again under the lock.
   */
  async function clientsOrder(actor: Actor, id: string) {
    const order = await loadOrder(db, id);
    const role = roleOf(actor, order, await loadAssignment(db, id));
    if (!canSee(role, order)) throw new NotFoundError('order');
    if (role !== 'client') throw notYourOrder();
    return order;
  }

  return {
    async createOrder(actor: Actor, input: CreateOrderInput): Promise<OrderView> {
      const userId = actor.userId;
      if (!userId) throw new NotFoundError('user');
      // Catalog reads go before the transaction: on the embedded database they would wait for it.
      const terms = await rules.offeredTerms(input.subcategory_id);
      await catalog.checkServiceAreas({ service_area_id: input.service_area_id });
      checkServiceDate(input.service_date);
      checkTimeRange(input.time_from ?? null, input.time_to ?? null);
      checkBudget(terms, input.budget_min ?? null, input.budget_max ?? null);
      const limits = await rules.clientLimits();

      return db.transaction(async (tx) => {
        await rules.checkClientLimit(tx, userId, limits, input.publish ? 'open' : 'draft');
        const client = await profiles.ensureClientProfile(tx, actor);
        const created = await insertOrder(tx, {
          clientProfileId: client.id,
          clientUserId: userId,
          subcategoryId: terms.id,
          categoryId: terms.categoryId,
          title: input.title,
          description: input.description,
          serviceAreaId: input.service_area_id,
          addressEncrypted: cipher.encrypt(input.address),
          locationEncrypted: encryptLocation(input.location ?? null),
          serviceDate: input.service_date ?? null,
          timeFrom: input.time_from ?? null,
          timeTo: input.time_to ?? null,
          urgency: input.urgency ?? 'medium',
          budgetMin: input.budget_min ?? null,
          budgetMax: input.budget_max ?? null,
        });
        // A draft is its client's alone: its words join the vocabulary when it is published.
        if (input.publish) await vocabulary.addWords(tx, ORDER_SEARCH_SCOPE, orderSearchText(created));
        const audit: AuditEntry[] = [
          { action: 'create', entity: 'orders', entityId: created.id, after: created },
        ];
        await syncAddons(tx, actor, created, input.addons ?? [], audit);
        await syncPhotos(tx, actor, created.id, input.photo_file_ids ?? [], input.primary_photo_id, audit);
        await recordOrderCreated(tx, created.id, userId);
        await writeAudit(tx, actor, audit);
        await profiles.adjustClientCounters(userId, { total: 1 });
        const current = input.publish
          ? await changeOrderStatus(tx, actor, events, created, 'published', {
              from: ALLOWED_FROM.publish,
              set: { publishedAt: new Date() },
            })
          : created;
        return views.orderView(tx, actor, current, 'client', undefined);
      });
    },

    async updateOrder(actor: Actor, id: string, input: UpdateOrderInput): Promise<OrderView> {
      const seen = await clientsOrder(actor, id);
      const budgetChanges = input.budget_min !== undefined || input.budget_max !== undefined;
      const terms = budgetChanges ? await rules.offeredTerms(seen.subcategoryId, 'budget_min') : undefined;
      await catalog.checkServiceAreas({ service_area_id: input.service_area_id });
      checkServiceDate(input.service_date);

      return db.transaction(async (tx) => {
        const { order, assignment, role } = await openOrder(tx, actor, id);
        if (role !== 'client') throw notYourOrder();
        assertState(order, ALLOWED_FROM.edit);
        if (input.time_from !== undefined || input.time_to !== undefined) {
          checkTimeRange(
            input.time_from === undefined ? order.timeFrom : input.time_from,
            input.time_to === undefined ? order.timeTo : input.time_to,
          );
        }
        if (terms) {
          checkBudget(
            terms,
            input.budget_min === undefined ? order.budgetMin : input.budget_min,
            input.budget_max === undefined ? order.budgetMax : input.budget_max,
          );
        }
        const after = await updateOrderRow(tx, order.id, {
          title: input.title,
          description: input.description,
          serviceAreaId: input.service_area_id,
          addressEncrypted: input.address === undefined ? undefined : cipher.encrypt(input.address),
          locationEncrypted: input.location === undefined ? undefined : encryptLocation(input.location),
          serviceDate: input.service_date,
          timeFrom: input.time_from,
          timeTo: input.time_to,
          urgency: input.urgency,
          budgetMin: input.budget_min,
          budgetMax: input.budget_max,
          updatedAt: new Date(),
        });
        // A draft's text stays out of the vocabulary; a published one's replaces its old words.
        if (OPEN.includes(after.status) && orderSearchText(after) !== orderSearchText(order)) {
          await vocabulary.addWords(tx, ORDER_SEARCH_SCOPE, orderSearchText(after));
          await dropOrderWords(tx, order);
        }
        // Only add-ons or photos changed: the order row itself has nothing to record.
        const audit: AuditEntry[] =
          Object.keys(diffFields(order, after)).length > 0
            ? [{ action: 'update', entity: 'orders', entityId: order.id, before: order, after }]
            : [];
        await syncAddons(tx, actor, order, input.addons, audit);
        await syncPhotos(tx, actor, order.id, input.photo_file_ids, input.primary_photo_id, audit);
        await writeAudit(tx, actor, audit);
        return views.orderView(tx, actor, after, role, assignment);
      });
    },

    async publishOrder(actor: Actor, id: string, input: NoteInput): Promise<OrderView> {
      const seen = await clientsOrder(actor, id);
      const terms = await catalog.subcategoryTerms(seen.subcategoryId);
      const limits = await rules.clientLimits();
      return db.transaction(async (tx) => {
        const { order, assignment, role } = await openOrder(tx, actor, id);
        if (role !== 'client') throw notYourOrder();
        assertState(order, ALLOWED_FROM.publish);
        await rules.checkClientLimit(tx, order.clientUserId, limits, 'open');
        if (!terms) {
          throw new RuleViolationError(
            'subcategory_not_offered',
            'the order’s subcategory is no longer offered; cancel it and create another',
          );
        }
        checkServiceDate(order.serviceDate);
        const after = await changeOrderStatus(tx, actor, events, order, 'published', {
          from: ALLOWED_FROM.publish,
          reason: input?.note ?? null,
          set: { publishedAt: new Date() },
        });
        await vocabulary.addWords(tx, ORDER_SEARCH_SCOPE, orderSearchText(after));
        return views.orderView(tx, actor, after, role, assignment);
      });
    },

    async cancelOrder(actor: Actor, id: string, input: CancelOrderInput): Promise<OrderView> {
      return db.transaction(async (tx) => {
        const { order, assignment, role } = await openOrder(tx, actor, id);
        const allowed =
          role === 'client'
            ? ALLOWED_FROM.cancelByClient
            : role === 'assigned_provider'
              ? ALLOWED_FROM.cancelByProvider
              : undefined;
        if (!allowed) throw notYourOrder();
        assertState(order, allowed);
        const after = await settling.cancelOrder(tx, actor, order, {
          from: allowed,
          reason: input.reason,
          providerUserId: assignment?.providerUserId,
        });
        return views.orderView(tx, actor, after, role, assignment);
      });
    },

    /**
     * The client takes down an order nobody is working on yet; admins and moderators take any down, drafts
     * too (taking one down shows them nothing of it), but a disputed one, whose dispute could then never be
     * settled, and one they are a party to (a moderator's own order is theirs to delete as its client). The
     * order's bids, add-ons and photos go with it, under one deletion id.
     */
    async deleteOrder(actor: Actor, id: string) {
      return db.transaction(async (tx) => {
        const order = await loadOrder(tx, id, { forUpdate: true });
        const role = roleOf(actor, order, await loadAssignment(tx, id));
        if (isOrderModerator(actor) && role !== 'client') {
          await cases.assertNotOwnCase(tx, actor, await orderPartyIds(tx, order), 'party');
          if (order.status === 'disputed') {
            throw new ConflictError(
              'order_is_disputed',
              'the order has an open dispute; resolve or close it first',
            );
          }
        } else {
          if (!canSee(role, order)) throw new NotFoundError('order');
          if (role !== 'client') throw notYourOrder();
          assertState(order, ALLOWED_FROM.deleteByClient);
          if (await hasAcceptedBid(tx, id)) {
            throw new ConflictError(
              'order_has_accepted_bid',
              'a bid on this order is accepted; cancel it instead',
            );
          }
        }
        const deleted = await softDeletes.softDelete(tx, actor, orders, [id]);
        await dropOrderWords(tx, order);
        return deleted;
      });
    },

    /** Staff: brings back a deleted order and exactly what its deletion took; not one they are a party to. */
    async restoreOrder(actor: Actor, id: string) {
      return db.transaction(async (tx) => {
        const order = await loadOrder(tx, id, { includeDeleted: true });
        await cases.assertNotOwnCase(tx, actor, await orderPartyIds(tx, order), 'party');
        // The subcategory is the catalog's: the platform's restore knows only the cascades within orders.
        const subcategory = await catalog.subcategoryDeletions([order.subcategoryId]);
        if (order.isDeleted && subcategory.get(order.subcategoryId))
          throw parentDeleted('service_subcategories');
        const restored = await softDeletes.restore(tx, actor, orders, id, 'order');
        if (OPEN.includes(order.status))
          await vocabulary.addWords(tx, ORDER_SEARCH_SCOPE, orderSearchText(order));
        return restored;
      });
    },

    /**
     * For the hourly job: drops the orders' words that no open order holds any more, those of the orders
     * that left the open set without their client taking them down (accepted, deleted with their
     * category, cancelled by the platform). The number dropped.
     */
    async pruneVocabulary() {
      return db.transaction((tx) => vocabulary.pruneWords(tx, ORDER_SEARCH_SCOPE, OPEN_ORDER_WORDS));
    },
  };
}
