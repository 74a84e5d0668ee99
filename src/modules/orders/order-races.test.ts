/**
 * Two requests on one order at the same moment. On PGlite the two run one after the other (one
 * connection); on PostgreSQL they interleave, and either may take the order's lock first. Each order of the
 * two is forced (`raceInOrder`: started together, then staggered until the one started first lands first)
 * and its whole outcome checked: the order, its bids, its assignment, its status history, its queued
 * events and the parties' counters.
 */
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helper.ts';
import { type Client, orderFixtures, type Provider } from '../../../test/order-fixtures.ts';
import { raceInOrder } from '../../../test/races.ts';
import { autoConfirmOrdersJob } from './jobs.ts';
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

const runAutoConfirm = () =>
  autoConfirmOrdersJob(t.app.services.orders).handle({}, { log: t.app.log, jobId: 'test', retryCount: 0 });

describe('an order acted on twice at once', () => {
  it.each([
    ['accept', 'the accept lands, and the cancel cancels the agreed work'],
    ['cancel', 'the cancel lands and rejects the bid, and the accept is 409 order_is_cancelled'],
  ] as const)('the client cancels while accepting, the %s first: %s', async (first, _outcome) => {
    const race = await raceInOrder({
      async setup(attempt) {
        const c = await client(`Торопливый клиент ${first} ${attempt}`);
        const p = await provider(`Мастер на отмене ${first} ${attempt}`);
        const orderId = await orderIn(c, 'bidding', p);
        const [bid] = await bidsOf(orderId);
        return {
          c,
          p,
          orderId,
          bid: bid!,
          eventsBefore: await eventTally(orderId),
          countersBefore: await counters(c),
        };
      },
      a: (s) => call('POST', `/api/v1/bids/${s.bid.id}/accept`, s.c.auth, { amount: s.bid.amount }),
      b: (s) =>
        call('POST', `/api/v1/orders/${s.orderId}/cancel`, s.c.auth, { reason: 'Передумал, сделаю сам' }),
      first: first === 'accept' ? 'a' : 'b',
      landed: (accept) => (accept.status === 201) === (first === 'accept'),
    });
    const { c, p, orderId, bid, eventsBefore, countersBefore } = race.state;
    const { a: accept, b: cancel } = race;

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

    if (first === 'accept') {
      expect(accept.status, JSON.stringify(accept.body)).toBe(201);
      expect(accept.body.bid).toMatchObject({ id: bid.id, status: 'accepted' });
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
      expect(assignments[0]?.bidId).toBe(bid.id);
      expect(order.finalPrice).toBe(bid.amount);
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
    // The cancel counted once either way.
    expect(await counters(c)).toEqual({ ...countersBefore, cancelled: countersBefore.cancelled + 1 });
  });

  it.each([
    ['bid', 'published', 'the bid goes with the order'],
    ['bid', 'bidding', 'the bid goes with the order'],
    ['delete', 'published', 'the bid is 404 order_not_found'],
    ['delete', 'bidding', 'the bid is 404 order_not_found'],
  ] as const)(
    'the client deletes the order while a provider bids, the %s first on a %s order: %s',
    async (first, status, _outcome) => {
      const race = await raceInOrder({
        async setup(attempt) {
          const c = await client(`Удаляющий клиент ${first} ${status} ${attempt}`);
          // A bidding order: another provider bid earlier, and that bid goes with it too.
          const early =
            status === 'bidding' ? await provider(`Ранний мастер ${first} ${attempt}`) : undefined;
          const orderId = await orderIn(c, status, early);
          const late = await provider(`Поздний мастер ${first} ${status} ${attempt}`);
          return {
            c,
            orderId,
            late,
            earlier: (await bidsOf(orderId)).map((b) => b.id),
            movesBefore: await movesOf(orderId),
            eventsBefore: await eventTally(orderId),
          };
        },
        a: (s) => call('DELETE', `/api/v1/orders/${s.orderId}`, s.c.auth),
        b: (s) => call('POST', `/api/v1/orders/${s.orderId}/bids`, s.late.auth, { amount: 450_000 }),
        first: first === 'delete' ? 'a' : 'b',
        landed: (_, bid) => (bid.status === 201) === (first === 'bid'),
      });
      const { orderId, late, earlier, movesBefore, eventsBefore } = race.state;
      const { a: deleted, b: bid } = race;
      const early = status === 'bidding';

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

      if (first === 'bid') {
        expect(bid.status, JSON.stringify(bid.body)).toBe(201);
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
        expect(order).toMatchObject({ status, bidCount: earlier.length });
        expect(await movesOf(orderId)).toEqual(movesBefore);
        expect(await eventsSince(orderId, eventsBefore)).toEqual({});
      }
      expect(await assignmentsOf(orderId)).toEqual([]);
      // The late provider has no live bid to show for it.
      const mine = await call('GET', '/api/v1/me/bids', late.auth);
      expect(mine.status).toBe(200);
      expect(mine.body.data).toEqual([]);
    },
  );

  it.each([
    ['confirm', 'the client’s completion, and the job finds nothing'],
    ['job', 'the job’s completion, and the confirm is 409 order_is_completed'],
  ] as const)(
    'the client confirms while the auto-confirm job runs, the %s first: %s, counted once',
    async (first, _outcome) => {
      const race = await raceInOrder({
        async setup(attempt) {
          const c = await client(`Клиент с подтверждением ${first} ${attempt}`);
          const p = await provider(`Мастер с подтверждением ${first} ${attempt}`);
          const orderId = await orderIn(c, 'work_done', p);
          // The routes mark the work done now; the job confirms only work marked done longer ago than
          // `order_auto_confirm_days` (3 by default), and no route dates it back: four days ago, in the table.
          await t.db
            .update(orders)
            .set({ workDoneAt: new Date(Date.now() - 4 * DAY_MS) })
            .where(eq(orders.id, orderId));
          return {
            c,
            p,
            orderId,
            eventsBefore: await eventTally(orderId),
            countersBefore: await counters(c, p),
          };
        },
        a: (s) => call('POST', `/api/v1/orders/${s.orderId}/confirm`, s.c.auth),
        b: () => runAutoConfirm(),
        first: first === 'confirm' ? 'a' : 'b',
        landed: (confirm) => (confirm.status === 200) === (first === 'confirm'),
      });
      const { c, p, orderId, eventsBefore, countersBefore } = race.state;
      const confirm = race.a;

      const order = await orderRow(orderId);
      expect(order.status).toBe('completed');
      expect(order.completedAt).not.toBeNull();
      const completions = (await historyOf(orderId)).filter((h) => h.to === 'completed');
      expect(completions).toHaveLength(1);
      expect(completions[0]?.from).toBe('in_progress');
      if (first === 'confirm') {
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
    },
  );

  // The provider disputes (say, over payment), or the client from another device.
  it.each([
    ['confirm', 'provider', 'it follows the completion'],
    ['confirm', 'client', 'it follows the completion'],
    ['dispute', 'provider', 'the confirm is 409 order_is_disputed'],
    ['dispute', 'client', 'the confirm is 409 order_is_disputed'],
  ] as const)(
    'a dispute opened while the client confirms, the %s first, by the %s: %s',
    async (first, by, _outcome) => {
      const race = await raceInOrder({
        async setup(attempt) {
          const c = await client(`Клиент в споре ${first} ${by} ${attempt}`);
          const p = await provider(`Мастер в споре ${first} ${by} ${attempt}`);
          const orderId = await orderIn(c, 'work_done', p);
          const opener: Client | Provider = by === 'provider' ? p : c;
          return {
            c,
            p,
            orderId,
            opener,
            movesBefore: await movesOf(orderId),
            eventsBefore: await eventTally(orderId),
            countersBefore: await counters(c, p),
          };
        },
        a: (s) =>
          call('POST', `/api/v1/orders/${s.orderId}/disputes`, s.opener.auth, {
            dispute_type: 'payment_dispute',
            description: 'Договорились о другой сумме, чем указано в заказе',
          }),
        b: (s) => call('POST', `/api/v1/orders/${s.orderId}/confirm`, s.c.auth),
        first: first === 'dispute' ? 'a' : 'b',
        landed: (_, confirm) => (confirm.status === 200) === (first === 'confirm'),
      });
      const { c, p, orderId, opener, movesBefore, eventsBefore, countersBefore } = race.state;
      const { a: dispute, b: confirm } = race;

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

      if (first === 'confirm') {
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
    },
  );

  it.each([
    ['accept', 'the accept lands and the block follows'],
    ['block', 'the accept is 409 provider_unavailable'],
  ] as const)(
    'staff block the provider while the client accepts their bid, the %s first: %s',
    async (first, _outcome) => {
      const race = await raceInOrder({
        async setup(attempt) {
          const c = await client(`Клиент блока ${first} ${attempt}`);
          const p = await provider(`Мастер под блоком ${first} ${attempt}`);
          const orderId = await orderIn(c, 'bidding', p);
          const [bid] = await bidsOf(orderId);
          return {
            c,
            p,
            orderId,
            bid: bid!,
            moderator: await user(['moderator']),
            eventsBefore: await eventTally(orderId),
          };
        },
        a: (s) => call('POST', `/api/v1/bids/${s.bid.id}/accept`, s.c.auth, { amount: s.bid.amount }),
        b: (s) => call('POST', `/api/v1/admin/users/${s.p.user.id}/block`, s.moderator.auth),
        first: first === 'accept' ? 'a' : 'b',
        landed: (accept) => (accept.status === 201) === (first === 'accept'),
      });
      const { orderId, bid, eventsBefore } = race.state;
      const { a: accept, b: block } = race;

      expect(block.status, JSON.stringify(block.body)).toBe(200);
      const order = await orderRow(orderId);
      const rows = await bidsOf(orderId);
      const assignments = await assignmentsOf(orderId);
      const added = await eventsSince(orderId, eventsBefore);
      if (first === 'accept') {
        expect(order).toMatchObject({ status: 'assigned', finalPrice: bid.amount });
        expect(rows).toMatchObject([{ status: 'accepted' }]);
        expect(assignments).toHaveLength(1);
        expect(added).toEqual({ bid_accepted: 1, order_assigned: 1, 'order_status_changed:assigned': 1 });
        expect(await movesOf(orderId)).toEqual([
          'null>draft',
          'draft>published',
          'published>bidding',
          'bidding>assigned',
        ]);
      } else {
        expect([accept.status, accept.body.code]).toEqual([409, 'provider_unavailable']);
        expect(order).toMatchObject({ status: 'bidding', finalPrice: null, assignedAt: null });
        expect(rows).toMatchObject([{ status: 'pending', decidedAt: null }]);
        expect(assignments).toEqual([]);
        expect(added).toEqual({});
        expect(await movesOf(orderId)).toEqual(['null>draft', 'draft>published', 'published>bidding']);
      }
    },
  );
});
