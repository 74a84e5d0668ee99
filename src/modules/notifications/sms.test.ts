import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, deliverQueuedEvents, type TestApp, testConfig } from '../../../test/helper.ts';
import { createSmsProSender, smsproTransactionId } from '../users/sms.ts';
import { ChannelError, createSmsChannel, type OutboundMessage } from './channels.ts';
import { REPORT_WINDOW_MS } from './delivery-reports.ts';

/**
 * A fake of the Kyrgyz gateway's XML protocol (DOMAIN.md): it reads the `<message>`, keeps it, and answers
 * a `<response>` whose status the test chooses per number; a number it is told to fail answers HTTP 503.
 * At `/api/dr` it answers the delivery report of a transaction id it took (`<dr>`, see sms-reports.ts): the
 * answers the test queued for the message's number, one per request, the last one repeated.
 */
const received: string[] = [];
const statusFor = new Map<string, number | 'http-503'>();
type ReportAnswer = { status?: number; report?: number } | 'http-503';
const reportsFor = new Map<string, ReportAnswer[]>();
const phoneOfId = new Map<string, string>();
const reportRequests: string[] = [];
let gateway: Server;
let url: string;

function answerReport(body: string) {
  reportRequests.push(body);
  const id = /<id>([^<]+)<\/id>/.exec(body)?.[1] ?? '';
  const phone = phoneOfId.get(id);
  if (!body.includes('<login>kgjob</login>')) return { http: 200, status: 2 };
  if (!phone) return { http: 200, status: 4 };
  const queue = reportsFor.get(phone) ?? [{ report: 0 }];
  const answer = (queue.length > 1 ? queue.shift() : queue[0]) as ReportAnswer;
  if (answer === 'http-503') return { http: 503, status: 0 };
  return { http: 200, status: answer.status ?? 0, phone, report: answer.report };
}

beforeAll(async () => {
  gateway = createServer((request, response) => {
    // A connection per request: a kept-alive one the server times out between two tests' requests would
    // fail the next send as if the gateway were down.
    response.setHeader('connection', 'close');
    let body = '';
    request.on('data', (c) => {
      body += c;
    });
    request.on('end', () => {
      if (request.url === '/api/dr') {
        const answer = answerReport(body);
        if (answer.http !== 200) {
          response.writeHead(answer.http);
          return response.end('busy');
        }
        response.writeHead(200, { 'content-type': 'application/xml' });
        const phones =
          answer.report === undefined
            ? ''
            : `<phone><number>${answer.phone}</number><report>${answer.report}</report>` +
              `<sendTime>20261208091500</sendTime><rcvTime>${answer.report === 3 ? '20261208091502' : ''}</rcvTime></phone>`;
        return response.end(
          `<?xml version="1.0" encoding="UTF-8"?><response><status>${answer.status}</status>${phones}</response>`,
        );
      }
      received.push(body);
      const phone = /<phone>(\d+)<\/phone>/.exec(body)?.[1] ?? '';
      const id = /<id>([^<]+)<\/id>/.exec(body)?.[1] ?? '';
      phoneOfId.set(id, phone);
      const status = statusFor.get(phone) ?? 0;
      if (status === 'http-503') {
        response.writeHead(503);
        return response.end('busy');
      }
      response.writeHead(200, { 'content-type': 'application/xml' });
      response.end(
        `<?xml version="1.0" encoding="UTF-8"?><response><id>${id}</id><status>${status}</status><phones>1</phones><smscnt>1</smscnt></response>`,
      );
    });
  });
  await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/api/message`;
});
afterAll(() => new Promise((resolve) => gateway.close(resolve)));

const channel = () =>
  createSmsChannel(
    createSmsProSender({ url, login: 'kgjob', password: 's3cr<t', sender: 'MasterKG', test: true }),
  );

const message = (to: string): OutboundMessage => ({
  channel: 'sms',
  to,
  subject: '',
  text: 'Вход с нового устройства: Pixel 8 & co',
  link: null,
  type: 'new_sign_in',
  priority: 'urgent',
  reference: '01930000-0000-7000-8000-0000000000aa',
  collapseKey: null,
});

describe('SMS through the Kyrgyz gateway', () => {
  it('posts the protocol’s XML with a 12-character transaction id of the delivery, and reports the gateway’s id', async () => {
    const transactionId = smsproTransactionId('01930000-0000-7000-8000-0000000000aa');
    expect(transactionId).toMatch(/^[A-Za-z0-9]{12}$/);
    expect(smsproTransactionId('01930000-0000-7000-8000-0000000000aa')).toBe(transactionId);
    expect(smsproTransactionId('01930000-0000-7000-8000-0000000000ab')).not.toBe(transactionId);
    const outcome = await channel().send(message('+996555123456'));
    expect(outcome).toMatchObject({ status: 'sent', providerMessageId: transactionId });
    expect(received.at(-1)).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><message><login>kgjob</login><pwd>s3cr&lt;t</pwd>' +
        `<id>${transactionId}</id><sender>MasterKG</sender>` +
        '<text>Вход с нового устройства: Pixel 8 &amp; co</text><phones><phone>996555123456</phone></phones>' +
        '<test>1</test></message>',
    );
  });

  it('takes a transaction id the gateway has seen as sent: a retry of ours sends nothing twice', async () => {
    statusFor.set('996555000010', 10);
    expect(await channel().send(message('+996555000010'))).toMatchObject({ status: 'sent' });
  });

  it('does not retry a refusal in the answer, and retries an HTTP 503', async () => {
    statusFor.set('996555000004', 4);
    statusFor.set('996555000503', 'http-503');
    const refused = await channel()
      .send(message('+996555000004'))
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ChannelError);
    expect(refused).toMatchObject({ kind: 'permanent', response: { status: '4' } });
    const busy = await channel()
      .send(message('+996555000503'))
      .catch((e: unknown) => e);
    expect(busy).toMatchObject({ kind: 'retryable', response: { status: 503 } });
  });

  it('retries the gateway’s own timeout (status 9) with the same transaction id', async () => {
    statusFor.set('996555000009', 9);
    const timedOut = await channel()
      .send(message('+996555000009'))
      .catch((e: unknown) => e);
    expect(timedOut).toMatchObject({ kind: 'retryable', response: { status: '9' } });
    const first = /<id>([^<]+)<\/id>/.exec(received.at(-1)!)?.[1];
    statusFor.set('996555000009', 0);
    expect(await channel().send(message('+996555000009'))).toMatchObject({ status: 'sent' });
    expect(/<id>([^<]+)<\/id>/.exec(received.at(-1)!)?.[1]).toBe(first);
  });

  it('sends a sign-in code with a transaction id the gateway takes', async () => {
    await createSmsProSender({ url, login: 'kgjob', password: 'p', sender: 'MasterKG', test: true }).send(
      '+996555000100',
      'Код: 123456',
    );
    expect(/<id>([^<]+)<\/id>/.exec(received.at(-1)!)?.[1]).toMatch(/^[A-Za-z0-9]{12}$/);
  });
});

describe('SMS delivery reports', () => {
  let t: TestApp;
  beforeAll(async () => {
    const config = testConfig({
      SMS_GATEWAY_URL: url,
      SMS_LOGIN: 'kgjob',
      SMS_PASSWORD: 's3cr<t',
      SMS_SENDER: 'MasterKG',
    });
    // The gateway's sender, not the test app's memory one: codes and notifications go through the fake.
    t = await createTestApp({ config, sms: createSmsProSender(config.smsGateway!) });
  });
  afterAll(() => t.close());

  const call = async (method: 'POST', path: string, payload: object) => {
    const res = await t.app.inject({ method, url: path, payload });
    return { status: res.statusCode, body: res.json() };
  };
  const codeSentTo = (phone: string) =>
    received
      .filter((b) => b.includes(`<phone>${phone.slice(1)}</phone>`))
      .map((b) => /<text>[^<]*?(\d{6})/.exec(b)?.[1])
      .findLast(Boolean);

  /** A phone-only holder signs in from a second device: the sign-in's SMS goes through the gateway. */
  async function textedSignIn(phone: string) {
    let userId = '';
    for (const [device_name, status] of [
      ['Redmi Note', 201],
      ['Galaxy A54', 200],
    ] as const) {
      await t.database.sql.query(`update otp_codes set created_at = created_at - interval '2 minutes'`);
      expect((await call('POST', '/api/v1/auth/otp/request', { phone })).status).toBe(202);
      const code = codeSentTo(phone);
      const verified = await call('POST', '/api/v1/auth/otp/verify', { phone, code, device_name });
      expect(verified.status, JSON.stringify(verified.body)).toBe(status);
      userId = verified.body.user.id;
    }
    await deliverQueuedEvents(t.app, 'notifications', ['account_signed_in_new_device']);
    expect(await t.app.services.jobs.runQueued(['notifications.deliver'])).toBe(1);
    return userId;
  }

  async function smsDeliveryOf(userId: string) {
    const { rows } = await t.database.sql.query(
      `select id, status, sent_at, delivered_at, failed_at, external_response from notification_deliveries
       where user_id = $1 and channel = 'sms'`,
      [userId],
    );
    expect(rows).toHaveLength(1);
    return rows[0] as {
      id: string;
      status: string;
      sent_at: Date;
      delivered_at: Date | null;
      failed_at: Date | null;
      external_response: Record<string, unknown>;
    };
  }

  const queuedChecks = async (deliveryId: string) =>
    (
      await t.database.sql.query(
        `select start_after, data from pgboss.job where name = 'notifications.check-delivery'
         and data->>'delivery_id' = $1 and state = 'created'`,
        [deliveryId],
      )
    ).rows as { start_after: Date; data: { check: number } }[];

  /** The questions due now: pg-boss takes a job whose start_after is before now(). */
  async function runChecks(deliveryId: string) {
    await t.database.sql.query(
      `update pgboss.job set start_after = now() - interval '1 second'
       where name = 'notifications.check-delivery' and data->>'delivery_id' = $1 and state = 'created'`,
      [deliveryId],
    );
    return t.app.services.jobs.runQueued(['notifications.check-delivery']);
  }

  it('asks the gateway by transaction id, a minute after the send and then less often, until it is delivered', async () => {
    reportsFor.set('996555810001', [{ report: 0 }, { report: 1 }, { report: 3 }]);
    const before = Date.now();
    const userId = await textedSignIn('+996555810001');
    const delivery = await smsDeliveryOf(userId);
    expect(delivery.status).toBe('sent');
    const [first] = await queuedChecks(delivery.id);
    expect(first!.start_after.getTime() - before).toBeGreaterThanOrEqual(59_000);
    // Not before it is due.
    expect(await t.app.services.jobs.runQueued(['notifications.check-delivery'])).toBe(0);

    for (const [check, wait] of [
      [1, 120_000],
      [2, 240_000],
    ] as const) {
      const asked = Date.now();
      expect(await runChecks(delivery.id)).toBe(1);
      expect(await smsDeliveryOf(userId)).toMatchObject({
        status: 'sent',
        external_response: { check, state: 'pending', report: check - 1 },
      });
      const [next] = await queuedChecks(delivery.id);
      expect(next!.start_after.getTime() - asked).toBeGreaterThanOrEqual(wait - 1000);
      expect(next!.start_after.getTime() - asked).toBeLessThan(wait + 5000);
    }
    expect(reportRequests.at(-1)).toBe(
      `<?xml version="1.0" encoding="UTF-8"?><dr><login>kgjob</login><pwd>s3cr&lt;t</pwd><id>${smsproTransactionId(delivery.id)}</id></dr>`,
    );
    expect(await runChecks(delivery.id)).toBe(1);
    const delivered = await smsDeliveryOf(userId);
    expect(delivered).toMatchObject({
      status: 'delivered',
      failed_at: null,
      external_response: {
        check: 3,
        state: 'delivered',
        status: 0,
        report: 3,
        received_at: '20261208091502',
      },
    });
    expect(delivered.delivered_at).not.toBeNull();
    expect(await queuedChecks(delivery.id)).toEqual([]);
  });

  it('moves a message the operator did not deliver to failed, and asks no more', async () => {
    reportsFor.set('996555810002', [{ report: 4 }]);
    const userId = await textedSignIn('+996555810002');
    const { id } = await smsDeliveryOf(userId);
    expect(await runChecks(id)).toBe(1);
    const failed = await smsDeliveryOf(userId);
    expect(failed).toMatchObject({ status: 'failed', delivered_at: null, external_response: { report: 4 } });
    expect(failed.failed_at).not.toBeNull();
    expect(await queuedChecks(id)).toEqual([]);
  });

  it('asks again after a 503 or "no report yet", and gives up past the report window with the SMS still sent', async () => {
    reportsFor.set('996555810003', ['http-503', { status: 4 }, { report: 1 }]);
    const userId = await textedSignIn('+996555810003');
    const { id } = await smsDeliveryOf(userId);
    expect(await runChecks(id)).toBe(1);
    expect((await smsDeliveryOf(userId)).external_response).toMatchObject({
      check: 1,
      state: 'pending',
      kind: 'retryable',
      status: 503,
    });
    expect(await runChecks(id)).toBe(1);
    expect((await smsDeliveryOf(userId)).external_response).toMatchObject({
      check: 2,
      state: 'pending',
      status: 4,
    });
    await t.database.sql.query(`update notification_deliveries set sent_at = $2 where id = $1`, [
      id,
      new Date(Date.now() - REPORT_WINDOW_MS),
    ]);
    expect(await runChecks(id)).toBe(1);
    expect(await queuedChecks(id)).toEqual([]);
    expect(await smsDeliveryOf(userId)).toMatchObject({
      status: 'sent',
      external_response: { check: 3, state: 'pending', gave_up: true, report: 1 },
    });
  });
});
