/**
 * Two requests on one order at the same moment, several rounds each. On PGlite the two run one after the
 * other (one connection); on PostgreSQL they interleave, and either may take the order's lock first. Each
 * test names every outcome the code allows and checks the rows each leaves: the order, its bids, its
 * assignment, its status history, its queued events and the parties' counters.
 */
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helper.ts';
import { autoConfirmOrdersJob } from './jobs.ts';
import { type Client, orderFixtures, type Provider } from './order-fixtures.ts';
import { bids, orderAssignments, orderDisputes, orders } from './schema.ts';

const DAY_MS = 86_400_000;

let t: TestApp;
const { call, user, client, provider, orderIn, orderRow, historyOf, eventsOf } = orderFixtures(() => t);

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const bidsOf = (orderId: string) =>
  t.db.select().from(bids).where(eq(bids.orderId, orderId)).orderBy(asc(bids.id));

const assignmentsOf = (orderId: string) =>
  t.db.select().from(orderAssignments).where(eq(orderAssignments.orderId, orderId));

const disputesOf = (orderId: string) =>
  t.db.select().from(orderDisputes).where(eq(orderDisputes.orderId, orderId));

/** The order's moves, oldest first, as `from>to`. */
const movesOf = async (orderId: string) => (await historyOf(orderId)).map((h) => `${h.from}>${h.to}`);

/**
 * The order's queued events counted by kind (a status change by the status it went to). Counted rather
 * than listed: two transactions that start together may queue their events in either order.
 */
async function eventTally(orderId: string) {
  const tally: Record<string, number> = {};
  for (const e of await eventsOf(orderId)) {
    const key = e.type === 'order_status_changed' ? `${e.type}:${e.to_status}` : e.type;
    tally[key] = (tally[key] ?? 0) + 1;
  }
  return tally;
}

/** The events queued since `before` was counted. */
async function eventsSince(orderId: string, before: Record<string, number>) {
  const now = await eventTally(orderId);
  const added: Record<string, number> = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(now)])) {
    const change = (now[key] ?? 0) - (before[key] ?? 0);
    if (change !== 0) added[key] = change;
  }
  return added;
}

async function counters(c: Client, p?: Provider) {
  const mine = (await call('GET', '/api/v1/me/client-profile', c.auth)).body;
  const theirs = p ? (await call('GET', '/api/v1/me/provider-profile', p.auth)).body : undefined;
  return {
    total: mine.orders_total as number,
    completed: mine.orders_completed as number,
    cancelled: mine.orders_cancelled as number,
    providerCompleted: theirs?.orders_completed as number | undefined,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Both requests in flight together, the second started `lagMs` after the first (a negative lag starts the
 * first later). A round's lag decides which tends to reach the order's lock first: at 0 to a few ms the two
 * overlap and PostgreSQL picks, while a lag longer than a request makes one land clearly first, so each
 * allowed outcome is checked on every run, PGlite (which runs one transaction at a time) included.
 */
async function atOnce<A, B>(a: () => Promise<A>, b: () => Promise<B>, lagMs: number): Promise<[A, B]> {
  const after = async <T>(ms: number, f: () => Promise<T>) => {
    if (ms > 0) await sleep(ms);
    return f();
  };
  return Promise.all([after(-lagMs, a), after(lagMs, b)]);
}

/** Longer than any one request takes here: the request started first lands first. */
const CLEARLY = 30;

const runAutoConfirm = () =>
  autoConfirmOrdersJob(t.app.services.orders).handle({}, { log: t.app.log, jobId: 'test', retryCount: 0 });

describe('an order acted on twice at once', () => {
  it('the client cancels while accepting: the accept lands and the cancel follows, or the accept is 409', async () => {
    for (let round = 0; round < 5; round++) {
      const c = await client(`Торопливый клиент ${round}`);
      const p = await provider(`Мастер на отмене ${round}`);
      const orderId = await orderIn(c, 'bidding', p);
      const [bid] = await bidsOf(orderId);
      const eventsBefore = await eventTally(orderId);
      const countersBefore = await counters(c);

      // The cancel starts 0, 3 and -3 ms after the accept (overlapping), then clearly after, clearly before.
      const [accept, cancel] = await atOnce(
        () => call('POST', `/api/v1/bids/${bid!.id}/accept`, c.auth, { amount: bid!.amount }),
        () => call('POST', `/api/v1/orders/${orderId}/cancel`, c.auth, { reason: 'Передумал, сделаю сам' }),
        [0, 3, -3, CLEARLY, -CLEARLY][round]!,
      );

      // The client may cancel from bidding and from assigned (DOMAIN.md), so the cancel lands whichever
      // request takes the order's lock first.
      expect(cancel.status, JSON.stringify(cancel.body)).toBe(200);
      expect(cancel.body.status).toBe('cancelled');
      const order = await orderRow(orderId);
      expect(order.status).toBe('cancelled');
      expect(order.cancelledAt).not.toBeNull();
      const rows = await bidsOf(orderId);
      expect(rows).toHaveLength(1);
      const assignments = await assignmentsOf(orderId);
      const moves = await movesOf(orderId);
      const added = await eventsSince(orderId, eventsBefore);

      if (accept.status === 201) {
        expect(accept.body.bid).toMatchObject({ id: bid!.id, status: 'accepted' });
        // Assigned, then cancelled: the history says both, and the assignment stays as a record.
        expect(moves).toEqual([
          'null>draft',
          'draft>published',
          'published>bidding',
          'bidding>assigned',
          'assigned>cancelled',
        ]);
        expect(rows[0]).toMatchObject({ status: 'accepted', isDeleted: false });
        expect(assignments).toHaveLength(1);
        expect(assignments[0]?.bidId).toBe(bid!.id);
        expect(order.finalPrice).toBe(bid!.amount);
        expect(order.assignedAt).not.toBeNull();
        expect(added).toEqual({
          bid_accepted: 1,
          order_assigned: 1,
          'order_status_changed:assigned': 1,
          'order_status_changed:cancelled': 1,
        });
        // The provider the work was agreed with hears of the cancel.
        const cancelled = (await eventsOf(orderId)).find((e) => e.to_status === 'cancelled');
        expect(cancelled?.recipient_user_ids).toEqual([p.user.id]);
      } else {
        expect([accept.status, accept.body.code]).toEqual([409, 'order_is_cancelled']);
        expect(moves).toEqual(['null>draft', 'draft>published', 'published>bidding', 'bidding>cancelled']);
        // The bid waiting for an answer got one; nothing was agreed.
        expect(rows[0]).toMatchObject({ status: 'rejected', rejectReason: 'order_cancelled' });
        expect(assignments).toEqual([]);
        expect(order.finalPrice).toBeNull();
        expect(order.assignedAt).toBeNull();
        expect(added).toEqual({ bid_rejected: 1, 'order_status_changed:cancelled': 1 });
      }
      // Never an assignment the history does not show, and the cancel counted once either way.
      expect(moves.includes('bidding>assigned')).toBe(assignments.length === 1);
      expect(await counters(c)).toEqual({ ...countersBefore, cancelled: countersBefore.cancelled + 1 });
    }
  });

  it('the client deletes the order while a provider bids: the bid goes with the order, or it is 404', async () => {
    for (let round = 0; round < 5; round++) {
      const c = await client(`Удаляющий клиент ${round}`);
      // Odd rounds: another provider bid earlier, so the order is bidding and that bid goes with it too.
      const early = round % 2 === 1 ? await provider(`Ранний мастер ${round}`) : undefined;
      const orderId = await orderIn(c, early ? 'bidding' : 'published', early);
      const late = await provider(`Поздний мастер ${round}`);
      const earlier = (await bidsOf(orderId)).map((b) => b.id);
      const movesBefore = await movesOf(orderId);
      const eventsBefore = await eventTally(orderId);

      // The bid starts with the delete, 3 ms before it, then clearly before it.
      const [deleted, bid] = await atOnce(
        () => call('DELETE', `/api/v1/orders/${orderId}`, c.auth),
        () => call('POST', `/api/v1/orders/${orderId}/bids`, late.auth, { amount: 450_000 }),
        [0, 0, -3, -CLEARLY, -CLEARLY][round]!,
      );

      // Deleting is allowed from published and from bidding, with or without the new bid.
      expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
      const deletionId = deleted.body.deletion_id as string;
      const order = await orderRow(orderId);
      expect(order).toMatchObject({ isDeleted: true, deletionId });
      const rows = await bidsOf(orderId);
      // Never a live bid on a deleted order: each went with it, under its deletion id, still pending.
      for (const row of rows) {
        expect(row).toMatchObject({ isDeleted: true, deletionId, status: 'pending' });
      }

      if (bid.status === 201) {
        expect(rows.map((r) => r.id)).toEqual([...earlier, bid.body.id]);
        expect(deleted.body.counts).toEqual({ orders: 1, bids: rows.length });
        expect(order).toMatchObject({ status: 'bidding', bidCount: rows.length });
        expect(await movesOf(orderId)).toEqual(early ? movesBefore : [...movesBefore, 'published>bidding']);
        expect(await eventsSince(orderId, eventsBefore)).toEqual(
          early ? { bid_received: 1 } : { bid_received: 1, 'order_status_changed:bidding': 1 },
        );
      } else {
        // The bid statement finds no live order once the delete has committed.
        expect([bid.status, bid.body.code]).toEqual([404, 'order_not_found']);
        expect(rows.map((r) => r.id)).toEqual(earlier);
        expect(deleted.body.counts).toEqual(early ? { orders: 1, bids: 1 } : { orders: 1 });
        expect(order).toMatchObject({ status: early ? 'bidding' : 'published', bidCount: earlier.length });
        expect(await movesOf(orderId)).toEqual(movesBefore);
        expect(await eventsSince(orderId, eventsBefore)).toEqual({});
      }
      expect(await assignmentsOf(orderId)).toEqual([]);
      // The late provider has no bid to show for it.
      const mine = await call('GET', '/api/v1/me/bids', late.auth);
      expect(mine.status).toBe(200);
      expect(mine.body.data).toEqual([]);
    }
  });

  it('the client confirms while the auto-confirm job runs: one completion, counted once', async () => {
    for (let round = 0; round < 5; round++) {
      const c = await client(`Клиент с подтверждением ${round}`);
      const p = await provider(`Мастер с подтверждением ${round}`);
      const orderId = await orderIn(c, 'work_done', p);
      // The routes mark the work done now; the job confirms only work marked done longer ago than
      // `order_auto_confirm_days` (3 by default), and no route dates it back: four days ago, in the table.
      await t.db
        .update(orders)
        .set({ workDoneAt: new Date(Date.now() - 4 * DAY_MS) })
        .where(eq(orders.id, orderId));
      const eventsBefore = await eventTally(orderId);
      const countersBefore = await counters(c, p);

      // The job starts with the confirm, 3 and 6 ms before it, then clearly before it.
      const [confirm] = await atOnce(
        () => call('POST', `/api/v1/orders/${orderId}/confirm`, c.auth),
        runAutoConfirm,
        [0, 0, -3, -6, -CLEARLY][round]!,
      );

      const order = await orderRow(orderId);
      expect(order.status).toBe('completed');
      expect(order.completedAt).not.toBeNull();
      const completions = (await historyOf(orderId)).filter((h) => h.to === 'completed');
      expect(completions).toHaveLength(1);
      expect(completions[0]?.from).toBe('in_progress');
      if (confirm.status === 200) {
        expect(confirm.body.status).toBe('completed');
        expect(completions[0]).toMatchObject({ actor: c.user.id, reason: null });
      } else {
        expect([confirm.status, confirm.body.code]).toEqual([409, 'order_is_completed']);
        expect(completions[0]).toMatchObject({
          actor: null,
          reason: 'confirmed automatically after 3 days',
        });
      }
      expect(await movesOf(orderId)).toEqual([
        'null>draft',
        'draft>published',
        'published>bidding',
        'bidding>assigned',
        'assigned>in_progress',
        'in_progress>completed',
      ]);
      expect(await eventsSince(orderId, eventsBefore)).toEqual({ order_completed: 1 });
      expect(await counters(c, p)).toEqual({
        ...countersBefore,
        completed: countersBefore.completed + 1,
        providerCompleted: countersBefore.providerCompleted! + 1,
      });
      // A later run finds nothing left to confirm.
      expect(await t.app.services.orders.autoConfirmOrders()).toBe(0);
    }
  });

  it('a dispute opened while the client confirms: it follows the completion, or the confirm is 409', async () => {
    for (let round = 0; round < 5; round++) {
      const c = await client(`Клиент в споре ${round}`);
      const p = await provider(`Мастер в споре ${round}`);
      const orderId = await orderIn(c, 'work_done', p);
      // Even rounds the provider disputes (say, over payment), odd rounds the client from another device.
      const opener = round % 2 === 0 ? p : c;
      const movesBefore = await movesOf(orderId);
      const eventsBefore = await eventTally(orderId);
      const countersBefore = await counters(c, p);

      // The confirm starts with the dispute, 4 ms after it, then clearly after it.
      const [dispute, confirm] = await atOnce(
        () =>
          call('POST', `/api/v1/orders/${orderId}/disputes`, opener.auth, {
            dispute_type: 'payment_dispute',
            description: 'Договорились о другой сумме, чем указано в заказе',
          }),
        () => call('POST', `/api/v1/orders/${orderId}/confirm`, c.auth),
        [0, 0, 4, CLEARLY, CLEARLY][round]!,
      );

      // A completed order can be disputed within the window (7 days by default): the dispute always lands.
      expect(dispute.status, JSON.stringify(dispute.body)).toBe(201);
      const order = await orderRow(orderId);
      expect(order.status).toBe('disputed');
      const disputes = await disputesOf(orderId);
      expect(disputes).toHaveLength(1);
      expect(disputes[0]).toMatchObject({
        id: dispute.body.id,
        status: 'open',
        openedByUserId: opener.user.id,
      });
      const other = opener === p ? c.user.id : p.user.id;
      const opened = (await eventsOf(orderId)).filter((e) => e.type === 'dispute_opened');
      expect(opened).toEqual([
        expect.objectContaining({ dispute_id: dispute.body.id, recipient_user_ids: [other] }),
      ]);

      if (confirm.status === 200) {
        expect(confirm.body.status).toBe('completed');
        expect(disputes[0]?.orderStatusBefore).toBe('completed');
        expect(order.completedAt).not.toBeNull();
        expect(await movesOf(orderId)).toEqual([
          ...movesBefore,
          'in_progress>completed',
          'completed>disputed',
        ]);
        expect(await eventsSince(orderId, eventsBefore)).toEqual({
          order_completed: 1,
          'order_status_changed:disputed': 1,
          dispute_opened: 1,
        });
        // Completed once; the open dispute does not take it back until staff rule on it.
        expect(await counters(c, p)).toEqual({
          ...countersBefore,
          completed: countersBefore.completed + 1,
          providerCompleted: countersBefore.providerCompleted! + 1,
        });
      } else {
        expect([confirm.status, confirm.body.code]).toEqual([409, 'order_is_disputed']);
        expect(disputes[0]?.orderStatusBefore).toBe('in_progress');
        expect(order.completedAt).toBeNull();
        expect(await movesOf(orderId)).toEqual([...movesBefore, 'in_progress>disputed']);
        expect(await eventsSince(orderId, eventsBefore)).toEqual({
          'order_status_changed:disputed': 1,
          dispute_opened: 1,
        });
        expect(await counters(c, p)).toEqual(countersBefore);
      }
    }
  });

  it('staff block the provider while the client accepts their bid: the accept lands and the block follows, or the accept is 409', async () => {
    for (let round = 0; round < 5; round++) {
      const c = await client(`Клиент блока ${round}`);
      const p = await provider(`Мастер под блоком ${round}`);
      const orderId = await orderIn(c, 'bidding', p);
      const [bid] = await bidsOf(orderId);
      const moderator = await user(['moderator']);
      const eventsBefore = await eventTally(orderId);

      const [accept, block] = await atOnce(
        () => call('POST', `/api/v1/bids/${bid!.id}/accept`, c.auth, { amount: bid!.amount }),
        () => call('POST', `/api/v1/admin/users/${p.user.id}/block`, moderator.auth),
        [0, 3, -3, CLEARLY, -CLEARLY][round]!,
      );

      expect(block.status, JSON.stringify(block.body)).toBe(200);
      const order = await orderRow(orderId);
      const rows = await bidsOf(orderId);
      const assignments = await assignmentsOf(orderId);
      const added = await eventsSince(orderId, eventsBefore);
      if (accept.status === 201) {
        expect(order).toMatchObject({ status: 'assigned', finalPrice: bid!.amount });
        expect(rows).toMatchObject([{ status: 'accepted' }]);
        expect(assignments).toHaveLength(1);
        expect(added).toEqual({ bid_accepted: 1, order_assigned: 1, 'order_status_changed:assigned': 1 });
      } else {
        expect([accept.status, accept.body.code]).toEqual([409, 'provider_unavailable']);
        expect(order).toMatchObject({ status: 'bidding', finalPrice: null, assignedAt: null });
        expect(rows).toMatchObject([{ status: 'pending', decidedAt: null }]);
        expect(assignments).toEqual([]);
        expect(added).toEqual({});
      }
      expect(await movesOf(orderId)).toEqual(
        accept.status === 201
          ? ['null>draft', 'draft>published', 'published>bidding', 'bidding>assigned']
          : ['null>draft', 'draft>published', 'published>bidding'],
      );
    }
  });
});
