import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, sleep, type TestApp, until } from '../../../test/helper.ts';
import { orderFixtures } from '../../../test/order-fixtures.ts';
import { auditLog } from '../../platform/audit/schema.ts';
import { writeAudit } from '../../platform/audit/service.ts';
import { ConflictError, ForbiddenError } from '../../platform/errors.ts';
import { subscribe } from '../../platform/events.ts';
import type { OrderEvent } from './events.ts';
import type { BidAccepted } from './extensions.ts';

/**
 * What later modules add to orders without orders knowing them: subscribers hear orders' events, each on its
 * own; handlers at `bidAccepted` work inside the accept transaction; guards refuse a bid inside its single
 * statement. All are registered the way app.ts wires a module, before the app starts.
 */
let t: TestApp;
const { call, client, provider, insertOrder, placeBid, snapshot } = orderFixtures(() => t);

/** What each test subscriber heard, by its module. */
const heard = new Map<string, OrderEvent[]>();
const HEARING = [
  'bid_received',
  'order_status_changed',
  'bid_accepted',
  'bid_rejected',
  'order_assigned',
] as const;

/** How the test handlers at `bidAccepted` behave in the current test. */
let onAccept: 'nothing' | 'write' | 'refuse' | 'crash' | 'write-then-refuse' = 'nothing';
const accepted: BidAccepted[] = [];
const PLAN_LIMIT = 600_000;

beforeAll(async () => {
  t = await createTestApp({
    work: true,
    jobs: { pollingIntervalSeconds: 0.5 },
    prepare(app) {
      for (const module of ['test-chat', 'test-analytics']) {
        heard.set(module, []);
        app.services.events.subscribe(
          subscribe<OrderEvent>({
            module,
            types: HEARING,
            async handle(event) {
              heard.get(module)!.push(event);
            },
          }),
        );
      }
      const { bidAccepted, bidCreation } = app.services.orderExtensions;
      bidAccepted.register('test-chat', async (context) => {
        accepted.push(context);
        if (onAccept === 'crash') throw new Error('the chat module is down');
        if (onAccept === 'refuse') throw new ConflictError('test_chat_refused', 'the chat module said no');
        if (onAccept === 'write' || onAccept === 'write-then-refuse') {
          await writeAudit(t.db, context.actor, [
            { action: 'create', entity: 'test_chat_rooms', entityId: context.orderId, after: { room: true } },
          ]);
        }
      });
      bidAccepted.register('test-payments', async () => {
        if (onAccept === 'write-then-refuse') {
          throw new ConflictError('test_invoice_refused', 'the payments module said no');
        }
      });
      bidCreation.register('test-plans', {
        name: 'test_plan_limit',
        condition: (c) => sql`${c.amount} <= ${PLAN_LIMIT} and ${c.providerUserId} is not null`,
        refusal: () => new ForbiddenError('plan_limit_reached', 'your plan does not allow a bid this large'),
      });
    },
  });
});
afterAll(() => t.close());
beforeEach(() => {
  onAccept = 'nothing';
  accepted.length = 0;
});

const heardOf = (module: string, orderId: string) => heard.get(module)!.filter((e) => e.order_id === orderId);

/** A published order with two pending bids on it. */
async function biddedOrder() {
  const owner = await client();
  const order = await insertOrder(owner);
  const first = await provider('Сантехник Бакыт');
  const second = await provider('Сантехник Нурлан');
  const firstBid = await placeBid(order.id, first);
  const secondBid = await placeBid(order.id, second);
  return { owner, order, first, second, firstBid, secondBid };
}

const testRooms = (orderId: string) =>
  t.db
    .select({ entityId: auditLog.entityId })
    .from(auditLog)
    .where(and(eq(auditLog.entity, 'test_chat_rooms'), eq(auditLog.entityId, orderId)));

describe('orders’ events reach every subscriber', () => {
  it('the bid statement’s events: each subscriber hears each once, with the same event id', async () => {
    const owner = await client();
    const order = await insertOrder(owner);
    const p = await provider('Сантехник Бакыт');
    const bidId = await placeBid(order.id, p);

    const expected = [
      { type: 'bid_received', order_id: order.id, bid_id: bidId, recipient_user_ids: [owner.user.id] },
      {
        type: 'order_status_changed',
        order_id: order.id,
        from_status: 'published',
        to_status: 'bidding',
        recipient_user_ids: [owner.user.id],
      },
    ];
    for (const module of ['test-chat', 'test-analytics']) {
      await until(() => heardOf(module, order.id).length === 2);
    }
    await sleep(1_500);
    const chat = heardOf('test-chat', order.id).sort((a, b) => a.type.localeCompare(b.type));
    const analytics = heardOf('test-analytics', order.id).sort((a, b) => a.type.localeCompare(b.type));
    expect(chat).toEqual([expect.objectContaining(expected[0]), expect.objectContaining(expected[1])]);
    expect(analytics.map((e) => e.id)).toEqual(chat.map((e) => e.id));
    expect(new Set(chat.map((e) => e.id)).size).toBe(2);
  });

  it('the accept’s events, emitted by a service call: accepted, rejected and assigned to each subscriber', async () => {
    const { owner, order, first, secondBid, firstBid } = await biddedOrder();
    const answer = await call('POST', `/api/v1/bids/${firstBid}/accept`, owner.auth, { amount: 500_000 });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);

    const decided = (module: string) =>
      heardOf(module, order.id).filter((e) => e.type !== 'bid_received' && e.type !== 'order_status_changed');
    for (const module of ['test-chat', 'test-analytics']) await until(() => decided(module).length === 3);
    await sleep(1_500);
    for (const module of ['test-chat', 'test-analytics']) {
      expect(decided(module).sort((a, b) => a.type.localeCompare(b.type))).toEqual([
        expect.objectContaining({
          type: 'bid_accepted',
          bid_id: firstBid,
          recipient_user_ids: [first.user.id],
        }),
        expect.objectContaining({ type: 'bid_rejected', bid_id: secondBid }),
        expect.objectContaining({ type: 'order_assigned', bid_id: firstBid }),
      ]);
    }
  });
});

describe('bidAccepted: work inside the accept transaction', () => {
  it('runs with the order, bid, both parties and the amount, and its write commits with the accept', async () => {
    const { owner, order, first, firstBid } = await biddedOrder();
    onAccept = 'write';
    const answer = await call('POST', `/api/v1/bids/${firstBid}/accept`, owner.auth, { amount: 500_000 });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    expect(accepted).toEqual([
      {
        actor: expect.objectContaining({ userId: owner.user.id }),
        orderId: order.id,
        bidId: firstBid,
        clientUserId: owner.user.id,
        providerUserId: first.user.id,
        providerProfileId: first.providerId,
        amount: 500_000,
        currency: 'KGS',
      },
    ]);
    expect(await testRooms(order.id)).toEqual([{ entityId: order.id }]);
    expect((await call('GET', `/api/v1/orders/${order.id}`, owner.auth)).body.status).toBe('assigned');
  });

  for (const [mode, status, code] of [
    ['refuse', 409, 'test_chat_refused'],
    ['crash', 500, 'internal_error'],
    ['write-then-refuse', 409, 'test_invoice_refused'],
  ] as const) {
    it(`a handler that fails (${mode}) fails the accept with its error (${status} ${code}), and nothing changes`, async () => {
      const { owner, order, firstBid } = await biddedOrder();
      const before = await snapshot(order.id);
      onAccept = mode;
      const answer = await call('POST', `/api/v1/bids/${firstBid}/accept`, owner.auth, { amount: 500_000 });
      expect(answer.status).toBe(status);
      expect(answer.body).toMatchObject({ code });
      expect(accepted).toHaveLength(1);
      expect(await snapshot(order.id)).toBe(before);
      // An earlier handler's write goes with the rest.
      expect(await testRooms(order.id)).toEqual([]);
      await sleep(1_500);
      expect(heardOf('test-chat', order.id).filter((e) => e.type === 'bid_accepted')).toEqual([]);

      // The handler mended, the same accept goes through.
      onAccept = 'nothing';
      const again = await call('POST', `/api/v1/bids/${firstBid}/accept`, owner.auth, { amount: 500_000 });
      expect(again.status, JSON.stringify(again.body)).toBe(201);
    });
  }
});

describe('bidCreation: a guard inside the bid statement', () => {
  it('a bid the guard refuses answers its error and changes nothing; one it allows is made', async () => {
    const owner = await client();
    const order = await insertOrder(owner);
    const p = await provider('Сантехник Бакыт');
    const before = await snapshot(order.id);

    const refused = await call('POST', `/api/v1/orders/${order.id}/bids`, p.auth, { amount: PLAN_LIMIT + 1 });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'plan_limit_reached' });
    expect(await snapshot(order.id)).toBe(before);

    const made = await call('POST', `/api/v1/orders/${order.id}/bids`, p.auth, { amount: PLAN_LIMIT });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
  });

  it('the orders module’s own rules answer first: a bid on one’s own order is still own_order', async () => {
    const owner = await provider('Сантехник и клиент');
    await call('POST', '/api/v1/me/client-profile', owner.auth, {});
    const order = await insertOrder(owner);
    const refused = await call('POST', `/api/v1/orders/${order.id}/bids`, owner.auth, {
      amount: PLAN_LIMIT + 1,
    });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'own_order' });
  });

  it('takes no guard once the statement is made', () => {
    expect(() =>
      t.app.services.orderExtensions.bidCreation.register('late', {
        name: 'late_guard',
        condition: () => sql`true`,
        refusal: () => new ForbiddenError('late', 'late'),
      }),
    ).toThrow(/before first use/);
  });
});
