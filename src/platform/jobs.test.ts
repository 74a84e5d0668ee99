import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { withDatabase } from '../../test/global-setup.ts';
import { createTestDatabase, sleep, until } from '../../test/helper.ts';
import { type Database, openPglite, openPostgres } from './db.ts';
import { createJobs, defineJob, type Jobs, PLATFORM_TIME_ZONE } from './jobs.ts';
import { migrateDatabase } from './migrate.ts';

/** pg-boss on the app's own database: jobs commit with the change that causes them, retry, fail, run on a cron and survive a restart. */
const log = pino({ level: 'silent' });
let database: Database;
const running: Jobs[] = [];
let sequence = 0;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterEach(async () => {
  for (const jobs of running.splice(0)) await jobs.stop(2_000);
});
afterAll(() => database.close());

/** A queue name no other test uses: every test has its own kind of job. */
const jobName = (what: string) => `test.${what}-${++sequence}-${randomBytes(3).toString('hex')}`;

function jobsOn(on: Database, work = true) {
  const jobs = createJobs({
    database: on,
    log,
    work,
    pollingIntervalSeconds: 0.5,
    cronMonitorIntervalSeconds: 1,
  });
  running.push(jobs);
  return jobs;
}

class Rollback extends Error {}

describe('enqueueing in a transaction', () => {
  it('runs a job once the transaction that enqueued it commits, and not before', async () => {
    const name = jobName('commit');
    const seen: string[] = [];
    const job = defineJob<{ orderId: string }>({
      name,
      async handle(data) {
        seen.push(data.orderId);
      },
    });
    const jobs = jobsOn(database);
    jobs.register(job);
    await jobs.start();

    const id = await database.db.transaction(async (tx) => {
      const id = await jobs.enqueue(tx, job, { orderId: 'order-1' });
      // Three polling rounds while the transaction is still open: the worker must not see the job.
      await sleep(1_500);
      expect(seen).toEqual([]);
      return id;
    });

    expect(id).toEqual(expect.any(String));
    await until(() => seen.length === 1);
    expect(seen).toEqual(['order-1']);
    await until(async () => (await jobs.boss.getJobById(name, id!))?.state === 'completed');
  });

  it('enqueues nothing when the transaction rolls back, and the job never runs', async () => {
    const name = jobName('rollback');
    let runs = 0;
    const job = defineJob<{ orderId: string }>({
      name,
      async handle() {
        runs++;
      },
    });
    const jobs = jobsOn(database);
    jobs.register(job);
    await jobs.start();

    let id: string | null = null;
    await expect(
      database.db.transaction(async (tx) => {
        id = await jobs.enqueue(tx, job, { orderId: 'order-2' });
        throw new Rollback('the change failed after the job was enqueued');
      }),
    ).rejects.toBeInstanceOf(Rollback);

    expect(id).toEqual(expect.any(String));
    expect(await jobs.boss.getJobById(name, id!, { includeArchive: true })).toBeNull();
    expect(await jobs.boss.getQueueSize(name)).toBe(0);
    await sleep(1_500);
    expect(runs).toBe(0);
  });

  it('a job enqueued by SQL in a statement is the job send makes, with the queue’s settings', async () => {
    const jobs = jobsOn(database, false);
    const kinds = [
      defineJob<{ n: number }>({
        name: jobName('sql-backoff'),
        retryLimit: 3,
        retryDelaySeconds: 7,
        expireInSeconds: 120,
        async handle() {},
      }),
      defineJob<{ n: number }>({ name: jobName('sql-plain'), retryBackoff: false, async handle() {} }),
    ];
    jobs.register(...kinds);
    await jobs.start();

    for (const job of kinds) {
      await jobs.enqueue(database.db, job, { n: 1 });
      await database.db.execute(
        jobs.enqueueSql(
          [job.name],
          sql`select ${job.name}, ${JSON.stringify({ n: 2 })}::jsonb union all select ${job.name}, '{"n": 3}'::jsonb`,
        ),
      );
      const { rows } = await database.sql.query(
        `select data, priority, state, retry_limit, retry_count, retry_delay, retry_backoff, singleton_key,
           singleton_on, expire_in::text, dead_letter, policy, (keep_until - start_after)::text as kept,
           start_after <= now() as due
         from pgboss.job where name = $1 order by data->>'n'`,
        [job.name],
      );
      const [sent, ...fromSql] = rows.map(({ data, ...job }) => ({
        data: typeof data === 'string' ? JSON.parse(data) : data,
        job,
      }));
      expect(fromSql.map((r) => r.data)).toEqual([{ n: 2 }, { n: 3 }]);
      for (const row of fromSql) expect(row.job).toEqual(sent!.job);
    }
    expect(() => jobs.enqueueSql([jobName('stray')], sql`select 'stray', '{}'::jsonb`)).toThrow(
      /unknown job/,
    );
  });

  it('refuses a job kind that was never registered', async () => {
    const jobs = jobsOn(database, false);
    const stray = defineJob({ name: jobName('stray'), async handle() {} });
    await expect(jobs.enqueue(database.db, stray, {})).rejects.toThrow(/unknown job/);
  });
});

describe('retries', () => {
  it('retries a failing job with a growing delay until it succeeds', async () => {
    const name = jobName('flaky');
    const runs: { retryCount: number; startedOn: Date; startAfter: Date }[] = [];
    const jobs = jobsOn(database);
    const job = defineJob<{ n: number }>({
      name,
      retryLimit: 3,
      retryDelaySeconds: 1,
      retryBackoff: true,
      async handle(_data, ctx) {
        const row = await jobs.boss.getJobById(name, ctx.jobId);
        runs.push({ retryCount: ctx.retryCount, startedOn: row!.startedOn, startAfter: row!.startAfter });
        if (ctx.retryCount < 2) throw new Error(`transient failure ${ctx.retryCount}`);
      },
    });
    jobs.register(job);
    await jobs.start();

    const id = await database.db.transaction((tx) => jobs.enqueue(tx, job, { n: 1 }));
    await until(async () => (await jobs.boss.getJobById(name, id!))?.state === 'completed', 20_000);

    expect(runs.map((r) => r.retryCount)).toEqual([0, 1, 2]);
    // A retry becomes due `delay` after the failure that caused it; the run before failed right after it
    // started, so each figure is the delay plus a few milliseconds of handler time.
    const delays = [1, 2].map(
      (i) => (runs[i]!.startAfter.getTime() - runs[i - 1]!.startedOn.getTime()) / 1000,
    );
    // pg-boss backoff: delay * 2^n * (1 + random()) after the n-th failure (n from 0): 1-2 s, then 2-4 s.
    expect(delays[0]).toBeGreaterThanOrEqual(1);
    expect(delays[0]).toBeLessThan(3);
    expect(delays[1]).toBeGreaterThanOrEqual(2);
    expect(delays[1]).toBeLessThan(5);
    expect(delays[1]).toBeGreaterThan(delays[0]!);
    console.info(`retry delays observed: ${delays.map((d) => `${d.toFixed(2)} s`).join(', ')}`);
  });

  it('leaves a job that keeps failing in state failed after its last retry, with the error kept', async () => {
    const name = jobName('doomed');
    const retryCounts: number[] = [];
    const job = defineJob<{ n: number }>({
      name,
      retryLimit: 1,
      retryDelaySeconds: 1,
      async handle(_data, ctx) {
        retryCounts.push(ctx.retryCount);
        throw new Error('the gateway is down');
      },
    });
    const jobs = jobsOn(database);
    jobs.register(job);
    await jobs.start();

    const id = await database.db.transaction((tx) => jobs.enqueue(tx, job, { n: 1 }));
    await until(async () => (await jobs.boss.getJobById(name, id!))?.state === 'failed', 20_000);

    const failed = await jobs.boss.getJobById(name, id!);
    expect(failed).toMatchObject({ state: 'failed', retryCount: 1, retryLimit: 1 });
    expect(JSON.stringify(failed!.output)).toContain('the gateway is down');
    // Failed for good: no further attempt.
    await sleep(2_500);
    expect(retryCounts).toEqual([0, 1]);
  });
});

describe('running queued jobs without a worker', () => {
  it('runs the due jobs of the kinds named, once each; a failing one is failed, its error thrown', async () => {
    const name = jobName('queued');
    const other = jobName('queued-other');
    const seen: number[] = [];
    const counted = defineJob<{ n: number }>({
      name,
      retryLimit: 1,
      async handle({ n }) {
        if (n === 3) throw new Error('three is refused');
        seen.push(n);
      },
    });
    const left = defineJob<Record<string, never>>({ name: other, async handle() {} });
    const jobs = jobsOn(database, false);
    jobs.register(counted, left);
    await jobs.start();
    for (const n of [1, 2]) await jobs.enqueue(database.db, counted, { n });
    await jobs.enqueue(database.db, left, {});

    expect(await jobs.runQueued([name])).toBe(2);
    expect(seen.sort()).toEqual([1, 2]);
    expect(await jobs.runQueued([name])).toBe(0);
    const state = (queue: string) =>
      database.sql.query('select state from pgboss.job where name = $1 order by created_on', [queue]);
    expect((await state(name)).rows.map((r) => r.state)).toEqual(['completed', 'completed']);
    // A kind not named stays queued for a worker.
    expect((await state(other)).rows.map((r) => r.state)).toEqual(['created']);

    await jobs.enqueue(database.db, counted, { n: 3 });
    await expect(jobs.runQueued([name])).rejects.toThrow('three is refused');
    expect((await state(name)).rows.map((r) => r.state)).toEqual(['completed', 'completed', 'retry']);
  });
});

describe('schedules', () => {
  it('schedules a cron job in the platform time zone on start and runs it', async () => {
    const name = jobName('cron');
    const ran: number[] = [];
    const job = defineJob<Record<string, never>>({
      name,
      cron: '* * * * *',
      async handle() {
        ran.push(Date.now());
      },
    });
    const jobs = jobsOn(database);
    jobs.register(job);
    const started = Date.now();
    await jobs.start();

    const schedules = await jobs.boss.getSchedules();
    expect(schedules.filter((s) => s.name === name)).toEqual([
      expect.objectContaining({ name, cron: '* * * * *', timezone: PLATFORM_TIME_ZONE }),
    ]);
    // pg-boss sends a cron job when its last due minute is less than a minute ago, so an every-minute
    // schedule fires on the first check after start; the wait covers a full minute to be safe.
    await until(() => ran.length > 0, 70_000);
    console.info(`cron job ran ${((ran[0]! - started) / 1000).toFixed(1)} s after start`);
    await jobs.stop();

    // Dropping `cron` from the definition drops the schedule on the next start.
    const again = jobsOn(database, false);
    again.register(defineJob({ name, async handle() {} }));
    await again.start();
    expect((await again.boss.getSchedules()).map((s) => s.name)).not.toContain(name);
    await again.stop();
  }, 90_000);

  it('drops, on a working start, the schedule of a job kind the code no longer has', async () => {
    const name = jobName('retired');
    const old = jobsOn(database, false);
    old.register(defineJob({ name, cron: '0 3 * * *', async handle() {} }));
    await old.start();
    expect((await old.boss.getSchedules()).map((s) => s.name)).toContain(name);
    await old.stop();

    const next = jobsOn(database);
    await next.start();
    expect((await next.boss.getSchedules()).map((s) => s.name)).not.toContain(name);
    await next.stop();
  });
});

describe('starting and stopping', () => {
  it('on a restart, writes a queue and a schedule only where the code changed them', async () => {
    const name = jobName('settings');
    const first = jobsOn(database, false);
    first.register(defineJob({ name, retryLimit: 3, cron: '0 3 * * *', async handle() {} }));
    await first.start();
    await first.stop();
    const queue = await first.boss.getQueue(name);
    const scheduled = (await first.boss.getSchedules()).find((s) => s.name === name);
    expect(queue).toMatchObject({ retryLimit: 3 });

    // The same code again: nothing written, so nothing is newer.
    const same = jobsOn(database, false);
    same.register(defineJob({ name, retryLimit: 3, cron: '0 3 * * *', async handle() {} }));
    await same.start();
    await same.stop();
    expect(await same.boss.getQueue(name)).toEqual(queue);
    expect((await same.boss.getSchedules()).find((s) => s.name === name)).toEqual(scheduled);

    // Another retry limit and another cron: both written.
    const changed = jobsOn(database, false);
    changed.register(defineJob({ name, retryLimit: 7, cron: '0 4 * * *', async handle() {} }));
    await changed.start();
    await changed.stop();
    expect(await changed.boss.getQueue(name)).toMatchObject({ retryLimit: 7 });
    expect((await changed.boss.getSchedules()).find((s) => s.name === name)).toMatchObject({
      cron: '0 4 * * *',
      timezone: PLATFORM_TIME_ZONE,
    });
  });

  it('stops the queue even when start() failed half way, so the process can exit', async () => {
    const jobs = jobsOn(database);
    jobs.register(defineJob({ name: jobName('bad-cron'), cron: 'every now and then', async handle() {} }));
    let stopped = false;
    jobs.boss.on('stopped', () => {
      stopped = true;
    });
    await expect(jobs.start()).rejects.toThrow();
    await jobs.stop(1_000);
    expect(stopped).toBe(true);
  });

  it('lets an API and a worker start at once on one database, and a job runs once', async () => {
    const name = jobName('shared');
    const runs: string[] = [];
    const job = defineJob<{ n: number }>({
      name,
      async handle(data) {
        runs.push(`run ${data.n}`);
      },
    });
    const first = jobsOn(database, true);
    const second = jobsOn(database, true);
    first.register(job);
    second.register(job);
    await Promise.all([first.start(), second.start()]);

    await database.db.transaction((tx) => first.enqueue(tx, job, { n: 1 }));
    await until(() => runs.length === 1);
    await sleep(1_500);
    expect(runs).toEqual(['run 1']);
  });
});

/** A database that can be closed and opened again, as a process restart does. */
async function reopenableDatabase() {
  const pgTemplate = inject('pgTemplate');
  if (pgTemplate) {
    const url = process.env.DATABASE_URL as string;
    const name = `kg_test_jobs_${process.pid}_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`create database ${name} template ${pgTemplate}`);
    return {
      open: async () => openPostgres(withDatabase(url, name), 4),
      async dispose() {
        await admin.query(`drop database if exists ${name} with (force)`);
        await admin.end();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'kg-jobs-'));
  const first = await openPglite(dir);
  await migrateDatabase(first);
  await first.close();
  return {
    open: () => openPglite(dir),
    async dispose() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('restarts', () => {
  it('runs a job enqueued by a process that stopped before any worker picked it up', async () => {
    const store = await reopenableDatabase();
    try {
      const name = jobName('survivor');
      const seen: string[] = [];
      const job = defineJob<{ orderId: string }>({
        name,
        async handle(data) {
          seen.push(data.orderId);
        },
      });

      const api = await store.open();
      const apiJobs = jobsOn(api, false);
      apiJobs.register(job);
      await apiJobs.start();
      const id = await api.db.transaction((tx) => apiJobs.enqueue(tx, job, { orderId: 'order-3' }));
      await sleep(1_000);
      expect(seen).toEqual([]);
      await apiJobs.stop();
      await api.close();

      const worker = await store.open();
      try {
        const workerJobs = jobsOn(worker, true);
        workerJobs.register(job);
        await workerJobs.start();
        await until(() => seen.length === 1);
        expect(seen).toEqual(['order-3']);
        await until(async () => (await workerJobs.boss.getJobById(name, id!))?.state === 'completed');
        await workerJobs.stop();
      } finally {
        await worker.close();
      }
    } finally {
      await store.dispose();
    }
  }, 60_000);
});
