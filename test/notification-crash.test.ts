import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabaseUrl } from './helper.ts';
import {
  callJson,
  freePort,
  killStarted,
  PROCESS_TEST_TIMEOUT,
  startMain,
  waitForStatus,
} from './processes.ts';

/**
 * A worker killed (SIGKILL) while it waits on the mail server with a notification's mail: the server has the
 * mail, the worker never hears so, and nothing of the attempt is recorded. Started again, the delivery is
 * tried again and sent, under the same Message-ID, and the person has the notification once in their inbox.
 * On PostgreSQL, where the test can stand in for the time that passes between the crash and the retry.
 */
const onPostgres = Boolean(process.env.DATABASE_URL);
const dataDir = mkdtempSync(join(tmpdir(), 'kg-notify-crash-'));

/** The mail server holds its answer to the first mail: the worker is killed while it waits for it. */
const mails: string[] = [];
let holding = true;
let firstMail: () => void;
const firstMailArrived = new Promise<void>((resolve) => {
  firstMail = resolve;
});
const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onData(stream, _session, callback) {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      mails.push(Buffer.concat(chunks).toString('utf8'));
      if (!holding) return callback();
      holding = false;
      firstMail();
    });
  },
});

beforeAll(() => new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve)));
afterAll(async () => {
  killStarted();
  rmSync(dataDir, { recursive: true, force: true });
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
});

describe.skipIf(!onPostgres)('a notification’s mail when the worker is killed mid-send', () => {
  it(
    'is sent again after the restart, once in the inbox, under one Message-ID',
    async () => {
      const port = await freePort();
      const databaseUrl = await createTestDatabaseUrl();
      const env = {
        DATA_DIR: dataDir,
        PORT: String(port),
        DATABASE_URL: databaseUrl,
        RUN_WORKER: 'true',
        SMTP_URL: `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`,
        LOG_LEVEL: 'warn',
        JWT_SECRET: 'notify-crash-secret-that-is-long-enough-for-hs256',
      };
      const base = `http://127.0.0.1:${port}`;
      const call = (method: string, path: string, options?: Parameters<typeof callJson>[3]) =>
        callJson(base, method, path, options);
      const first = startMain('serve', env);
      await waitForStatus(`${base}/health/ready`);

      // Signed up on one device, then signed in on another: a new-device notice, in the inbox and by mail.
      const email = `crash.notify.${Date.now()}@example.kg`;
      const password = 'correct horse battery';
      const registered = await call('POST', '/api/v1/auth/register', {
        body: { email, password, full_name: 'Айгуль', device_name: 'Phone' },
      });
      expect(registered.status).toBe(201);
      const signedIn = await call('POST', '/api/v1/auth/login', {
        body: { email, password, device_name: 'Laptop' },
        headers: { 'user-agent': 'KG/1.0 (Laptop)' },
      });
      expect(signedIn.status).toBe(200);
      const token = signedIn.body.access_token as string;

      await firstMailArrived;
      first.child.kill('SIGKILL');
      await first.exited;

      const admin = new pg.Client({ connectionString: databaseUrl });
      await admin.connect();
      try {
        const { rows: before } = await admin.query(
          `select id, status, attempts, locked_until from notification_deliveries where channel = 'email'`,
        );
        expect(before).toHaveLength(1);
        expect(before[0]).toMatchObject({ status: 'pending', attempts: 0 });
        expect(before[0].locked_until).not.toBeNull();
        // The time a dead worker's attempt takes to come back: its lease runs out, and pg-boss, past the
        // job's expiry, fails it into a retry. Both are made due now instead of in minutes.
        await admin.query(`update notification_deliveries set locked_until = now() - interval '1 second'`);
        const expired = await admin.query(
          `update pgboss.job set state = 'retry', start_after = now() - interval '1 second', retry_count = retry_count + 1
           where name = 'notifications.deliver' and state = 'active'`,
        );
        expect(expired.rowCount).toBe(1);

        const second = startMain('serve', env);
        await waitForStatus(`${base}/health/ready`);
        const deadline = Date.now() + 60_000;
        let delivery: { status: string; attempts: number; id: string } | undefined;
        while (Date.now() < deadline) {
          const { rows } = await admin.query(
            `select id, status, attempts from notification_deliveries where channel = 'email'`,
          );
          delivery = rows[0];
          if (delivery?.status === 'sent') break;
          await new Promise((r) => setTimeout(r, 200));
        }
        expect(delivery).toMatchObject({ status: 'sent', attempts: 1 });

        // The mail server took it twice, as one message; the inbox has it once.
        const copies = await Promise.all(mails.map((m) => simpleParser(m)));
        expect(copies.map((c) => c.messageId)).toEqual([
          `<${delivery!.id}@notifications.kg-job-portal>`,
          `<${delivery!.id}@notifications.kg-job-portal>`,
        ]);
        const inbox = await call('GET', '/api/v1/me/notifications', { token });
        expect(inbox.status).toBe(200);
        expect(inbox.body.data.map((n: { type: string }) => n.type)).toEqual(['new_sign_in']);

        second.child.kill('SIGTERM');
        await second.exited;
      } finally {
        await admin.end();
      }
    },
    PROCESS_TEST_TIMEOUT,
  );
});
