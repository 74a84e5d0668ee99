import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInUser } from '../../../test/factories.ts';
import { createTestApp, deliverQueuedEvents, type TestApp } from '../../../test/helper.ts';
import { orderFixtures, type SignedIn } from '../../../test/order-fixtures.ts';
import { CHANNELS, NOTIFICATION_TYPES } from './contract.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const k = orderFixtures(() => t);
const { call } = k;

interface Cell {
  enabled: boolean;
  choice: boolean | null;
  default: boolean;
  locked: boolean;
}
interface Preferences {
  channels: Record<string, boolean>;
  types: { type: string; critical: boolean; channels: Record<string, Cell> }[];
}

const get = async (who: SignedIn) => {
  const answer = await call('GET', '/api/v1/me/notification-preferences', who.auth);
  expect(answer.status).toBe(200);
  return answer.body as Preferences;
};
const put = (who: SignedIn, body: object) =>
  call('PUT', '/api/v1/me/notification-preferences', who.auth, body);
const cell = (p: Preferences, type: string, channel: string) =>
  p.types.find((x) => x.type === type)!.channels[channel]!;

describe('notification preferences', () => {
  it('answer the effective value of every type and channel', async () => {
    const p = await get(await signedInUser(t));
    expect(p.types.map((x) => x.type)).toEqual([...NOTIFICATION_TYPES]);
    for (const x of p.types) expect(Object.keys(x.channels)).toEqual([...CHANNELS]);
    expect(p.channels).toEqual({ in_app: true, push: true, email: true, sms: true });
    expect(cell(p, 'bid_received', 'in_app')).toEqual({
      enabled: true,
      choice: null,
      default: true,
      locked: false,
    });
    expect(cell(p, 'bid_received', 'email')).toEqual({
      enabled: false,
      choice: null,
      default: false,
      locked: false,
    });
    expect(cell(p, 'bid_received', 'sms')).toEqual({
      enabled: false,
      choice: null,
      default: false,
      locked: true,
    });
    expect(cell(p, 'new_sign_in', 'email')).toEqual({
      enabled: true,
      choice: null,
      default: true,
      locked: true,
    });
    expect(p.types.find((x) => x.type === 'new_sign_in')!.critical).toBe(true);
  });

  it('take a choice per type and channel and a switch per channel, over the defaults', async () => {
    const who = await signedInUser(t);
    const changed = await put(who, { types: { bid_received: { email: true, push: false } } });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(cell(changed.body, 'bid_received', 'email')).toMatchObject({ enabled: true, choice: true });
    expect(cell(changed.body, 'bid_received', 'push')).toMatchObject({ enabled: false, choice: false });

    const off = await put(who, { channels: { email: false } });
    expect(off.body.channels.email).toBe(false);
    expect(cell(off.body, 'bid_received', 'email')).toMatchObject({ enabled: false, choice: true });
    // A critical type goes by mail whatever the switch says.
    expect(cell(off.body, 'new_sign_in', 'email')).toMatchObject({ enabled: true, locked: true });

    const back = await put(who, { channels: { email: true }, types: { bid_received: { email: null } } });
    expect(cell(back.body, 'bid_received', 'email')).toEqual({
      enabled: false,
      choice: null,
      default: false,
      locked: false,
    });
    expect(cell(back.body, 'bid_received', 'push')).toMatchObject({ enabled: false, choice: false });
    expect(await get(who)).toEqual(back.body);
  });

  it('refuse to turn off a critical type, or SMS on for a type that never uses it, changing nothing', async () => {
    const who = await signedInUser(t);
    const critical = await put(who, {
      channels: { push: false },
      types: { new_sign_in: { email: false } },
    });
    expect(critical.status).toBe(409);
    expect(critical.body.code).toBe('notification_type_critical');
    const sms = await put(who, { types: { bid_received: { sms: true } } });
    expect(sms.status).toBe(409);
    expect(sms.body.code).toBe('channel_not_allowed');
    expect((await get(who)).channels.push).toBe(true);
    const unknown = await put(who, { types: { no_such_type: { email: true } } });
    expect(unknown.status).toBe(400);
  });

  it('are the caller’s own', async () => {
    const one = await signedInUser(t);
    const other = await signedInUser(t);
    await put(one, { channels: { push: false } });
    expect((await get(other)).channels.push).toBe(true);
    expect((await call('GET', '/api/v1/me/notification-preferences')).status).toBe(401);
  });

  it('decide where a notification goes: no inbox item for a type turned off in the app', async () => {
    const client = await k.client();
    await put(client, { types: { bid_received: { in_app: false } } });
    const orderId = (await k.newOrder(client, { publish: true })).id;
    await k.placeBid(orderId, await k.provider('Бакыт'));
    await deliverQueuedEvents(t.app, 'notifications', ['bid_received']);
    const inbox = await call('GET', '/api/v1/me/notifications', client.auth);
    expect(inbox.body.data).toEqual([]);
  });
});
