import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestApp,
  deliverQueuedEvents,
  queuedEvents,
  type TestApp,
  until,
} from '../../../test/helper.ts';
import type { Answer } from '../../../test/http.ts';
import { type Client, orderFixtures, type Provider, type SignedIn } from '../../../test/order-fixtures.ts';
import type { AccountEvent } from '../users/events.ts';
import { orderAssignments } from './schema.ts';

/**
 * What a person leaves in the marketplace when their account goes (DECISIONS.md, "People and their data"):
 * closing, erasing and blocking cancel their open orders and withdraw their pending bids, through the
 * orders module's subscription to the account events; erasure over agreed work not finished is refused in
 * its own request, through the users module's `accountErasure` hook; nothing comes back with the account.
 */
let t: TestApp;
const k = orderFixtures(() => t);
const { call, client, provider, user, newOrder, placeBid, orderIn, orderRow, historyOf, eventsOf, snapshot } =
  k;
let admin: SignedIn;

/** A test's hold on one transaction at a hook: it waits there, the lock it holds kept, until released. */
interface Gate {
  reached: Promise<void>;
  reach(): void;
  released: Promise<void>;
  release(): void;
}
function gate(): Gate {
  const g = {} as Gate;
  g.reached = new Promise((resolve) => {
    g.reach = resolve;
  });
  g.released = new Promise((resolve) => {
    g.release = resolve;
  });
  return g;
}
let acceptGate: Gate | undefined;
let eraseGate: Gate | undefined;
const hold = async (taken: Gate | undefined) => {
  if (!taken) return;
  taken.reach();
  await taken.released;
};

beforeAll(async () => {
  t = await createTestApp({
    prepare(app) {
      // After the module's own work at each point: the accept assigned, the erasure's guard passed.
      app.services.orderExtensions.bidAccepted.register('test-race', async () => {
        const taken = acceptGate;
        acceptGate = undefined;
        await hold(taken);
      });
      app.services.accountExtensions.accountErasure.register('test-race', async () => {
        const taken = eraseGate;
        eraseGate = undefined;
        await hold(taken);
      });
    },
  });
  admin = await user(['admin']);
});
afterAll(() => t.close());

const SETTLING = ['account_closed', 'account_erased', 'account_blocked'] as const;
/** The orders module hears the account events, as a worker would run its jobs. */
const settle = () => deliverQueuedEvents(t.app, 'orders', SETTLING);

const close = async (who: SignedIn) =>
  expect((await call('POST', '/api/v1/me/close', who.auth, who.reauth)).status).toBe(204);
const erase = (who: SignedIn) =>
  call('POST', '/api/v1/me/erase', who.auth, { confirm: 'ERASE', ...who.reauth });
const staff = async (action: 'block' | 'unblock' | 'restore', who: SignedIn) => {
  const answer = await call('POST', `/api/v1/admin/users/${who.user.id}/${action}`, admin.auth);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
};

/** The status of the one bid `who` sees on an order: a bidder their own, the client the only one. */
async function bidSeenBy(orderId: string, who: SignedIn) {
  const answer = await call('GET', `/api/v1/orders/${orderId}/bids`, who.auth);
  expect(answer.status).toBe(200);
  return answer.body.data[0].status as string;
}

/**
 * A person who is both a client and a provider, with everything closing touches: a draft, a published
 * order, one with two bids, agreed work on their own order and on someone else's, and a pending bid of
 * theirs on another client's order.
 */
async function leaverWithEverything(name: string) {
  const leaver = await provider(name);
  const [first, second] = [await provider(`${name} Первый`), await provider(`${name} Второй`)];
  const other: Client = await client(`${name} Клиент`);
  const draft = await orderIn(leaver, 'draft');
  const published = await orderIn(leaver, 'published');
  const bidding = (await newOrder(leaver, { publish: true })).id as string;
  const firstBid = await placeBid(bidding, first);
  const secondBid = await placeBid(bidding, second);
  const ownWork = await orderIn(leaver, 'assigned', first);
  const theirOrder = await orderIn(other, 'published');
  const myBid = await placeBid(theirOrder, leaver);
  const theirWork = await orderIn(other, 'in_progress', leaver);
  return {
    leaver,
    first,
    second,
    other,
    draft,
    published,
    bidding,
    firstBid,
    secondBid,
    ownWork,
    theirOrder,
    myBid,
    theirWork,
  };
}

type Everything = Awaited<ReturnType<typeof leaverWithEverything>>;

/** After the account event was heard: each open order cancelled for `reason`, its bidders told; bids out. */
async function expectSettled(s: Everything, reason: string, actor: string | null) {
  for (const id of [s.draft, s.published, s.bidding]) {
    expect(await orderRow(id)).toMatchObject({ status: 'cancelled', cancelReason: reason });
    expect((await historyOf(id)).at(-1)).toMatchObject({ to: 'cancelled', actor, reason });
  }
  const seen = await call('GET', `/api/v1/orders/${s.bidding}`, admin.auth);
  expect(seen.body).toMatchObject({ status: 'cancelled', cancel_reason: reason });
  expect(await bidSeenBy(s.bidding, s.first)).toBe('rejected');
  expect(await bidSeenBy(s.bidding, s.second)).toBe('rejected');
  expect(await eventsOf(s.bidding)).toEqual(
    expect.arrayContaining([
      {
        type: 'bid_rejected',
        order_id: s.bidding,
        bid_id: s.firstBid,
        recipient_user_ids: [s.first.user.id],
      },
      {
        type: 'bid_rejected',
        order_id: s.bidding,
        bid_id: s.secondBid,
        recipient_user_ids: [s.second.user.id],
      },
      expect.objectContaining({
        type: 'order_status_changed',
        from_status: 'bidding',
        to_status: 'cancelled',
      }),
    ]),
  );

  // Their bid on the other client's order is withdrawn, the count down, the client told.
  const bids = await call('GET', `/api/v1/orders/${s.theirOrder}/bids`, s.other.auth);
  expect(bids.body.data).toMatchObject([{ id: s.myBid, status: 'withdrawn' }]);
  expect(await orderRow(s.theirOrder)).toMatchObject({ status: 'bidding', bidCount: 0 });
  expect(await eventsOf(s.theirOrder)).toContainEqual({
    type: 'bid_withdrawn',
    order_id: s.theirOrder,
    bid_id: s.myBid,
    recipient_user_ids: [s.other.user.id],
  });
}

/** Agreed work goes on, on either side. */
async function expectWorkGoesOn(s: Everything) {
  expect((await orderRow(s.ownWork)).status).toBe('assigned');
  expect((await orderRow(s.theirWork)).status).toBe('in_progress');
}

/** What a refused erasure must leave alone: every order of theirs, their account, what was told. */
async function untouched(s: { leaver: SignedIn }, orderIds: string[]) {
  return {
    orders: await Promise.all(orderIds.map(snapshot)),
    me: (await call('GET', '/api/v1/me', s.leaver.auth)).body,
    told: await queuedEvents<AccountEvent>(t.database, 'user_id', s.leaver.user.id),
  };
}

describe('closing an account (DELETE /me)', () => {
  it('cancels the open orders for account_closed, tells their bidders, withdraws the pending bids; agreed work goes on', async () => {
    const s = await leaverWithEverything('Закрывший');
    await close(s.leaver);
    expect(await settle()).toBeGreaterThan(0);
    await expectSettled(s, 'account_closed', s.leaver.user.id);
    await expectWorkGoesOn(s);
    // The person who closed is not told of their own cancellation.
    expect(await eventsOf(s.bidding)).toContainEqual(
      expect.objectContaining({
        type: 'order_status_changed',
        to_status: 'cancelled',
        recipient_user_ids: [],
      }),
    );
  });

  it('restoring the account reopens nothing', async () => {
    const s = await leaverWithEverything('Вернувшийся');
    await close(s.leaver);
    await settle();
    await staff('restore', s.leaver);
    await settle();
    for (const id of [s.draft, s.published, s.bidding]) expect((await orderRow(id)).status).toBe('cancelled');
    expect(await bidSeenBy(s.theirOrder, s.other)).toBe('withdrawn');
    expect(await bidSeenBy(s.bidding, s.first)).toBe('rejected');
  });
});

describe('blocking an account', () => {
  it('cancels the open orders for account_blocked and withdraws the pending bids; unblocking reopens nothing', async () => {
    const s = await leaverWithEverything('Заблокированный');
    await staff('block', s.leaver);
    await settle();
    // Staff blocked; the platform carried it out.
    await expectSettled(s, 'account_blocked', null);
    await expectWorkGoesOn(s);
    await staff('unblock', s.leaver);
    await settle();
    for (const id of [s.draft, s.published, s.bidding]) expect((await orderRow(id)).status).toBe('cancelled');
    expect(await bidSeenBy(s.theirOrder, s.other)).toBe('withdrawn');
  });
});

describe('erasing an account (POST /me/erase)', () => {
  it.each([
    ['assigned, as the client', 'client', 'assigned'],
    ['in progress, as the provider', 'provider', 'in_progress'],
    ['disputed, as the client', 'client', 'disputed'],
    ['disputed, as the provider', 'provider', 'disputed'],
  ] as const)('agreed work %s: 409 work_in_progress, and nothing changes', async (_, side, state) => {
    const leaver = await provider('Незавершивший');
    const partner = side === 'client' ? await provider('Партнёр') : await client('Партнёр');
    const [owner, worker] = side === 'client' ? [leaver, partner as Provider] : [partner, leaver];
    const work = await orderIn(owner, state === 'disputed' ? 'in_progress' : state, worker);
    if (state === 'disputed') {
      const opened = await call('POST', `/api/v1/orders/${work}/disputes`, partner.auth, {
        dispute_type: 'quality_issue',
        description: 'Работа сделана не так, как договаривались',
      });
      expect(opened.status).toBe(201);
    }
    const open = await orderIn(leaver, 'bidding', await provider('Ждущий'));
    const before = await untouched({ leaver }, [work, open]);

    const refused = await erase(leaver);
    expect(refused.status).toBe(409);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.body.code).toBe('work_in_progress');
    expect(await untouched({ leaver }, [work, open])).toEqual(before);
    expect(before.me).toMatchObject({ id: leaver.user.id });
  });

  it('once the work is done: cancels the open orders for account_erased, withdraws the bids, and the finished orders keep no address or contact', async () => {
    const s = await leaverWithEverything('Стёртый');
    // Their own agreed work cancelled, the other client's work finished: nothing agreed is left open.
    await k.act(s.ownWork, 'cancel', s.leaver, { reason: 'Передумал' });
    await k.act(s.theirWork, 'complete', s.leaver);
    await k.act(s.theirWork, 'confirm', s.other);
    const finished = await orderIn(s.leaver, 'completed', s.second);
    const before = await call('GET', `/api/v1/orders/${finished}`, s.second.auth);
    expect(before.body).toMatchObject({
      address: 'ул. Киевская 77, кв. 5',
      client_contact: { full_name: s.leaver.user.fullName },
    });

    expect((await erase(s.leaver)).status).toBe(204);
    // In the erasure itself: the address is gone from every order of theirs, and the contact with the account.
    const after = await call('GET', `/api/v1/orders/${finished}`, s.second.auth);
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({ status: 'completed', address: null, location: null });
    const shown = JSON.stringify(after.body);
    for (const personal of [s.leaver.user.fullName, s.leaver.email, 'Киевская']) {
      expect(shown).not.toContain(personal);
    }
    for (const id of [s.draft, s.published, s.bidding, s.ownWork, finished]) {
      expect(await orderRow(id)).toMatchObject({ addressEncrypted: null, locationEncrypted: null });
    }

    await settle();
    await expectSettled(s, 'account_erased', s.leaver.user.id);
  });
});

describe('an accept at the same moment as an erasure', () => {
  /** A client's published order with a provider's pending bid; the one of the two who erases. */
  async function racers(erasing: 'provider' | 'client') {
    const owner = await client('Гонка Клиент');
    const bidder = await provider('Гонка Мастер');
    const orderId = await orderIn(owner, 'published');
    const bidId = await placeBid(orderId, bidder);
    const accept = () => call('POST', `/api/v1/bids/${bidId}/accept`, owner.auth, { amount: 500_000 });
    const eraser = erasing === 'provider' ? bidder : owner;
    return { orderId, eraser, accept, erase: () => erase(eraser) };
  }
  /**
   * On PostgreSQL, until a request of this database waits on a lock (the second one, on the first's):
   * however long a loaded machine takes to get it there. PGlite runs one transaction at a time, so the
   * second cannot begin before the first ends and there is no wait to see.
   */
  async function waitingOnALock() {
    if (t.database.kind === 'pglite') return;
    await until(async () => {
      const { rows } = await t.database.sql.query(
        "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
      );
      return (rows[0] as { n: number }).n > 0;
    }, 120_000);
  }
  /**
   * `first` runs to its hook and is held there with its locks; `second` starts and must wait for them;
   * then `first` goes on. Both answers, in that order.
   */
  async function heldOpen(
    point: 'accept' | 'erase',
    first: () => Promise<Answer>,
    second: () => Promise<Answer>,
  ) {
    const held = gate();
    if (point === 'accept') acceptGate = held;
    else eraseGate = held;
    const firstAnswer = first();
    await held.reached;
    const secondAnswer = second();
    await waitingOnALock();
    held.release();
    return Promise.all([firstAnswer, secondAnswer]);
  }
  const assignmentsOf = (orderId: string) =>
    t.db.select().from(orderAssignments).where(eq(orderAssignments.orderId, orderId));

  it.each(['provider', 'client'] as const)(
    'the accept first (held open when the erasure comes): the erasure of the %s waits for it, then is 409 work_in_progress',
    async (erasing) => {
      const r = await racers(erasing);
      const [accepted, erased] = await heldOpen('accept', r.accept, r.erase);
      expect(accepted.status, JSON.stringify(accepted.body)).toBe(201);
      expect(erased.status, JSON.stringify(erased.body)).toBe(409);
      expect(erased.body.code).toBe('work_in_progress');
      expect((await orderRow(r.orderId)).status).toBe('assigned');
      expect((await call('GET', '/api/v1/me', r.eraser.auth)).status).toBe(200);
    },
  );

  it.each(['provider', 'client'] as const)(
    'the erasure of the %s first (held open when the accept comes): the accept waits for it, then is refused',
    async (erasing) => {
      const r = await racers(erasing);
      const [erased, accepted] = await heldOpen('erase', r.erase, r.accept);
      expect(erased.status, JSON.stringify(erased.body)).toBe(204);
      if (erasing === 'provider') {
        expect(accepted.status).toBe(409);
        expect(accepted.body.code).toBe('provider_unavailable');
      } else {
        // The client's own request: refused as theirs closed, or, once their sessions ended, signed out.
        expect([401, 409]).toContain(accepted.status);
        if (accepted.status === 409) expect(accepted.body.code).toBe('client_unavailable');
      }
      expect(await assignmentsOf(r.orderId)).toEqual([]);
      expect((await orderRow(r.orderId)).status).not.toBe('assigned');
    },
  );
});
