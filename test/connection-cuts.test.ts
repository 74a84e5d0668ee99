import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabaseUrl } from './helper.ts';
import { freePort, killStarted, type Started, startMain, waitForStatus } from './processes.ts';

/**
 * The database ends the connections of a running API or worker (a failover, `pg_terminate_backend`) while
 * writes are in flight. Only the backends of the processes started here are terminated: each connects with
 * an `application_name` of its own, on a database of its own; the shared server is never restarted.
 */
const onPostgres = Boolean(process.env.DATABASE_URL);
const dataDirs: string[] = [];
let admin: pg.Client;

beforeAll(async () => {
  if (!onPostgres) return;
  admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
});
afterAll(async () => {
  killStarted();
  await admin?.end();
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

function withApplicationName(url: string, name: string) {
  const parsed = new URL(url);
  parsed.searchParams.set('application_name', name);
  return parsed.toString();
}

/** Terminates every backend of `applicationName`; how many there were. */
async function terminate(applicationName: string): Promise<number> {
  const { rows } = await admin.query(
    'select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid()',
    [applicationName],
  );
  return rows.length;
}

/** Resolves once `condition` holds, polling; fails after `timeoutMs` with `what`. */
async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Answer {
  status: number;
  type: string;
  retryAfter: string | null;
  code?: string;
  detail?: string;
  orderId?: string;
}

/**
 * Clients creating published orders, `concurrency` at a time, each as its own user, until `stop()`. Every
 * answer is kept; a request that gets no answer at all is recorded as status 0.
 */
async function orderLoad(base: string, concurrency: number) {
  const json = { 'content-type': 'application/json' };
  const [categories, areas] = await Promise.all([
    fetch(`${base}/api/v1/categories`).then((r) => r.json()),
    fetch(`${base}/api/v1/service-areas`).then((r) => r.json()),
  ]);
  const subcategoryId = categories.data[0].subcategories[0].id as string;
  const areaId = areas.data[0].id as string;
  const tokens: string[] = [];
  for (let i = 0; i < concurrency; i++) {
    const res = await fetch(`${base}/api/v1/auth/register`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({
        email: `cut${i}.${randomBytes(4).toString('hex')}@example.kg`,
        password: 'correct horse battery staple',
        full_name: `Client ${i}`,
      }),
    });
    expect(res.status).toBe(201);
    tokens.push(((await res.json()) as { access_token: string }).access_token);
  }
  const answers: Answer[] = [];
  let running = true;
  const loop = async (token: string) => {
    while (running) {
      try {
        const res = await fetch(`${base}/api/v1/orders`, {
          method: 'POST',
          signal: AbortSignal.timeout(15_000),
          headers: { ...json, authorization: `Bearer ${token}` },
          body: JSON.stringify({
            subcategory_id: subcategoryId,
            service_area_id: areaId,
            title: 'Fix the kitchen sink',
            description: 'The sink leaks under the cabinet',
            address: 'Bishkek, Chui 1',
            publish: true,
          }),
        });
        const body = (await res.json()) as { id?: string; code?: string; detail?: string };
        answers.push({
          status: res.status,
          type: res.headers.get('content-type') ?? '',
          retryAfter: res.headers.get('retry-after'),
          code: body.code,
          detail: body.detail,
          orderId: res.status === 201 ? body.id : undefined,
        });
      } catch (error) {
        answers.push({ status: 0, type: '', retryAfter: null, detail: String(error) });
      }
    }
  };
  const loops = tokens.map(loop);
  return {
    answers,
    created: () => answers.filter((a) => a.status === 201).length,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

function expectOnlyCreatedOrUnavailable(answers: Answer[]) {
  const failures = answers.filter((a) => a.status !== 201);
  for (const failure of failures) {
    expect(failure).toMatchObject({
      status: 503,
      type: expect.stringMatching(/^application\/problem\+json/),
      retryAfter: expect.stringMatching(/^\d+$/),
      code: 'database_unavailable',
    });
  }
  return failures.length;
}

async function ordersMissing(url: string, ids: string[]) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string }>('select id from orders where id = any($1::uuid[])', [
      ids,
    ]);
    const found = new Set(rows.map((r) => r.id));
    return ids.filter((id) => !found.has(id));
  } finally {
    await client.end();
  }
}

function newDataDir() {
  const dir = mkdtempSync(join(tmpdir(), 'kg-cuts-'));
  dataDirs.push(dir);
  return dir;
}

async function startApi(url: string, extra: NodeJS.ProcessEnv = {}) {
  const dataDir = newDataDir();
  const port = await freePort();
  const api = startMain('serve', {
    DATABASE_URL: url,
    DATA_DIR: dataDir,
    PORT: String(port),
    RUN_WORKER: 'false',
    LOG_LEVEL: 'warn',
    AUTH_RATE_LIMIT_PER_MINUTE: '1000',
    ...extra,
  });
  const base = `http://127.0.0.1:${port}`;
  await waitForStatus(`${base}/health/ready`);
  return { api, base };
}

const alive = (process: Started) => process.child.exitCode === null && process.child.signalCode === null;

describe.skipIf(!onPostgres)(
  'connections cut under load (PostgreSQL only: PGlite has no connections to cut)',
  () => {
    it('the API stays up, answers 503 database_unavailable meanwhile, serves again after each cut, and loses no acknowledged write', async () => {
      const name = `kg_cut_api_${randomBytes(4).toString('hex')}`;
      const url = withApplicationName(await createTestDatabaseUrl(), name);
      // A small pool, so that connections lost for good (a client never given back) would soon leave none.
      const { api, base } = await startApi(url, { DATABASE_POOL_SIZE: '5' });
      const load = await orderLoad(base, 12);

      for (let cut = 0; cut < 8; cut++) {
        // Cut while writes are in flight, then wait for the API to write again before the next cut.
        const before = load.created();
        await until(() => load.created() >= before + 5, `orders created before cut ${cut}`);
        expect(await terminate(name)).toBeGreaterThan(0);
      }
      // Then a flapping failover: cuts 10 ms apart for about a second, many landing on a statement that
      // just started, a BEGIN among them.
      for (let cut = 0; cut < 100; cut++) {
        await terminate(name);
        await new Promise((r) => setTimeout(r, 10));
      }
      const afterCuts = load.created();
      await until(() => load.created() >= afterCuts + 20, 'orders created after the last cut');
      await load.stop();

      expect(alive(api), api.output()).toBe(true);
      expect((await fetch(`${base}/health/ready`)).status).toBe(200);
      const unavailable = expectOnlyCreatedOrUnavailable(load.answers);
      const created = load.answers.flatMap((a) => (a.orderId ? [a.orderId] : []));
      expect(created.length).toBeGreaterThan(40);
      expect(await ordersMissing(url, created)).toEqual([]);
      expect(api.output()).not.toContain('stopping after an error');
      // Some writes were in flight at a cut; the count varies with timing, so it is only shown.
      console.info(`${created.length} orders created, ${unavailable} answers 503 across 108 cuts`);
    }, 240_000);

    it('a worker survives its backends being terminated, also while it completes a job, and keeps working jobs', async () => {
      const suffix = randomBytes(4).toString('hex');
      const apiName = `kg_cut_api_${suffix}`;
      const workerName = `kg_cut_worker_${suffix}`;
      const dbUrl = await createTestDatabaseUrl();
      const db = new pg.Client({ connectionString: dbUrl });
      await db.connect();
      try {
        // pg-boss completes a job with a statement it does not await: slowing that statement down makes the cuts
        // below land while it runs, every time, rather than by luck.
        await db.query(`
        create function slow_job_completion() returns trigger language plpgsql as
          $$ begin perform pg_sleep(0.2); return new; end $$;
        create trigger slow_job_completion before update on pgboss.job for each row
          when (old.state = 'active' and new.state = 'completed') execute function slow_job_completion();`);
        const { base } = await startApi(withApplicationName(dbUrl, apiName));
        const worker = startMain('worker', {
          DATABASE_URL: withApplicationName(dbUrl, workerName),
          DATA_DIR: newDataDir(),
          // Its health and metrics: a port of its own, not the default another process may hold.
          WORKER_PORT: String(await freePort()),
          LOG_LEVEL: 'info',
        });
        await worker.line(/worker started/);
        const load = await orderLoad(base, 4);
        const completed = async () =>
          (
            await db.query<{ n: number }>(
              "select count(*)::int n from pgboss.job where name like '%.on.%' and state = 'completed'",
            )
          ).rows[0]!.n;
        await until(async () => (await completed()) >= 1, 'the worker completing a first job');

        // Cut until one cut has landed while a job was being completed (the worker says so), within a bound:
        // with a queue per subscriber, completions come a few seconds apart.
        let terminated = 0;
        for (let cut = 0; cut < 1_500 && (cut < 150 || !worker.output().includes('nobody awaited')); cut++) {
          terminated += await terminate(workerName);
          await new Promise((r) => setTimeout(r, 20));
        }
        expect(alive(worker), worker.output()).toBe(true);
        expect(terminated).toBeGreaterThan(10);
        const afterCuts = await completed();
        await until(
          async () => (await completed()) >= afterCuts + 2,
          'jobs completed after the cuts',
          30_000,
        );
        await load.stop();

        expect(alive(worker)).toBe(true);
        expect(worker.output()).not.toContain('stopping after an error');
        // The cuts did land while a job was being completed.
        expect(worker.output()).toContain('nobody awaited');
      } finally {
        await db.end();
      }
    }, 240_000);
  },
);
