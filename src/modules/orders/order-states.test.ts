import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helper.ts';
import { orderFixtures, type Provider, type SignedIn } from '../../../test/order-fixtures.ts';
import { autoConfirmOrdersJob } from './jobs.ts';
import { orders } from './schema.ts';

const DAY_MS = 86_400_000;

let t: TestApp;
const k = orderFixtures(() => t);
let client: SignedIn;
let provider: Provider;

beforeAll(async () => {
  t = await createTestApp();
  client = await k.user();
  provider = await k.provider();
});
afterAll(() => t.close());

const post = (id: string, action: string, who: SignedIn, payload?: object) =>
  k.call('POST', `/api/v1/orders/${id}/${action}`, who.auth, payload);

/** What a refused request must leave alone: the order, its bids, assignment, event count and history. */
const everything = async (id: string) => ({ rows: await k.snapshot(id), history: await k.historyOf(id) });

/** Every state an order can be in; `work_done` is in progress with the work marked done. */
const STATES = [
  'draft',
  'published',
  'bidding',
  'assigned',
  'in_progress',
  'work_done',
  'completed',
  'cancelled',
  'disputed',
] as const;
type State = (typeof STATES)[number];
/** A provider has a say only once they are assigned: before that they are no party to the order. */
const AGREED_STATES: readonly State[] = [
  'assigned',
  'in_progress',
  'work_done',
  'completed',
  'cancelled',
  'disputed',
];

/**
 * Each action, who calls it, and the states DOMAIN.md allows it from; every other state the caller can
 * reach is refused. Written out here rather than read from ALLOWED_FROM, so the test checks the code.
 */
const ACTIONS: {
  name: string;
  action: string;
  by: 'client' | 'provider';
  payload?: object;
  allowedFrom: readonly State[];
}[] = [
  { name: 'publish', action: 'publish', by: 'client', allowedFrom: ['draft'] },
  {
    name: 'cancel by the client',
    action: 'cancel',
    by: 'client',
    payload: { reason: 'Планы изменились' },
    allowedFrom: ['draft', 'published', 'bidding', 'assigned'],
  },
  {
    name: 'cancel by the assigned provider',
    action: 'cancel',
    by: 'provider',
    payload: { reason: 'Не смогу приехать' },
    allowedFrom: ['assigned'],
  },
  { name: 'start', action: 'start', by: 'provider', allowedFrom: ['assigned'] },
  {
    name: 'complete',
    action: 'complete',
    by: 'provider',
    payload: { completion_notes: 'Готово' },
    allowedFrom: ['in_progress'],
  },
  { name: 'confirm', action: 'confirm', by: 'client', allowedFrom: ['work_done'] },
];

/**
 * The code of the 409: the order's status, and work marked done is still `in_progress`. Two refusals are
 * about the work rather than the status: marking done twice, and confirming work not yet marked done.
 */
function expectedCode(action: string, state: State) {
  if (action === 'complete' && state === 'work_done') return 'work_already_done';
  if (action === 'confirm' && state === 'in_progress') return 'work_not_done';
  return `order_is_${state === 'work_done' ? 'in_progress' : state}`;
}

/**
 * One order per state, made through the routes on first use and shared by every action refused in that
 * state (a refusal changes nothing, which each test checks against the state taken when it was made).
 * A cancelled order was agreed with the provider first, so the provider is still its assigned provider.
 */
const made = new Map<State, Promise<{ id: string; before: Awaited<ReturnType<typeof everything>> }>>();
function orderInState(state: State) {
  let order = made.get(state);
  if (!order) {
    order = (async () => {
      let id: string;
      if (state === 'disputed') {
        id = await k.orderIn(client, 'completed', provider);
        const opened = await k.call('POST', `/api/v1/orders/${id}/disputes`, client.auth, {
          dispute_type: 'quality_issue',
          description: 'Кран снова течёт на следующий день',
        });
        expect(opened.status, JSON.stringify(opened.body)).toBe(201);
      } else {
        id = await k.orderIn(client, state, provider);
      }
      return { id, before: await everything(id) };
    })();
    made.set(state, order);
  }
  return order;
}

describe('an action from a state it is not allowed from', () => {
  for (const { name, action, by, payload, allowedFrom } of ACTIONS) {
    const reachable = by === 'client' ? STATES : AGREED_STATES;
    describe(name, () => {
      for (const state of reachable.filter((s) => !allowedFrom.includes(s))) {
        const code = expectedCode(action, state);
        it(`from ${state}: 409 ${code}, nothing changes`, async () => {
          const { id, before } = await orderInState(state);
          const answer = await post(id, action, by === 'client' ? client : provider, payload);
          expect(answer.status, JSON.stringify(answer.body)).toBe(409);
          expect(answer.body.code).toBe(code);
          expect(await everything(id)).toEqual(before);
        });
      }
    });
  }
});

describe('the order_auto_confirm_days setting', () => {
  it('is honoured when an admin changes it: 1 day confirms work done 2 days ago, 5 days waits past 4', async () => {
    const admin = await k.user(['admin']);
    const list = await k.call('GET', '/api/v1/admin/settings?limit=100', admin.auth);
    expect(list.status).toBe(200);
    const setting = list.body.data.find((s: { key: string }) => s.key === 'order_auto_confirm_days');
    expect(setting).toMatchObject({ value: 3 });
    const setDays = async (value: number) => {
      const changed = await k.call('PATCH', `/api/v1/admin/settings/${setting.id}`, admin.auth, { value });
      expect(changed.status, JSON.stringify(changed.body)).toBe(200);
      expect(changed.body.value).toBe(value);
    };
    /** Work marked done through the routes, then dated back in the table: the routes only mark it now. */
    const workDoneAgo = async (ms: number) => {
      const id = await k.orderIn(client, 'work_done', provider);
      await t.db
        .update(orders)
        .set({ workDoneAt: new Date(Date.now() - ms) })
        .where(eq(orders.id, id));
      return id;
    };
    const runJob = () =>
      autoConfirmOrdersJob(t.app.services.orders).handle(
        {},
        { log: t.app.log, jobId: 'test', retryCount: 0 },
      );
    const statusOf = async (id: string) => (await k.orderRow(id)).status;

    try {
      await setDays(1);
      const twoDays = await workDoneAgo(2 * DAY_MS);
      const halfDay = await workDoneAgo(DAY_MS / 2);
      const halfDayBefore = await everything(halfDay);
      await runJob();
      expect(await statusOf(twoDays)).toBe('completed');
      expect((await k.historyOf(twoDays)).at(-1)).toEqual({
        from: 'in_progress',
        to: 'completed',
        actor: null,
        reason: 'confirmed automatically after 1 day',
      });
      expect(await statusOf(halfDay)).toBe('in_progress');
      expect(await everything(halfDay)).toEqual(halfDayBefore);

      await setDays(5);
      const fourDays = await workDoneAgo(4 * DAY_MS);
      const sixDays = await workDoneAgo(6 * DAY_MS);
      const fourDaysBefore = await everything(fourDays);
      await runJob();
      // Under the default of 3 days it would have been confirmed.
      expect(await statusOf(fourDays)).toBe('in_progress');
      expect(await everything(fourDays)).toEqual(fourDaysBefore);
      expect(await statusOf(sixDays)).toBe('completed');
      expect((await k.historyOf(sixDays)).at(-1)).toMatchObject({
        actor: null,
        reason: 'confirmed automatically after 5 days',
      });
      expect(await statusOf(halfDay)).toBe('in_progress');
    } finally {
      await setDays(3);
    }
    const published = await k.call('GET', '/api/v1/settings');
    expect(published.body).toContainEqual(
      expect.objectContaining({ key: 'order_auto_confirm_days', value: 3 }),
    );
  });
});
