import { type SQL, sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import PgBoss from 'pg-boss';
import { type Database, type Db, type SqlClient, sqlClientOf } from './db.ts';
import { currentTraceparent, parseTraceparent, runInTrace, TRACE_KEY } from './trace.ts';

export const JOB_SCHEMA = 'pgboss';
/** Cron schedules and the "day" of a rollup follow the platform time zone. */
export const PLATFORM_TIME_ZONE = 'Asia/Bishkek';

export interface JobContext {
  log: FastifyBaseLogger;
  jobId: string;
  /** 0 on the first run, then 1, 2, ... on retries. */
  retryCount: number;
}

/**
 * A kind of background work. Handlers take ids, reload the rows, skip quietly when they are gone,
 * and are safe to run twice: a job may be retried after it did part of its work.
 */
export interface JobDefinition<T extends object = object> {
  name: string;
  handle(data: T, ctx: JobContext): Promise<void>;
  retryLimit?: number;
  retryDelaySeconds?: number;
  retryBackoff?: boolean;
  expireInSeconds?: number;
  /** Cron expression in the platform time zone, for jobs that run on a schedule. */
  cron?: string;
}

export const defineJob = <T extends object>(definition: JobDefinition<T>) => definition;

export interface EnqueueOptions {
  startAfter?: Date | number;
  singletonKey?: string;
  /** Of the jobs due in a queue, those of the highest priority run first; 0 by default. */
  priority?: number;
}

/** How a job this process ran ended, and how long it took: for the metrics. */
export type JobObserver = (name: string, outcome: 'completed' | 'failed', seconds: number) => void;

export interface JobsOptions {
  database: Database;
  log: FastifyBaseLogger;
  observe?: JobObserver;
  /** Poll for and run jobs in this process. */
  work: boolean;
  pollingIntervalSeconds?: number;
  /** How often schedules are checked; tests shorten it. */
  cronMonitorIntervalSeconds?: number;
}

const asBossDb = (client: SqlClient): PgBoss.Db => ({
  executeSql: (text, values) => client.query(text, values),
});

function createBoss(database: Database, options: Partial<PgBoss.ConstructorOptions> = {}) {
  return new PgBoss({ db: asBossDb(database.sql), schema: JOB_SCHEMA, ...options });
}

/** Creates or upgrades pg-boss's own tables; part of `migrate`. */
export async function migrateJobSchema(database: Database) {
  const boss = createBoss(database, { supervise: false, schedule: false, migrate: true });
  boss.on('error', () => {});
  await boss.start();
  await boss.stop({ graceful: false, wait: true });
}

export type Jobs = ReturnType<typeof createJobs>;

/** The job's data as enqueued, with the trace context of what enqueued it, if that had one. */
const withTrace = <T extends object>(data: T): T => {
  const traceparent = currentTraceparent();
  return traceparent ? { ...data, [TRACE_KEY]: traceparent } : data;
};

export function createJobs(options: JobsOptions) {
  const { database, log } = options;
  const observe = options.observe ?? (() => {});

  /**
   * Runs one job's handler: its log lines carry the job and, when what enqueued it had one, the trace id, and
   * the jobs it enqueues carry the same trace. The handler gets the data without the trace context.
   */
  async function runJob(def: JobDefinition<object>, job: PgBoss.JobWithMetadata<object>) {
    const { [TRACE_KEY]: traceparent, ...data } = (job.data ?? {}) as Record<string, unknown>;
    const trace = parseTraceparent(traceparent);
    const jobLog = log.child({ job: def.name, jobId: job.id, ...(trace && { traceId: trace.traceId }) });
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      await runInTrace(trace, () =>
        def.handle(data, { log: jobLog, jobId: job.id, retryCount: job.retryCount }),
      );
    } catch (error) {
      observe(def.name, 'failed', seconds());
      throw error;
    }
    observe(def.name, 'completed', seconds());
  }
  const definitions = new Map<string, JobDefinition<object>>();
  const boss = createBoss(database, {
    supervise: options.work,
    schedule: options.work,
    migrate: false,
    ...(options.cronMonitorIntervalSeconds && {
      cronMonitorIntervalSeconds: options.cronMonitorIntervalSeconds,
      cronWorkerIntervalSeconds: options.cronMonitorIntervalSeconds,
    }),
  });
  boss.on('error', (err) => log.error({ err }, 'job queue error'));
  let started = false;
  // pg-boss may be stopped by more than our stop(): readiness follows its own word.
  boss.on('stopped', () => {
    started = false;
  });

  function definitionOf(name: string) {
    const def = definitions.get(name);
    if (!def) throw new Error(`unknown job ${name}`);
    return def;
  }

  return {
    boss,

    /** Modules register their job kinds before start: start makes their queues and workers. */
    register(...defs: JobDefinition<never>[]) {
      if (started) throw new Error(`job kinds are registered before the queue starts: ${defs[0]?.name}`);
      for (const def of defs) definitions.set(def.name, def as unknown as JobDefinition<object>);
    },

    /**
     * Enqueues a job inside the caller's transaction: it exists only if that transaction commits.
     * Pass the plain database handle for work that is not tied to a change.
     */
    async enqueue<T extends object>(tx: Db, job: JobDefinition<T>, data: T, opts: EnqueueOptions = {}) {
      definitionOf(job.name);
      return boss.send(job.name, withTrace(data), { ...opts, db: asBossDb(sqlClientOf(tx)) });
    },

    /**
     * `enqueue` as SQL, for a statement that makes a change and its jobs at once: one job for each row of
     * `rows`, a query of two columns, the job's name (one of `kinds`) and its data (jsonb). Builds the row as
     * pg-boss's own insert does for a send without options (pg-boss 10, plans.js insertJob): the queue's
     * settings, else pg-boss's defaults. jobs.test.ts holds it to what `boss.send` makes. Without pg-boss's
     * `on conflict do nothing`: that is for the queue policies that take one job at a time and for singleton
     * keys, and our queues are created with the standard policy (start) and these rows carry no key, so only
     * a random id could collide. The clause made PostgreSQL check all five unique indexes of the queue's
     * partition before every insert, a visible share of a bid's database time.
     *
     * `traceparent` is the SQL of the trace context to store with each job (text, or null for none): by
     * default the current one as a value, which suits a statement built for each call. A statement prepared
     * once passes `sql.placeholder(TRACE_KEY)` instead, which `prepareSql` fills on each run.
     */
    enqueueSql(kinds: readonly string[], rows: SQL, traceparent: SQL = sql`${currentTraceparent()}`) {
      for (const name of kinds) definitionOf(name);
      const schema = sql.identifier(JOB_SCHEMA);
      const trace = sql`cast(${traceparent} as text)`;
      const data = sql`case when ${trace} is null then e.data
        else e.data || jsonb_build_object(${TRACE_KEY}::text, ${trace}) end`;
      return sql`insert into ${schema}.job (id, name, data, priority, start_after, dead_letter, expire_in,
          keep_until, retry_limit, retry_delay, retry_backoff, policy)
        select gen_random_uuid(), q.name, ${data}, 0, now(), q.dead_letter,
          coalesce(q.expire_seconds * interval '1s', interval '15 minutes'),
          now() + cast(coalesce((q.retention_minutes * 60)::text, '14 days') as interval),
          coalesce(q.retry_limit, 2),
          case when coalesce(q.retry_backoff, false) then greatest(q.retry_delay, 1)
               else coalesce(q.retry_delay, 0) end,
          coalesce(q.retry_backoff, false),
          q.policy
        from (${rows}) e (name, data) join ${schema}.queue q on q.name = e.name`;
    },

    async start() {
      await boss.start();
      // From here on the boss runs timers: stop() must stop it even when the rest of start() fails.
      started = true;
      // Read once and written only where they differ: a start that changes nothing costs two queries, not
      // three for each job kind (on the embedded database, a second of a warm start).
      const queues = new Map((await boss.getQueues()).map((queue) => [queue.name, queue]));
      const schedules = new Map(
        ((await boss.getSchedules()) as (PgBoss.Schedule & { timezone: string })[]).map((schedule) => [
          schedule.name,
          schedule,
        ]),
      );
      for (const def of definitions.values()) {
        const queue = {
          name: def.name,
          retryLimit: def.retryLimit ?? 5,
          retryDelay: def.retryDelaySeconds ?? 10,
          retryBackoff: def.retryBackoff ?? true,
          expireInSeconds: def.expireInSeconds ?? 15 * 60,
        };
        const schedule = schedules.get(def.name);
        await retryWhenRacing(async (attempt) => {
          // After a race, the other process's queue is what there is.
          const existing = attempt === 1 ? queues.get(def.name) : await boss.getQueue(def.name);
          if (!existing) await boss.createQueue(def.name, queue);
          else if (!sameQueue(existing, queue)) await boss.updateQueue(def.name, queue);
          if (def.cron) {
            if (schedule?.cron !== def.cron || schedule.timezone !== PLATFORM_TIME_ZONE) {
              await boss.schedule(def.name, def.cron, {}, { tz: PLATFORM_TIME_ZONE });
            }
          } else if (schedule) await boss.unschedule(def.name);
        });
      }
      if (options.work) {
        // A schedule of a job kind this version no longer has would queue jobs that nothing works.
        for (const name of schedules.keys()) {
          if (!definitions.has(name)) await boss.unschedule(name);
        }
        for (const def of definitions.values()) {
          await boss.work<object>(
            def.name,
            {
              batchSize: 1,
              includeMetadata: true,
              pollingIntervalSeconds: options.pollingIntervalSeconds ?? 2,
            },
            async ([job]) => {
              if (job) await runJob(def, job);
            },
          );
        }
      }
    },

    /**
     * Works the jobs of these kinds that are due now, here and one at a time, as a worker would: for a
     * process that works no jobs (`work: false`), such as a test that drives them itself. A job that fails
     * is failed (retried later, as its kind says) and its error thrown. At most `limit` jobs; the number run.
     */
    async runQueued(names: readonly string[], limit = 1_000) {
      let ran = 0;
      for (const name of names) {
        const def = definitionOf(name);
        while (ran < limit) {
          const [job] = await boss.fetch<object>(name, { batchSize: 1, includeMetadata: true });
          if (!job) break;
          ran++;
          try {
            await runJob(def, job);
          } catch (error) {
            await boss.fail(name, job.id, { message: (error as Error).message });
            throw error;
          }
          await boss.complete(name, job.id);
        }
      }
      return ran;
    },

    /** Fails unless the queue has started and not stopped: for readiness, where this process works jobs. */
    async check() {
      if (!started) throw new Error('the job queue is not running');
    },

    async stop(timeoutMs = 10_000) {
      if (!started) return;
      started = false;
      await boss.stop({ graceful: true, wait: true, timeout: timeoutMs });
    },
  };
}

type QueueSettings = Pick<PgBoss.Queue, 'retryLimit' | 'retryDelay' | 'retryBackoff' | 'expireInSeconds'>;

const sameQueue = (a: QueueSettings, b: QueueSettings) =>
  a.retryLimit === b.retryLimit &&
  a.retryDelay === b.retryDelay &&
  a.retryBackoff === b.retryBackoff &&
  a.expireInSeconds === b.expireInSeconds;

/** Errors of two processes setting up the same queue at once: a deadlock, or the other one was first. */
const RACE_CODES = new Set(['40P01', '40001', '23505', '42P07']);

/**
 * API and worker processes start together and each makes sure every queue exists; pg-boss's queue DDL
 * can deadlock or collide between them. The loser waits a moment and finds the queue made.
 */
async function retryWhenRacing(setUp: (attempt: number) => Promise<void>, attempts = 6) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await setUp(attempt);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (attempt >= attempts || !code || !RACE_CODES.has(code)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 200 * attempt));
    }
  }
}
