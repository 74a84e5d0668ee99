import type { Actor, Role } from '../../platform/actor.ts';
import type { Db } from '../../platform/db.ts';
import { ConflictError, ForbiddenError, RuleViolationError } from '../../platform/errors.ts';
import { PLATFORM_TIME_ZONE } from '../../platform/jobs.ts';
import { checkPriceRange } from '../core/price-range.ts';
import type { CatalogService } from '../core/service.ts';
import { OPEN } from './lifecycle.ts';
import { countClientOrders, lockClientOrders } from './order-queries.ts';
import type { OrderServiceDeps } from './order-service.ts';

export type SubcategoryTerms = NonNullable<Awaited<ReturnType<CatalogService['subcategoryTerms']>>>;

/** Staff who may take any order down and bring it back, and who see the parties' contact details. */
const ORDER_MODERATORS: readonly Role[] = ['admin', 'moderator'];
export const isOrderModerator = (actor: Actor) => actor.roles.some((r) => ORDER_MODERATORS.includes(r));
/** How far ahead a service date may be. */
const MAX_DAYS_AHEAD = 365;
export const DAY_MS = 86_400_000;
/** The defaults of the `max_drafts_per_client` and `max_open_orders_per_client` settings. */
const DEFAULT_MAX_DRAFTS = 20;
const DEFAULT_MAX_OPEN_ORDERS = 20;

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

export const notYourOrder = () =>
  new ForbiddenError('not_your_order', 'only the client of this order may do this');
export const notAssignedProvider = () =>
  new ForbiddenError('not_assigned_provider', 'only the provider assigned to this order may do this');

/** The service date must be today or later (Asia/Bishkek) and within a year. */
export function checkServiceDate(date: string | null | undefined) {
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

export function checkTimeRange(from: string | null, to: string | null) {
  if (from && to && from >= to) {
    throw new RuleViolationError('invalid_time_range', 'the time window must end after it starts', [
      { in: 'body', field: 'time_to', message: 'must be after time_from' },
    ]);
  }
}

/** Each end of the budget within the category's price range, and the lower end not above the upper. */
export function checkBudget(terms: SubcategoryTerms, min: number | null, max: number | null) {
  checkPriceRange(
    terms,
    { budget_min: min, budget_max: max },
    { code: 'budget_out_of_range', what: 'budget' },
  );
  if (min !== null && max !== null && min > max) {
    throw new RuleViolationError('invalid_budget_range', 'budget_min must not be above budget_max', [
      { in: 'body', field: 'budget_min', message: 'is above budget_max' },
    ]);
  }
}

export type OrderRules = ReturnType<typeof createOrderRules>;

/** The rules an order is held to that depend on the catalog and its settings. */
export function createOrderRules({ catalog }: Pick<OrderServiceDeps, 'catalog'>) {
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

  return {
    async offeredTerms(subcategoryId: string, field = 'subcategory_id') {
      const terms = await catalog.subcategoryTerms(subcategoryId);
      if (!terms) {
        throw new RuleViolationError(
          'subcategory_not_found',
          'the subcategory does not exist or is not offered',
          [{ in: 'body', field, message: 'is not an offered subcategory' }],
        );
      }
      return terms;
    },

    clientLimits,

    /**
     * Refuses one more draft or open order than the client may have. The lock (one per client, to the end
     * of the transaction) makes two requests at once count one after the other.
     */
    async checkClientLimit(
      tx: Db,
      clientUserId: string,
      limits: Awaited<ReturnType<typeof clientLimits>>,
      adding: 'draft' | 'open',
    ) {
      await lockClientOrders(tx, clientUserId);
      const count = await countClientOrders(tx, clientUserId, adding === 'draft' ? ['draft'] : OPEN);
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
    },
  };
}
