import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import pg from 'pg';
import { inject } from 'vitest';
import { type AppOptions, type BuiltApp, buildApp } from '../src/app.ts';
import { createMemorySmsSender } from '../src/modules/users/sms.ts';
import { type Config, loadConfig } from '../src/platform/config.ts';
import { type Database, fromPglite, openPostgres } from '../src/platform/db.ts';
import { type DomainEvent, subscriberQueue } from '../src/platform/events.ts';
import { withDatabase } from './global-setup.ts';
import { watchProblemCodes } from './problem-codes.ts';

let counter = 0;

/**
 * PostgreSQL only: the URL of a fresh copy of the migrated, seeded template (or of an `empty` database), for a
 * server a test starts as a process of its own. Named after the template, so the global teardown (which matches the main process's pid)
 * drops it.
 */
export async function createTestDatabaseUrl(options: { empty?: boolean } = {}): Promise<string> {
  const pgTemplate = inject('pgTemplate');
  if (!pgTemplate) throw new Error('createTestDatabaseUrl needs DATABASE_URL (PostgreSQL)');
  const url = process.env.DATABASE_URL as string;
  const name = `${pgTemplate}_${process.pid}_${counter++}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`create database ${name}${options.empty ? '' : ` template ${pgTemplate}`}`);
  } finally {
    await admin.end();
  }
  return withDatabase(url, name);
}

/** A test's database; on PostgreSQL with its URL, for a test that needs a connection of its own. */
export type TestDatabase = Database & { url?: string };

/** A fresh copy of the migrated, seeded template: each test file gets its own database. */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (inject('pgTemplate')) {
    const url = await createTestDatabaseUrl();
    return Object.assign(openPostgres(url, 10), { url });
  }
  const dump = readFileSync(inject('pgliteTemplate'));
  const client = await PGlite.create({ loadDataDir: new Blob([dump]), extensions: { pg_trgm } });
  return fromPglite(client);
}

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'kg-data-')),
    JWT_SECRET: 'test-secret-that-is-long-enough-for-hs256-signing',
    ENCRYPTION_KEYS: `1:${Buffer.alloc(32, 7).toString('base64')}`,
    BLIND_INDEX_KEY: 'test-blind-index-key-that-is-long-enough',
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
    // Each app gets its own Redis keys: test files run side by side on one Redis.
    REDIS_KEY_PREFIX: `kgtest:${randomBytes(4).toString('hex')}:`,
    ...overrides,
  });
}

export interface TestAppOptions extends Partial<Omit<AppOptions, 'database' | 'config'>> {
  database?: TestDatabase;
  config?: Config;
  /** What a test wires before the app starts: subscribers, hook handlers, routes of its own. */
  prepare?: (app: BuiltApp) => void | Promise<void>;
}

/** The real app on a fresh database, with SMS kept in memory and no job worker unless asked. */
export async function createTestApp(options: TestAppOptions = {}) {
  const { database: given, config, prepare, ...rest } = options;
  const database: TestDatabase = given ?? (await createTestDatabase());
  const sms = createMemorySmsSender();
  const app = await buildApp({
    config: config ?? testConfig(),
    database,
    sms,
    work: false,
    logger: false,
    ...rest,
  });
  await prepare?.(app);
  watchProblemCodes(app);
  await app.ready();
  return {
    app,
    database,
    db: database.db,
    sms,
    async close() {
      await app.close();
      if (!given) await database.close();
    },
  };
}

export type TestApp = Awaited<ReturnType<typeof createTestApp>>;

/**
 * The events handed to the logging subscriber (`logEvents`, wired in app.ts for every event type) whose
 * `field` is `value`, in the order they were emitted (their ids are UUIDv7). Tests run without a worker,
 * so the jobs stay queued.
 */
export async function queuedEvents<E extends DomainEvent>(
  database: Database,
  field: string,
  value: string,
): Promise<E[]> {
  const { rows } = await database.sql.query(
    `select data from pgboss.job where name like 'log.on.%' and data->>$1 = $2 order by data->>'id'`,
    [field, value],
  );
  return rows.map((r) => (typeof r.data === 'string' ? JSON.parse(r.data) : r.data) as E);
}

/**
 * Delivers the events queued for one module's subscription, as a worker would: its jobs for these types
 * run now, one at a time (tests run without a worker). The number delivered.
 */
export function deliverQueuedEvents(app: BuiltApp, module: string, types: readonly string[]) {
  return app.services.jobs.runQueued(types.map((type) => subscriberQueue(module, type)));
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for `check` to hold, polling every 100 ms; fails after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(100);
  }
}
