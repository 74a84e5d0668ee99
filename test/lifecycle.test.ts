import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  callJson,
  freePort,
  killStarted,
  PROCESS_TEST_TIMEOUT,
  startMain,
  waitForStatus,
} from './processes.ts';

/** The service as an operator runs it: `tsx src/main.ts serve` on the embedded database in a fresh DATA_DIR. */
const dataDir = mkdtempSync(join(tmpdir(), 'kg-lifecycle-'));

afterAll(() => {
  killStarted();
  rmSync(dataDir, { recursive: true, force: true });
});

const start = (command: string, port: number) =>
  startMain(command, { DATA_DIR: dataDir, PORT: String(port) });
const waitReady = (port: number) => waitForStatus(`http://127.0.0.1:${port}/health/ready`);

describe.skipIf(process.env.DATABASE_URL)('running the service on the embedded database', () => {
  it(
    'starts on a fresh data dir, guards it with a lock, and stops cleanly on SIGTERM',
    async () => {
      const port = await freePort();
      const server = start('serve', port);
      await waitReady(port);

      const categories = await fetch(`http://127.0.0.1:${port}/api/v1/categories`);
      expect(categories.status).toBe(200);
      expect(((await categories.json()) as { data: unknown[] }).data.length).toBe(8);

      // A second process on the same data directory must refuse, naming the lock, and leave the first running.
      const second = start('migrate', await freePort());
      expect(await second.exited).toBe(1);
      expect(second.output()).toContain('pgdata.lock');
      expect(second.output().trim().split('\n')).toHaveLength(1);
      expect((await fetch(`http://127.0.0.1:${port}/health/live`)).status).toBe(200);

      // Written before the stop, to be read after the restart.
      const account = {
        email: `restart.${Date.now()}@example.kg`,
        password: 'a password kept across restarts',
      };
      const registered = await callJson(`http://127.0.0.1:${port}`, 'POST', '/api/v1/auth/register', {
        body: { ...account, full_name: 'Перезапуск Тестов' },
      });
      expect(registered.status, JSON.stringify(registered.body)).toBe(201);

      const inFlight = fetch(`http://127.0.0.1:${port}/api/v1/service-areas`);
      server.child.kill('SIGTERM');
      expect((await inFlight).status).toBe(200);
      expect(await server.exited).toBe(0);
      expect(server.output()).toContain('stopping');

      // Restarting on the same data keeps the data and takes the lock again.
      const again = start('serve', port);
      await waitReady(port);
      const login = await callJson(`http://127.0.0.1:${port}`, 'POST', '/api/v1/auth/login', {
        body: account,
      });
      expect(login.status, JSON.stringify(login.body)).toBe(200);
      expect(login.body.user).toMatchObject({ id: registered.body.user.id, full_name: 'Перезапуск Тестов' });
      again.child.kill('SIGTERM');
      expect(await again.exited).toBe(0);
    },
    PROCESS_TEST_TIMEOUT,
  );
});
