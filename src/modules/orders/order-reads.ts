import type { Actor } from '../../platform/actor.ts';
import { NotFoundError } from '../../platform/errors.ts';
import { idPages, type PageResult } from '../../platform/pagination.ts';
import { canSee, loadAssignment, loadOrder, roleOf } from './access.ts';
import type {
  AdminOrdersFilter,
  MyOrdersFilter,
  OrderHistoryFilter,
  OrderHistoryView,
  OrderLineView,
  OrderView,
} from './order-contract.ts';
import {
  clientOrders,
  historyEntries,
  photoFileId,
  prepareOrderDetail,
  staffOrders,
} from './order-queries.ts';
import { notYourOrder } from './order-rules.ts';
import type { OrderServiceDeps } from './order-service.ts';
import { historyEntryView, type OrderViews } from './order-views.ts';
import { orderStatusHistory, orders } from './schema.ts';

const myOrderPages = idPages('orders.mine', orders.id);
const adminOrderPages = idPages('orders.admin', orders.id);
const historyPages = idPages('orders.history', orderStatusHistory.id);

/** An order, its history and its photos for those who may see them, and the lists of orders. */
export function createOrderReads({
  db,
  files,
  views,
}: Pick<OrderServiceDeps, 'db' | 'files'> & { views: OrderViews }) {
  const orderDetail = prepareOrderDetail(db);

  return {
    async getOrder(actor: Actor, id: string): Promise<OrderView> {
      const [row] = await orderDetail.execute({ id });
      if (!row) throw new NotFoundError('order');
      const { order, addons, photos, clientContact, providerContact } = row;
      const assignment = row.assignment ?? undefined;
      const role = roleOf(actor, order, assignment);
      if (!canSee(role, order)) throw new NotFoundError('order');
      return views.orderView(db, actor, order, role, assignment, {
        addons,
        photos,
        contacts: { client: clientContact, provider: providerContact },
      });
    },

    async listOrderHistory(actor: Actor, id: string, filter: OrderHistoryFilter): Promise<OrderHistoryView> {
      const order = await loadOrder(db, id);
      const assignment = await loadAssignment(db, id);
      const role = roleOf(actor, order, assignment);
      if (!canSee(role, order)) throw new NotFoundError('order');
      if (role === 'other') throw notYourOrder();
      const page = historyPages(filter, 'oldest');
      const rows = await historyEntries(db, id, page);
      return page.page(rows, (h) => h.id, historyEntryView);
    },

    async listMyOrders(actor: Actor, filter: MyOrdersFilter): Promise<PageResult<OrderLineView>> {
      const page = myOrderPages(filter);
      const rows = await clientOrders(db, actor.userId ?? '', filter.status, page);
      return views.summaries(page, rows);
    },

    async adminListOrders(filter: AdminOrdersFilter): Promise<PageResult<OrderLineView>> {
      const page = adminOrderPages(filter);
      const rows = await staffOrders(db, filter, page);
      return views.summaries(page, rows, filter.deleted);
    },

    /** A photo of an order the caller may see: its client, its provider, staff, or anyone while it is open. */
    async openOrderPhoto(actor: Actor, orderId: string, photoId: string) {
      const order = await loadOrder(db, orderId);
      const assignment = await loadAssignment(db, orderId);
      if (!canSee(roleOf(actor, order, assignment), order)) throw new NotFoundError('order');
      const fileId = await photoFileId(db, orderId, photoId);
      if (!fileId) throw new NotFoundError('photo');
      return files.openPublic(fileId, 'order_photo');
    },
  };
}
