import type { Actor } from '../../platform/actor.ts';
import type { AuditEntry } from '../../platform/audit/service.ts';
import type { Db } from '../../platform/db.ts';
import { RuleViolationError } from '../../platform/errors.ts';
import type { OrderRow } from './lifecycle.ts';
import { insertAddon, liveAddons, setAddonQuantity } from './order-queries.ts';
import type { OrderServiceDeps } from './order-service.ts';
import { orderAddons } from './schema.ts';

export type AddonSync = ReturnType<typeof createAddonSync>;

export function createAddonSync({ catalog, softDeletes }: Pick<OrderServiceDeps, 'catalog' | 'softDeletes'>) {
  /**
   * Makes the order's add-ons the `wanted` list: new ones at today's catalog price, changed quantities
   * updated (their price stays as agreed), the rest soft-deleted on their own (an order restore leaves them out).
   */
  return async function syncAddons(
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
        const after = await setAddonQuantity(tx, existing.id, item.quantity);
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
      const created = await insertAddon(tx, {
        orderId: order.id,
        addonId: addon.id,
        quantity: item.quantity,
        unitPrice: addon.price,
        priceType: addon.priceType,
      });
      audit.push({ action: 'create', entity: 'order_addons', entityId: created.id, after: created });
    }
  };
}
