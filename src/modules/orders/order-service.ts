import { and, asc, eq, inArray, isNull, lt, ne, type SQL, sql } from 'drizzle-orm';
import { type Actor, type Role, systemActor } from '../../platform/actor.ts';
import { type AuditEntry, diffFields, writeAudit } from '../../platform/audit/service.ts';
import type { FieldCipher } from '../../platform/crypto.ts';
import type { Db } from '../../platform/db.ts';
import { ConflictError, ForbiddenError, NotFoundError, RuleViolationError } from '../../platform/errors.ts';
import { PLATFORM_TIME_ZONE } from '../../platform/jobs.ts';
import type { CaseRules } from '../../platform/own-case.ts';
import { type IdPage, idPages, type PageResult } from '../../platform/pagination.ts';
import type { SearchVocabulary } from '../../platform/search/service.ts';
import { parentDeleted, type SoftDeletes } from '../../platform/soft-delete.ts';
import type { FileService } from '../../platform/storage/service.ts';
import type { CatalogService } from '../core/service.ts';
import type { ProfileService } from '../users/profile-service.ts';
import { type SealedContactCard, sealedContactCard } from '../users/queries.ts';
import {
  type AssignmentRow,
  canSee,
  loadAssignment,
  loadOrder,
  type OrderRole,
  orderPartyIds,
  roleOf,
} from './access.ts';
import type { OrderEvents } from './events.ts';
import { AGREED, ALLOWED_FROM, assertState, changeOrderStatus, OPEN, type OrderRow } from './lifecycle.ts';
import type {
  AdminOrdersFilter,
  CancelOrderInput,
  CompleteOrderInput,
  CreateOrderInput,
  LocationValue,
  MyOrdersFilter,
  NoteInput,
  OrderHistoryFilter,
  OrderHistoryView,
  OrderSummaryView,
  OrderView,
  UpdateOrderInput,
} from './order-contract.ts';
import {
  bids,
  OPEN_ORDER_WORDS,
  ORDER_SEARCH_SCOPE,
  orderAddons,
  orderAssignments,
  orderPhotos,
  orderSearchText,
  orderStatusHistory,
  orders,
} from './schema.ts';
import type { Settling } from './settling.ts';

type SubcategoryTerms = NonNullable<Awaited<ReturnType<CatalogService['subcategoryTerms']>>>;

/** Staff who may take any order down and bring it back, and who see the parties' contact details. */
const ORDER_MODERATORS: readonly Role[] = ['admin', 'moderator'];
const isOrderModerator = (actor: Actor) => actor.roles.some((r) => ORDER_MODERATORS.includes(r));
/** How far ahead a service date may be. */
const MAX_DAYS_AHEAD = 365;
const DAY_MS = 86_400_000;
const AUTO_CONFIRM_BATCH = 200;
/** The defaults of the `max_drafts_per_client` and `max_open_orders_per_client` settings. */
const DEFAULT_MAX_DRAFTS = 20;
const DEFAULT_MAX_OPEN_ORDERS = 20;

const myOrderPages = idPages('orders.mine', orders.id);
const adminOrderPages = idPages('orders.admin', orders.id);
const historyPages = idPages('orders.history', orderStatusHistory.id);

/** Today's date (YYYY-MM-DD) where the platform lives: a "past" service date is one before this. */
export function platformToday(now = new Date()) {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: PLATFORM_TIME_ZONE,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(now);
}

const addDays = (date: string, days: number) =>
  new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);

const notYourOrder = () => new ForbiddenError('not_your_order', 'only the client of this order may do this');
const notAssignedProvider = () =>
  new ForbiddenError('not_assigned_provider', 'only the provider assigned to this order may do this');

const iso = (d: Date | null) => d?.toISOString() ?? null;

/** The service date must be today or later (Asia/Bishkek) and within a year. */
function checkServiceDate(date: string | null | undefined) {
  if (!date) return;
  const today = platformToday();
  if (date < today) {
    throw new RuleViolationError('service_date_in_past', `the service date must be ${today} or later`, [
      { in: 'body', field: 'service_date', message: 'is in the past' },
    ]);
  }
  if (date > addDays(today, MAX_DAYS_AHEAD)) {
    throw new RuleViolationError(
      'service_date_too_far',
      `the service date must be within ${MAX_DAYS_AHEAD} days`,
      [{ in: 'body', field: 'service_date', message: `is more than ${MAX_DAYS_AHEAD} days ahead` }],
    );
  }
}

function checkTimeRange(from: string | null, to: string | null) {
  if (from && to && from >= to) {
    throw new RuleViolationError('invalid_time_range', 'the time window must end after it starts', [
      { in: 'body', field: 'time_to', message: 'must be after time_from' },
    ]);
  }
}

/** Each end of the budget within the category's price range, and the lower end not above the upper. */
function checkBudget(terms: SubcategoryTerms, min: number | null, max: number | null) {
  const errors = (
    [
      ['budget_min', min],
      ['budget_max', max],
    ] as const
  )
    .filter(([, value]) => value !== null && (value < terms.minPrice || value > terms.maxPrice))
    .map(([field]) => ({ in: 'body', field, message: `must be ${terms.minPrice} to ${terms.maxPrice}` }));
  if (errors.length > 0) {
    throw new RuleViolationError(
      'budget_out_of_range',
      `the budget must be between ${terms.minPrice} and ${terms.maxPrice} tyiyn in this category`,
      errors,
    );
  }
  if (min !== null && max !== null && min > max) {
    throw new RuleViolationError('invalid_budget_range', 'budget_min must not be above budget_max', [
      { in: 'body', field: 'budget_min', message: 'is above budget_max' },
    ]);
  }
}

export const historyEntryView = (h: typeof orderStatusHistory.$inferSelect) => ({
  id: h.id,
  from_status: h.fromStatus,
  to_status: h.toStatus,
  actor_id: h.actorId,
  reason: h.reason,
  created_at: h.createdAt.toISOString(),
});

export type OrderService = ReturnType<typeof createOrderService>;

export function createOrderService({
  db,
  cipher,
  catalog,
  files,
  profiles,
  events,
  vocabulary,
  cases,
  softDeletes,
  settling,
}: {
  db: Db;
  cipher: FieldCipher;
  catalog: CatalogService;
  files: FileService;
  profiles: ProfileService;
  events: OrderEvents;
  vocabulary: SearchVocabulary;
  cases: Pick<CaseRules, 'assertNotOwnCase'>;
  softDeletes: SoftDeletes;
  settling: Settling;
}) {
  const encryptLocation = (value: LocationValue | null) =>
    value === null ? null : cipher.encrypt(JSON.stringify(value));

  async function offeredTerms(subcategoryId: string, field = 'subcategory_id') {
    const terms = await catalog.subcategoryTerms(subcategoryId);
    if (!terms) {
      throw new RuleViolationError(
        'subcategory_not_found',
        'the subcategory does not exist or is not offered',
        [{ in: 'body', field, message: 'is not an offered subcategory' }],
      );
    }
    return terms;
  }

  async function checkServiceArea(id: string) {
    if ((await catalog.existingServiceAreaIds([id])).length === 0) {
      throw new RuleViolationError('service_area_not_found', 'unknown service area', [
        { in: 'body', field: 'service_area_id', message: 'is not a service area' },
      ]);
    }
  }

  const limitSetting = async (key: string, fallback: number) => {
    const value = await catalog.getSettingValue<number>(key, fallback);
    return Number.isInteger(value) && value >= 0 ? value : fallback;
  };

  /** The settings' limits on one client's drafts and open orders, read before the transaction. */
  async function clientLimits() {
    return {
      drafts: await limitSetting('max_drafts_per_client', DEFAULT_MAX_DRAFTS),
      open: await limitSetting('max_open_orders_per_client', DEFAULT_MAX_OPEN_ORDERS),
    };
  }

  /**
   * Refuses one more draft or open order than the client may have. The lock (one per client, to the end
   * of the transaction) makes two requests at once count one after the other.
   */
  async function checkClientLimit(
    tx: Db,
    clientUserId: string,
    limits: Awaited<ReturnType<typeof clientLimits>>,
    adding: 'draft' | 'open',
  ) {
    await tx.execute(
      sql`select pg_advisory_xact_lock(hashtextextended(${`kg-job-portal:client-orders:${clientUserId}`}, 0))`,
    );
    const statuses = adding === 'draft' ? (['draft'] as const) : OPEN;
    const [row] = await tx
      .select({ count: sql<number>`count(*)::int` })
      .from(orders)
      .where(
        and(
          eq(orders.clientUserId, clientUserId),
          inArray(orders.status, [...statuses]),
          eq(orders.isDeleted, false),
        ),
      );
    const count = row?.count ?? 0;
    if (adding === 'draft' && count >= limits.drafts) {
      throw new ConflictError(
        'draft_limit_reached',
        `you have ${count} drafts, as many as a client may keep (${limits.drafts}); publish or delete one first`,
      );
    }
    if (adding === 'open' && count >= limits.open) {
      throw new ConflictError(
        'open_order_limit_reached',
        `you have ${count} orders open for bids, as many as a client may have (${limits.open}); accept a bid on one or cancel one first`,
      );
    }
  }

  const { dropOrderWords } = settling;

  /**
   * An order, locked for the rest of the transaction, and how the caller stands to it. Who may not even
   * see it gets "not found".
   */
  async function openOrder(tx: Db, actor: Actor, id: string) {
    const order = await loadOrder(tx, id, { forUpdate: true });
    const assignment = await loadAssignment(tx, id);
    const role = roleOf(actor, order, assignment);
    if (!canSee(role, order)) throw new NotFoundError('order');
    return { order, assignment, role };
  }

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

  const liveAddons = (tx: Db, orderId: string) =>
    tx
      .select()
      .from(orderAddons)
      .where(and(eq(orderAddons.orderId, orderId), eq(orderAddons.isDeleted, false)))
      .orderBy(asc(orderAddons.id));

  const livePhotos = (tx: Db, orderId: string) =>
    tx
      .select()
      .from(orderPhotos)
      .where(and(eq(orderPhotos.orderId, orderId), eq(orderPhotos.isDeleted, false)))
      .orderBy(asc(orderPhotos.sortOrder), asc(orderPhotos.id));

  /**
   * The order's live add-ons and photos in the order view's shape, built by PostgreSQL within the read of
   * the order: one round trip for the whole view. Used in selects from `orders` (Drizzle writes a column
   * inside `sql` without its table, which a subquery would take for its own column).
   */
  const addonsJson = sql<OrderView['addons']>`(
    select coalesce(json_agg(json_build_object('id', a.id, 'addon_id', a.addon_id, 'quantity', a.quantity,
             'unit_price', a.unit_price, 'price_type', a.price_type) order by a.id), '[]'::json)
    from ${orderAddons} a where a.order_id = orders.id and not a.is_deleted)`;
  const photosJson = sql<OrderView['photos']>`(
    select coalesce(json_agg(json_build_object('id', p.id, 'file_id', p.file_id, 'caption', p.caption,
             'is_primary', p.is_primary, 'sort_order', p.sort_order) order by p.sort_order, p.id), '[]'::json)
    from ${orderPhotos} p where p.order_id = orders.id and not p.is_deleted)`;

  /** Whether the parties of the order in the row may reach each other (see `orderView`), in SQL. */
  const agreedSql = sql`(order_assignments.id is not null and orders.status in ${AGREED})`;

  /**
   * The order detail, the most read route, in one prepared statement: Drizzle builds its SQL once and
   * PostgreSQL parses and plans it once per connection. The parties' contact cards come along, still
   * encrypted, when the order is agreed; the view opens only the one the caller may see.
   */
  const orderDetail = db
    .select({
      order: orders,
      assignment: orderAssignments,
      addons: addonsJson,
      photos: photosJson,
      clientContact: sql<SealedContactCard | null>`case when ${agreedSql} then ${sealedContactCard(sql`orders.client_user_id`)} end`,
      providerContact: sql<SealedContactCard | null>`case when ${agreedSql} then ${sealedContactCard(sql`order_assignments.provider_user_id`)} end`,
    })
    .from(orders)
    .leftJoin(orderAssignments, eq(orderAssignments.orderId, orders.id))
    .where(and(eq(orders.id, sql.placeholder('id')), eq(orders.isDeleted, false)))
    .prepare('order_detail');

  /**
   * Makes the order's add-ons the `wanted` list: new ones at today's catalog price, changed quantities
   * updated (their price stays as agreed), the rest soft-deleted on their own (an order restore leaves them out).
   */
  async function syncAddons(
    tx: Db,
    actor: Actor,
    order: OrderRow,
    wanted: { addon_id: string; quantity: number }[] | undefined,
    audit: AuditEntry[],
  ) {
    if (wanted === undefined) return;
    const seen = new Set<string>();
    const duplicates = wanted.flatMap((a, i) => {
      if (!seen.has(a.addon_id)) {
        seen.add(a.addon_id);
        return [];
      }
      return [{ in: 'body', field: `addons.${i}.addon_id`, message: 'is listed twice' }];
    });
    if (duplicates.length > 0) {
      throw new RuleViolationError('duplicate_addon', 'each add-on may be listed once', duplicates);
    }
    const current = await liveAddons(tx, order.id);
    const byAddon = new Map(current.map((a) => [a.addonId, a]));
    const offered = new Map((await catalog.addonsOf(order.subcategoryId)).map((a) => [a.id, a]));
    const unknown = wanted.flatMap((a, i) =>
      byAddon.has(a.addon_id) || offered.has(a.addon_id)
        ? []
        : [{ in: 'body', field: `addons.${i}.addon_id`, message: 'is not an add-on of this subcategory' }],
    );
    if (unknown.length > 0) {
      throw new RuleViolationError(
        'addon_not_found',
        'some add-ons are not offered in this subcategory',
        unknown,
      );
    }

    const removed = current.filter((a) => !seen.has(a.addonId)).map((a) => a.id);
    if (removed.length > 0) await softDeletes.softDelete(tx, actor, orderAddons, removed);
    for (const item of wanted) {
      const existing = byAddon.get(item.addon_id);
      if (existing) {
        if (existing.quantity === item.quantity) continue;
        const [after] = await tx
          .update(orderAddons)
          .set({ quantity: item.quantity })
          .where(eq(orderAddons.id, existing.id))
          .returning();
        audit.push({
          action: 'update',
          entity: 'order_addons',
          entityId: existing.id,
          before: existing,
          after,
        });
        continue;
      }
      const addon = offered.get(item.addon_id)!;
      const [created] = await tx
        .insert(orderAddons)
        .values({
          orderId: order.id,
          addonId: addon.id,
          quantity: item.quantity,
          unitPrice: addon.price,
          priceType: addon.priceType,
        })
        .returning();
      audit.push({ action: 'create', entity: 'order_addons', entityId: created!.id, after: created });
    }
  }

  /**
   * Makes the order's photos the `fileIds` list (the caller's `order_photo` uploads, in display order) with
   * one primary: the one named, else the one that was, else the first.
   */
  async function syncPhotos(
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
      const [after] = await tx
        .update(orderPhotos)
        .set({ sortOrder, isPrimary })
        .where(eq(orderPhotos.id, row.id))
        .returning();
      audit.push({ action: 'update', entity: 'order_photos', entityId: row.id, before: row, after });
    }
    for (const [sortOrder, fileId] of wanted.entries()) {
      if (byFile.has(fileId)) continue;
      const [created] = await tx
        .insert(orderPhotos)
        .values({ orderId, fileId, sortOrder, isPrimary: fileId === primary })
        .returning();
      audit.push({ action: 'create', entity: 'order_photos', entityId: created!.id, after: created });
    }
  }

  /**
   * The order as `role` may see it: the address, the location and the assignment only for its parties and
   * staff; contact details only while the work is agreed.
   */
  async function orderView(
    tx: Db,
    actor: Actor,
    order: OrderRow,
    role: OrderRole,
    assignment: AssignmentRow | undefined,
    parts?: Pick<OrderView, 'addons' | 'photos'> & {
      contacts?: { client: SealedContactCard | null; provider: SealedContactCard | null };
    },
  ): Promise<OrderView> {
    const [loaded] = parts
      ? [parts]
      : await tx
          .select({ addons: addonsJson, photos: photosJson })
          .from(orders)
          .where(eq(orders.id, order.id));
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
  }

  async function primaryPhotos(orderIds: string[], deleted: boolean) {
    if (orderIds.length === 0) return new Map<string, string>();
    const rows = await db
      .select({ orderId: orderPhotos.orderId, fileId: orderPhotos.fileId })
      .from(orderPhotos)
      .where(
        and(
          inArray(orderPhotos.orderId, orderIds),
          eq(orderPhotos.isPrimary, true),
          eq(orderPhotos.isDeleted, deleted),
        ),
      );
    return new Map(rows.map((r) => [r.orderId, r.fileId]));
  }

  async function summaries(
    page: IdPage,
    rows: OrderRow[],
    deleted = false,
  ): Promise<PageResult<OrderSummaryView>> {
    const { data, next_cursor } = page.page(
      rows,
      (r) => r.id,
      (r) => r,
    );
    const photos = await primaryPhotos(
      data.map((r) => r.id),
      deleted,
    );
    return {
      next_cursor,
      data: data.map((o) => ({
        id: o.id,
        status: o.status,
        client_user_id: o.clientUserId,
        subcategory_id: o.subcategoryId,
        category_id: o.categoryId,
        title: o.title,
        service_area_id: o.serviceAreaId,
        service_date: o.serviceDate,
        urgency: o.urgency,
        budget_min: o.budgetMin,
        budget_max: o.budgetMax,
        currency: o.currency,
        final_price: o.finalPrice,
        bid_count: o.bidCount,
        primary_photo_file_id: photos.get(o.id) ?? null,
        is_deleted: o.isDeleted,
        published_at: iso(o.publishedAt),
        created_at: o.createdAt.toISOString(),
        updated_at: o.updatedAt.toISOString(),
      })),
    };
  }

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
    async createOrder(actor: Actor, input: CreateOrderInput): Promise<OrderView> {
      const userId = actor.userId;
      if (!userId) throw new NotFoundError('user');
      // Catalog reads go before the transaction: on the embedded database they would wait for it.
      const terms = await offeredTerms(input.subcategory_id);
      await checkServiceArea(input.service_area_id);
      checkServiceDate(input.service_date);
      checkTimeRange(input.time_from ?? null, input.time_to ?? null);
      checkBudget(terms, input.budget_min ?? null, input.budget_max ?? null);
      const limits = await clientLimits();

      return db.transaction(async (tx) => {
        await checkClientLimit(tx, userId, limits, input.publish ? 'open' : 'draft');
        const client = await profiles.ensureClientProfile(tx, actor);
        const [order] = await tx
          .insert(orders)
          .values({
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
          })
          .returning();
        const created = order!;
        // A draft is its client's alone: its words join the vocabulary when it is published.
        if (input.publish) await vocabulary.addWords(tx, ORDER_SEARCH_SCOPE, orderSearchText(created));
        const audit: AuditEntry[] = [
          { action: 'create', entity: 'orders', entityId: created.id, after: created },
        ];
        await syncAddons(tx, actor, created, input.addons ?? [], audit);
        await syncPhotos(tx, actor, created.id, input.photo_file_ids ?? [], input.primary_photo_id, audit);
        await tx
          .insert(orderStatusHistory)
          .values({ orderId: created.id, fromStatus: null, toStatus: 'draft', actorId: userId });
        await writeAudit(tx, actor, audit);
        await profiles.adjustClientCounters(userId, { total: 1 });
        const current = input.publish
          ? await changeOrderStatus(tx, actor, events, created, 'published', {
              from: ALLOWED_FROM.publish,
              set: { publishedAt: new Date() },
            })
          : created;
        return orderView(tx, actor, current, 'client', undefined);
      });
    },

    async getOrder(actor: Actor, id: string): Promise<OrderView> {
      const [row] = await orderDetail.execute({ id });
      if (!row) throw new NotFoundError('order');
      const { order, addons, photos, clientContact, providerContact } = row;
      const assignment = row.assignment ?? undefined;
      const role = roleOf(actor, order, assignment);
      if (!canSee(role, order)) throw new NotFoundError('order');
      return orderView(db, actor, order, role, assignment, {
        addons,
        photos,
        contacts: { client: clientContact, provider: providerContact },
      });
    },

    async updateOrder(actor: Actor, id: string, input: UpdateOrderInput): Promise<OrderView> {
      const seen = await clientsOrder(actor, id);
      const budgetChanges = input.budget_min !== undefined || input.budget_max !== undefined;
      const terms = budgetChanges ? await offeredTerms(seen.subcategoryId, 'budget_min') : undefined;
      if (input.service_area_id) await checkServiceArea(input.service_area_id);
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
        const [after] = await tx
          .update(orders)
          .set({
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
          })
          .where(eq(orders.id, order.id))
          .returning();
        // A draft's text stays out of the vocabulary; a published one's replaces its old words.
        if (OPEN.includes(after!.status) && orderSearchText(after!) !== orderSearchText(order)) {
          await vocabulary.addWords(tx, ORDER_SEARCH_SCOPE, orderSearchText(after!));
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
        return orderView(tx, actor, after!, role, assignment);
      });
    },

    async publishOrder(actor: Actor, id: string, input: NoteInput): Promise<OrderView> {
      const seen = await clientsOrder(actor, id);
      const terms = await catalog.subcategoryTerms(seen.subcategoryId);
      const limits = await clientLimits();
      return db.transaction(async (tx) => {
        const { order, assignment, role } = await openOrder(tx, actor, id);
        if (role !== 'client') throw notYourOrder();
        assertState(order, ALLOWED_FROM.publish);
        await checkClientLimit(tx, order.clientUserId, limits, 'open');
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
        return orderView(tx, actor, after, role, assignment);
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
        return orderView(tx, actor, after, role, assignment);
      });
    },

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
        return orderView(tx, actor, after, role, assignment);
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
        const [after] = await tx
          .update(orders)
          .set({ workDoneAt: new Date() })
          .where(and(eq(orders.id, order.id), eq(orders.status, 'in_progress'), isNull(orders.workDoneAt)))
          .returning();
        const audit: AuditEntry[] = [
          { action: 'update', entity: 'orders', entityId: order.id, before: order, after },
        ];
        let current = assignment;
        if (input?.completion_notes !== undefined || photoIds !== undefined) {
          const [changed] = await tx
            .update(orderAssignments)
            .set({ completionNotes: input?.completion_notes, completionPhotoFileIds: photoIds })
            .where(eq(orderAssignments.id, assignment.id))
            .returning();
          audit.push({
            action: 'update',
            entity: 'order_assignments',
            entityId: assignment.id,
            before: assignment,
            after: changed,
          });
          current = changed!;
        }
        await writeAudit(tx, actor, audit);
        await events.emit({
          type: 'order_work_done',
          order_id: order.id,
          recipient_user_ids: [order.clientUserId],
        });
        return orderView(tx, actor, after!, role, current);
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
        return orderView(tx, actor, after, role, assignment);
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
        const due = await db
          .select({ id: orders.id })
          .from(orders)
          .where(
            and(eq(orders.status, 'in_progress'), lt(orders.workDoneAt, cutoff), eq(orders.isDeleted, false)),
          )
          .orderBy(asc(orders.workDoneAt))
          .limit(AUTO_CONFIRM_BATCH);
        for (const { id } of due) {
          const done = await db.transaction(async (tx) => {
            const [order] = await tx
              .select()
              .from(orders)
              .where(and(eq(orders.id, id), eq(orders.isDeleted, false)))
              .for('update');
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

    async listOrderHistory(actor: Actor, id: string, filter: OrderHistoryFilter): Promise<OrderHistoryView> {
      const order = await loadOrder(db, id);
      const assignment = await loadAssignment(db, id);
      const role = roleOf(actor, order, assignment);
      if (!canSee(role, order)) throw new NotFoundError('order');
      if (role === 'other') throw notYourOrder();
      const page = historyPages(filter, 'oldest');
      const rows = await db
        .select()
        .from(orderStatusHistory)
        .where(and(eq(orderStatusHistory.orderId, id), page.where))
        .orderBy(page.orderBy)
        .limit(page.limit);
      return page.page(rows, (h) => h.id, historyEntryView);
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
          const [accepted] = await tx
            .select({ id: bids.id })
            .from(bids)
            .where(and(eq(bids.orderId, id), eq(bids.status, 'accepted'), eq(bids.isDeleted, false)))
            .limit(1);
          if (accepted) {
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

    async listMyOrders(actor: Actor, filter: MyOrdersFilter): Promise<PageResult<OrderSummaryView>> {
      const page = myOrderPages(filter);
      const conditions: (SQL | undefined)[] = [
        eq(orders.clientUserId, actor.userId ?? ''),
        eq(orders.isDeleted, false),
        filter.status?.length ? inArray(orders.status, filter.status) : undefined,
        page.where,
      ];
      const rows = await db
        .select()
        .from(orders)
        .where(and(...conditions))
        .orderBy(page.orderBy)
        .limit(page.limit);
      return summaries(page, rows);
    },

    async adminListOrders(filter: AdminOrdersFilter): Promise<PageResult<OrderSummaryView>> {
      const page = adminOrderPages(filter);
      const conditions: (SQL | undefined)[] = [
        eq(orders.isDeleted, filter.deleted),
        // A draft is its client's alone (access.ts canSee).
        ne(orders.status, 'draft'),
        filter.client_id ? eq(orders.clientUserId, filter.client_id) : undefined,
        filter.status?.length ? inArray(orders.status, filter.status) : undefined,
        page.where,
      ];
      const rows = await db
        .select()
        .from(orders)
        .where(and(...conditions))
        .orderBy(page.orderBy)
        .limit(page.limit);
      return summaries(page, rows, filter.deleted);
    },

    /** A photo of an order the caller may see: its client, its provider, staff, or anyone while it is open. */
    async openOrderPhoto(actor: Actor, orderId: string, photoId: string) {
      const order = await loadOrder(db, orderId);
      const assignment = await loadAssignment(db, orderId);
      if (!canSee(roleOf(actor, order, assignment), order)) throw new NotFoundError('order');
      const [photo] = await db
        .select({ fileId: orderPhotos.fileId })
        .from(orderPhotos)
        .where(
          and(
            eq(orderPhotos.id, photoId),
            eq(orderPhotos.orderId, orderId),
            eq(orderPhotos.isDeleted, false),
          ),
        );
      if (!photo) throw new NotFoundError('photo');
      return files.openPublic(photo.fileId, 'order_photo');
    },
  };
}
