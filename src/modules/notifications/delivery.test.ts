import type { AddressInfo, Socket } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, deliverQueuedEvents, type TestApp, testConfig } from '../../../test/helper.ts';
import { orderFixtures } from '../../../test/order-fixtures.ts';
import { MAX_ATTEMPTS, retryDelayMs } from './delivery.ts';

/**
 * A real SMTP server: what it answers each recipient is up to the test, and whether it cuts the connection
 * once it has taken a message, before it answers: the mail is in, and the sender never hears so.
 */
const received: { to: string; raw: string }[] = [];
let answer: { code: number; message: string } | null = null;
let cutAfterData = false;
const smtp: SMTPServer = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onRcptTo(_address, _session, callback) {
    if (!answer) return callback();
    const refusal = Object.assign(new Error(answer.message), { responseCode: answer.code });
    return callback(refusal);
  },
  onData(stream, session, callback) {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      received.push({
        to: session.envelope.rcptTo.map((r) => r.address).join(','),
        raw: Buffer.concat(chunks).toString('utf8'),
      });
      if (!cutAfterData) return callback();
      cutAfterData = false;
      const connection = [...smtp.connections].find((c) => c.id === session.id);
      (connection as unknown as { _socket: Socket })._socket.destroy();
    });
  },
});

let t: TestApp;
beforeAll(async () => {
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const { port } = smtp.server.address() as AddressInfo;
  t = await createTestApp({ config: testConfig({ SMTP_URL: `smtp://127.0.0.1:${port}` }) });
});
afterAll(async () => {
  await t.close();
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
});

const k = orderFixtures(() => t);
const runDeliveries = () => t.app.services.jobs.runQueued(['notifications.deliver']);

/** An accepted bid: the provider's mail is queued. The provider. */
async function acceptedBid(title: string) {
  const client = await k.client();
  const provider = await k.provider('Бакыт');
  const orderId = (await k.newOrder(client, { title, publish: true })).id;
  await k.agree(orderId, client, provider, { amount: 250_000 });
  await deliverQueuedEvents(t.app, 'notifications', ['bid_accepted']);
  return provider;
}

async function emailDeliveryOf(userId: string) {
  const { rows } = await t.database.sql.query(
    `select id, status, attempts, next_attempt_at, sent_at, failed_at, provider_message_id, external_response
     from notification_deliveries where user_id = $1 and channel = 'email'`,
    [userId],
  );
  expect(rows).toHaveLength(1);
  return rows[0] as {
    id: string;
    status: string;
    attempts: number;
    next_attempt_at: Date | null;
    sent_at: Date | null;
    failed_at: Date | null;
    provider_message_id: string | null;
    external_response: Record<string, unknown>;
  };
}

async function attemptsLogged(deliveryId: string) {
  const { rows } = await t.database.sql.query(
    `select details, performance_metrics from notification_logs where delivery_id = $1 and action = 'attempt' order by id`,
    [deliveryId],
  );
  return rows as { details: { outcome: string }; performance_metrics: { duration_ms: number } }[];
}

const queuedRetries = async (deliveryId: string) =>
  (
    await t.database.sql.query(
      `select start_after, priority from pgboss.job where name = 'notifications.deliver' and data->>'delivery_id' = $1 and state = 'created'`,
      [deliveryId],
    )
  ).rows as { start_after: Date; priority: number }[];

describe('email deliveries', () => {
  it('send the mail through SMTP with a text and an HTML part, and record it sent', async () => {
    answer = null;
    const provider = await acceptedBid('Покрасить забор');
    expect(await runDeliveries()).toBe(1);
    const mail = received.find((m) => m.to === provider.email);
    expect(mail).toBeDefined();
    const parsed = await simpleParser(mail!.raw);
    expect(parsed.subject).toBe('Ваше предложение принято');
    expect(parsed.text).toContain(
      'Клиент принял ваше предложение 2\u00a0500\u00a0сом по заказу «Покрасить забор».',
    );
    expect(parsed.html).toContain('<p>Клиент принял ваше предложение');
    expect(parsed.headers.has('list-unsubscribe')).toBe(false);
    const delivery = await emailDeliveryOf(provider.user.id);
    expect(delivery).toMatchObject({ status: 'sent', attempts: 1, next_attempt_at: null });
    expect(delivery.provider_message_id).toBe(`<${delivery.id}@notifications.kg-job-portal>`);
    const [logged] = await attemptsLogged(delivery.id);
    expect(logged!.details.outcome).toBe('sent');
    expect(logged!.performance_metrics.duration_ms).toBeGreaterThanOrEqual(0);
    // Run again, the job finds nothing left to send.
    expect(await runDeliveries()).toBe(0);
  });

  it('try again later after a temporary refusal, with backoff, and then send', async () => {
    answer = { code: 451, message: 'try again later' };
    const provider = await acceptedBid('Вымыть окна');
    const before = Date.now();
    await runDeliveries();
    const delivery = await emailDeliveryOf(provider.user.id);
    expect(delivery).toMatchObject({ status: 'pending', attempts: 1, failed_at: null });
    const wait = delivery.next_attempt_at!.getTime() - before;
    expect(wait).toBeGreaterThanOrEqual(11_000);
    expect(wait).toBeLessThanOrEqual(19_000);
    const [retry] = await queuedRetries(delivery.id);
    expect(Math.abs(retry!.start_after.getTime() - delivery.next_attempt_at!.getTime())).toBeLessThan(1000);
    expect(retry!.priority).toBe(2);
    // Not before it is due.
    expect(await runDeliveries()).toBe(0);

    answer = null;
    // pg-boss takes a job whose start_after is before now(); PGlite's clock counts milliseconds, so a
    // start_after of now() may still equal now() when the fetch runs within the same one.
    await t.database.sql.query(
      `update pgboss.job set start_after = now() - interval '1 second' where name = 'notifications.deliver' and data->>'delivery_id' = $1`,
      [delivery.id],
    );
    expect(await runDeliveries()).toBe(1);
    expect(await emailDeliveryOf(provider.user.id)).toMatchObject({ status: 'sent', attempts: 2 });
    expect((await attemptsLogged(delivery.id)).map((l) => l.details.outcome)).toEqual(['pending', 'sent']);
  });

  it('send again with the same Message-ID when the answer to a mail the server took was lost, one inbox item', async () => {
    answer = null;
    cutAfterData = true;
    const provider = await acceptedBid('Перекрыть крышу');
    await runDeliveries();
    const delivery = await emailDeliveryOf(provider.user.id);
    expect(delivery).toMatchObject({ status: 'pending', attempts: 1, sent_at: null });
    expect(delivery.external_response).toMatchObject({ kind: 'retryable' });
    await t.database.sql.query(
      `update pgboss.job set start_after = now() - interval '1 second' where name = 'notifications.deliver' and data->>'delivery_id' = $1`,
      [delivery.id],
    );
    expect(await runDeliveries()).toBe(1);
    expect(await emailDeliveryOf(provider.user.id)).toMatchObject({ status: 'sent', attempts: 2 });
    // The server has the mail twice, under one Message-ID: a receiver drops the second as the same message.
    const copies = await Promise.all(
      received.filter((m) => m.to === provider.email).map((m) => simpleParser(m.raw)),
    );
    expect(copies.map((c) => c.messageId)).toEqual([
      `<${delivery.id}@notifications.kg-job-portal>`,
      `<${delivery.id}@notifications.kg-job-portal>`,
    ]);
    expect(copies[0]!.text).toBe(copies[1]!.text);
    const inbox = await k.call('GET', '/api/v1/me/notifications', provider.auth);
    expect(inbox.body.data.filter((n: { type: string }) => n.type === 'bid_accepted')).toHaveLength(1);
  });

  it('do not try again when the recipient is refused: a bounce', async () => {
    answer = { code: 550, message: 'no such mailbox' };
    const provider = await acceptedBid('Собрать шкаф');
    await runDeliveries();
    const delivery = await emailDeliveryOf(provider.user.id);
    expect(delivery).toMatchObject({ status: 'bounced', attempts: 1, next_attempt_at: null });
    expect(delivery.failed_at).not.toBeNull();
    expect(delivery.external_response).toMatchObject({ kind: 'bounced', response_code: 550 });
    expect(await queuedRetries(delivery.id)).toEqual([]);
  });
});

describe('the retry schedule', () => {
  it('doubles with jitter, honours Retry-After, and spends about half an hour on its attempts', () => {
    expect(retryDelayMs(1, undefined, () => 0)).toBe(12_000);
    expect(retryDelayMs(1, undefined, () => 1)).toBe(18_000);
    expect(retryDelayMs(3, undefined, () => 0.5)).toBe(60_000);
    expect(retryDelayMs(1, 120_000, () => 1)).toBe(120_000);
    expect(retryDelayMs(1, 10 * 3_600_000)).toBe(3_600_000);
    const waits = (random: () => number) =>
      Array.from({ length: MAX_ATTEMPTS - 1 }, (_, i) => retryDelayMs(i + 1, undefined, random)).reduce(
        (a, b) => a + b,
      );
    expect(waits(() => 0) / 60_000).toBeCloseTo(25.4, 1);
    expect(waits(() => 0.5) / 60_000).toBeCloseTo(31.75, 1);
    expect(waits(() => 1) / 60_000).toBeCloseTo(38.1, 1);
  });
});
