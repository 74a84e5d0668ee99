import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabaseUrl } from './helper.ts';
import { bishkekDate } from './order-fixtures.ts';
import { callJson, freePort, killStarted, startMain, waitForStatus } from './processes.ts';

/**
 * Idempotency keys across a crash: the server is killed (SIGKILL) during a burst of keyed order creations and
 * started again on the same data; every request is then retried with its key. Each must end in exactly one
 * order and a 2xx: the committed ones replay their first answer, the rest run as new.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'kg-crash-'));
afterAll(() => {
  killStarted();
  rmSync(dataDir, { recursive: true, force: true });
});

const REQUESTS = 60;
const CONCURRENCY = 12;
const CLIENTS = 3;

describe('Idempotency-Key when the server is killed mid-burst', () => {
  it('leaves no key stuck: every retry ends in one order and a 2xx', async () => {
    const port = await freePort();
    const env = {
      DATA_DIR: dataDir,
      PORT: String(port),
      ...(process.env.DATABASE_URL && { DATABASE_URL: await createTestDatabaseUrl() }),
      LOG_LEVEL: 'warn',
      JWT_SECRET: 'crash-test-secret-that-is-long-enough-for-hs256',
    };
    const base = `http://127.0.0.1:${port}`;
    const call = (method: string, path: string, options?: Parameters<typeof callJson>[3]) =>
      callJson(base, method, path, options);
    const first = startMain('serve', env);
    await waitForStatus(`${base}/health/ready`);

    // Three clients, so no one reaches the drafts a client may keep (max_drafts_per_client, 20).
    const tokens: string[] = [];
    for (let c = 0; c < CLIENTS; c++) {
      const registered = await call('POST', '/api/v1/auth/register', {
        body: {
          email: `crash.${c}.${Date.now()}@example.kg`,
          password: 'correct horse battery',
          full_name: 'Айгуль',
        },
      });
      expect(registered.status).toBe(201);
      const token = registered.body.access_token as string;
      expect((await call('POST', '/api/v1/me/client-profile', { token, body: {} })).status).toBe(201);
      tokens.push(token);
    }
    const categories = await call('GET', '/api/v1/categories');
    const subcategoryId = categories.body.data
      .flatMap((c: { subcategories: { id: string; slug: string }[] }) => c.subcategories)
      .find((s: { slug: string }) => s.slug === 'plumbing').id as string;
    const areas = await call('GET', '/api/v1/service-areas');
    const areaId = areas.body.data.find((a: { slug: string }) => a.slug === 'bishkek').id as string;

    const requests = Array.from({ length: REQUESTS }, (_, i) => ({
      key: `crash-order-${i}-${Date.now()}`,
      body: {
        subcategory_id: subcategoryId,
        title: `Заказ номер ${i}`,
        description: 'Нужно заменить смеситель на кухне',
        service_area_id: areaId,
        address: 'ул. Киевская 77',
        service_date: bishkekDate(3),
      },
    }));
    const create = (i: number) =>
      call('POST', '/api/v1/orders', {
        token: tokens[i % CLIENTS],
        body: requests[i]!.body,
        headers: { 'idempotency-key': requests[i]!.key },
      });

    // The burst: CONCURRENCY requests at a time; the server is killed once a fifth of them are answered.
    const acknowledged = new Map<number, string>();
    let next = 0;
    let killed = false;
    const worker = async () => {
      while (next < REQUESTS && !killed) {
        const i = next++;
        try {
          const res = await create(i);
          if (res.status === 201) acknowledged.set(i, res.body.id);
          if (acknowledged.size >= REQUESTS / 5 && !killed) {
            killed = true;
            first.child.kill('SIGKILL');
          }
        } catch {
          // the connection died with the server
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await first.exited;
    expect(acknowledged.size).toBeGreaterThanOrEqual(REQUESTS / 5);
    expect(acknowledged.size).toBeLessThan(REQUESTS);

    const second = startMain('serve', env);
    await waitForStatus(`${base}/health/ready`);
    const retried = await Promise.all(requests.map((_, i) => create(i)));
    for (const [i, res] of retried.entries()) {
      expect(res.status, `request ${i}: ${JSON.stringify(res.body)}`).toBe(201);
      // What was acknowledged before the crash is replayed as it was.
      if (acknowledged.has(i)) {
        expect(res.headers.get('idempotent-replayed')).toBe('true');
        expect(res.body.id).toBe(acknowledged.get(i));
      }
    }
    const ids = new Set(retried.map((res) => res.body.id as string));
    expect(ids.size).toBe(REQUESTS);

    // Exactly one order per request, and no other.
    const made: string[] = [];
    for (const token of tokens) {
      let cursor: string | null = null;
      do {
        const page = await call('GET', `/api/v1/me/orders?limit=100${cursor ? `&cursor=${cursor}` : ''}`, {
          token,
        });
        expect(page.status).toBe(200);
        made.push(...page.body.data.map((o: { id: string }) => o.id));
        cursor = page.body.next_cursor;
      } while (cursor);
    }
    expect(made.sort()).toEqual([...ids].sort());

    second.child.kill('SIGTERM');
    await second.exited;
  }, 240_000);
});
