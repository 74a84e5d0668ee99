import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createVerifier } from 'fast-jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInUser, TEST_PASSWORD } from '../../../test/factories.ts';
import {
  createTestApp,
  deliverQueuedEvents,
  queuedEvents,
  type TestApp,
  testConfig,
} from '../../../test/helper.ts';
import { orderFixtures, type SignedIn } from '../../../test/order-fixtures.ts';
import type { AccountEvent } from '../users/events.ts';

/**
 * A fake of FCM HTTP v1 as its documentation shapes it: the OAuth token endpoint takes a JWT-bearer grant
 * signed with the service account's key; `messages:send` takes a bearer token and a `message`, answers
 * `{ name }`, or an error whose details carry an `FcmError` code. What it answers a token is the test's.
 */
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const verify = createVerifier({ key: publicKey.export({ type: 'spki', format: 'pem' }) as string });
const ACCESS_TOKEN = 'ya29.fake-access-token';
const sent: { token: string; message: Record<string, unknown> }[] = [];
let tokenRequests = 0;
/** Per device token: the status and error code FCM answers, else 200. */
const refusals = new Map<string, { status: number; code: string; retryAfter?: string }>();
/** Tokens whose next message FCM takes and then never answers: the connection is cut. */
const lostAnswers = new Set<string>();

const bodyOf = (request: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let body = '';
    request.on('data', (c) => {
      body += c;
    });
    request.on('end', () => resolve(body));
  });

let fcm: Server;
let base: string;

let t: TestApp;
beforeAll(async () => {
  fcm = createServer(async (request, response) => {
    const body = await bodyOf(request);
    const reply = (status: number, json: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'content-type': 'application/json', ...headers });
      response.end(JSON.stringify(json));
    };
    if (request.url === '/token') {
      const form = new URLSearchParams(body);
      const claims = verify(form.get('assertion') ?? '') as { scope?: string; aud?: string };
      if (
        form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer' ||
        claims.aud !== `${base}/token`
      )
        return reply(400, { error: 'invalid_grant' });
      expect(claims.scope).toBe('https://www.googleapis.com/auth/firebase.messaging');
      tokenRequests++;
      return reply(200, { access_token: ACCESS_TOKEN, expires_in: 3599, token_type: 'Bearer' });
    }
    if (request.url !== '/v1/projects/kg-test/messages:send') return reply(404, {});
    if (request.headers.authorization !== `Bearer ${ACCESS_TOKEN}`) {
      return reply(401, { error: { code: 401, status: 'UNAUTHENTICATED', message: 'bad token' } });
    }
    const { message } = JSON.parse(body) as { message: { token: string } };
    const refusal = refusals.get(message.token);
    if (refusal) {
      return reply(
        refusal.status,
        {
          error: {
            code: refusal.status,
            status: refusal.code === 'UNREGISTERED' ? 'NOT_FOUND' : refusal.code,
            message: 'refused',
            details: [
              { '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: refusal.code },
            ],
          },
        },
        refusal.retryAfter ? { 'retry-after': refusal.retryAfter } : {},
      );
    }
    sent.push({ token: message.token, message });
    if (lostAnswers.delete(message.token)) return request.socket.destroy();
    return reply(200, { name: `projects/kg-test/messages/${sent.length}` });
  });
  await new Promise<void>((resolve) => fcm.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(fcm.address() as AddressInfo).port}`;
  const account = {
    type: 'service_account',
    project_id: 'kg-test',
    client_email: 'push@kg-test.iam.gserviceaccount.com',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    token_uri: `${base}/token`,
  };
  t = await createTestApp({
    config: testConfig({
      FCM_SERVICE_ACCOUNT: Buffer.from(JSON.stringify(account)).toString('base64'),
      FCM_ENDPOINT: base,
    }),
  });
});
afterAll(async () => {
  await t.close();
  await new Promise((resolve) => fcm.close(resolve));
});

const k = orderFixtures(() => t);
const { call } = k;
const runDeliveries = () => t.app.services.jobs.runQueued(['notifications.deliver']);

async function register(who: SignedIn, token: string) {
  const made = await call('POST', '/api/v1/me/devices', who.auth, { token, platform: 'android' });
  expect(made.status, JSON.stringify(made.body)).toBe(201);
  expect(made.headers.location).toBe(`/api/v1/me/devices/${made.body.id}`);
  return made.body.id as string;
}

/** An accepted bid: its push to the provider queued. The order's id. */
async function acceptedBidFor(provider: Awaited<ReturnType<typeof k.provider>>) {
  const client = await k.client();
  const orderId = (await k.newOrder(client, { title: 'Заменить розетку', publish: true })).id;
  await k.agree(orderId, client, provider, { amount: 90_000 });
  await deliverQueuedEvents(t.app, 'notifications', ['bid_accepted']);
  return orderId;
}

async function pushDeliveryOf(userId: string) {
  const { rows } = await t.database.sql.query(
    `select id, status, attempts, next_attempt_at, provider_message_id from notification_deliveries
     where user_id = $1 and channel = 'push' order by id desc limit 1`,
    [userId],
  );
  return rows[0] as {
    id: string;
    status: string;
    attempts: number;
    next_attempt_at: Date | null;
    provider_message_id: string;
  };
}

describe('push through FCM', () => {
  it('sends to each registered device with the order’s collapse key, TTL and priority, one OAuth token', async () => {
    const provider = await k.provider('Бакыт');
    await register(provider, 'device-a');
    const orderId = await acceptedBidFor(provider);
    // The push and the mail.
    expect(await runDeliveries()).toBe(2);
    const [push] = sent.filter((s) => s.token === 'device-a');
    expect(push!.message).toMatchObject({
      notification: { title: 'Ваше предложение принято' },
      data: { type: 'bid_accepted', link: `https://master.kg/app/orders/${orderId}` },
      android: { priority: 'high', ttl: '14400s', collapse_key: `order:${orderId}` },
      apns: { headers: { 'apns-priority': '10', 'apns-collapse-id': `order:${orderId}` } },
    });
    expect(await pushDeliveryOf(provider.user.id)).toMatchObject({
      status: 'sent',
      attempts: 1,
      provider_message_id: expect.stringMatching(/^projects\/kg-test\/messages\/\d+$/),
    });
    await acceptedBidFor(provider);
    await runDeliveries();
    expect(tokenRequests).toBe(1);
  });

  it('forgets a token FCM says is unregistered, and does not try it again', async () => {
    const provider = await k.provider('Азамат');
    refusals.set('device-gone', { status: 404, code: 'UNREGISTERED' });
    await register(provider, 'device-gone');
    await acceptedBidFor(provider);
    await runDeliveries();
    expect(await pushDeliveryOf(provider.user.id)).toMatchObject({ status: 'failed', attempts: 1 });
    expect((await call('GET', '/api/v1/me/devices', provider.auth)).body.data).toEqual([]);
  });

  it('tries again after a 503, not before its Retry-After', async () => {
    const provider = await k.provider('Нурлан');
    refusals.set('device-busy', { status: 503, code: 'UNAVAILABLE', retryAfter: '300' });
    await register(provider, 'device-busy');
    await acceptedBidFor(provider);
    const before = Date.now();
    await runDeliveries();
    const delivery = await pushDeliveryOf(provider.user.id);
    expect(delivery).toMatchObject({ status: 'pending', attempts: 1 });
    expect(delivery.next_attempt_at!.getTime() - before).toBeGreaterThanOrEqual(299_000);
  });

  it('sends again after a lost answer with the same tag, collapse id and delivery id, so the device shows one', async () => {
    const provider = await k.provider('Эмиль');
    lostAnswers.add('device-lossy');
    await register(provider, 'device-lossy');
    const orderId = await acceptedBidFor(provider);
    await runDeliveries();
    const delivery = await pushDeliveryOf(provider.user.id);
    expect(delivery).toMatchObject({ status: 'pending', attempts: 1 });
    await t.database.sql.query(
      `update pgboss.job set start_after = now() - interval '1 second' where name = 'notifications.deliver' and data->>'delivery_id' = $1`,
      [delivery.id],
    );
    expect(await runDeliveries()).toBe(1);
    expect(await pushDeliveryOf(provider.user.id)).toMatchObject({ status: 'sent', attempts: 2 });
    const twice = sent.filter((s) => s.token === 'device-lossy').map((s) => s.message);
    expect(twice).toHaveLength(2);
    for (const message of twice) {
      expect(message).toMatchObject({
        data: { delivery_id: delivery.id },
        android: { collapse_key: `order:${orderId}`, notification: { tag: delivery.id } },
        apns: { headers: { 'apns-collapse-id': `order:${orderId}` } },
      });
    }
  });

  it('keeps devices per person: another cannot see or remove mine, and an ended session takes its device', async () => {
    const who = await signedInUser(t);
    const stranger = await signedInUser(t);
    const id = await register(who, 'device-mine');
    expect((await call('GET', '/api/v1/me/devices', stranger.auth)).body.data).toEqual([]);
    expect((await call('DELETE', `/api/v1/me/devices/${id}`, stranger.auth)).status).toBe(404);
    expect((await call('GET', '/api/v1/me/devices', who.auth)).body.data).toMatchObject([
      { id, platform: 'android' },
    ]);
    const provider = await k.provider('Тимур');
    await register(provider, 'device-left');
    await acceptedBidFor(provider);
    expect((await call('POST', '/api/v1/auth/logout', provider.auth)).status).toBe(204);
    await runDeliveries();
    expect(await pushDeliveryOf(provider.user.id)).toMatchObject({ status: 'cancelled' });
    expect(sent.some((s) => s.token === 'device-left')).toBe(false);
  });

  it('a session that ends takes its devices, the other session’s stay, and the end told again changes nothing', async () => {
    const provider = await k.provider('Эрлан');
    const login = await call(
      'POST',
      '/api/v1/auth/login',
      {},
      { email: provider.email, password: TEST_PASSWORD },
    );
    expect(login.status).toBe(200);
    const laptop = { ...provider, auth: { authorization: `Bearer ${login.body.access_token}` } };
    await register(provider, 'device-phone');
    const laptopDevice = await register(laptop, 'device-laptop');
    expect((await call('POST', '/api/v1/auth/logout', provider.auth)).status).toBe(204);
    // With the end of the earlier test's session.
    expect(await deliverQueuedEvents(t.app, 'notifications', ['session_ended'])).toBeGreaterThanOrEqual(1);
    const tokensLeft = async () =>
      (
        await t.database.sql.query('select token from notification_devices where user_id = $1', [
          provider.user.id,
        ])
      ).rows.map((r) => r.token);
    expect(await tokensLeft()).toEqual(['device-laptop']);
    expect((await call('GET', '/api/v1/me/devices', laptop.auth)).body.data).toMatchObject([
      { id: laptopDevice },
    ]);

    await acceptedBidFor(laptop);
    await runDeliveries();
    expect(await pushDeliveryOf(provider.user.id)).toMatchObject({ status: 'sent' });
    expect(sent.filter((s) => s.token.startsWith('device-phone'))).toEqual([]);
    expect(sent.filter((s) => s.token === 'device-laptop')).toHaveLength(1);

    // The same end told again, under another id (not the bus's once-per-event): nothing more goes.
    const [ended] = (await queuedEvents<AccountEvent>(t.database, 'user_id', provider.user.id)).filter(
      (e) => e.type === 'session_ended',
    );
    await t.app.services.events.emit({ ...ended!, id: undefined });
    expect(await deliverQueuedEvents(t.app, 'notifications', ['session_ended'])).toBe(1);
    expect(await tokensLeft()).toEqual(['device-laptop']);
  });
});
