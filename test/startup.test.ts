import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabaseUrl } from './helper.ts';
import { freePort, killStarted, PROCESS_TEST_TIMEOUT, startMain } from './processes.ts';

/**
 * A start that cannot succeed stops at once with one line on stderr and exit code 1: no stack trace, nothing
 * migrated, and no lock left behind that is not another live process's own. On PostgreSQL the server is
 * pointed at an empty database, which shows that nothing was migrated.
 */
const onPostgres = Boolean(process.env.DATABASE_URL);
const cleanup: (() => void)[] = [];
afterAll(() => {
  killStarted();
  for (const undo of cleanup.splice(0)) undo();
});

let databaseUrl: string | undefined;
beforeEach(async () => {
  databaseUrl = onPostgres ? await createTestDatabaseUrl({ empty: true }) : undefined;
});

function newDataDir() {
  const dir = mkdtempSync(join(tmpdir(), 'kg-startup-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function serve(env: NodeJS.ProcessEnv, options: { wrapper?: string[] } = {}) {
  return startMain('serve', { ...(databaseUrl && { DATABASE_URL: databaseUrl }), ...env }, options);
}

/** The whole of stderr: one line, no stack frames. */
async function expectOneLineFailure(started: ReturnType<typeof serve>, pattern: RegExp) {
  expect(await started.exited).toBe(1);
  const lines = started.stderr().trim().split('\n');
  expect(lines, started.output()).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(started.stderr()).not.toMatch(/\n\s+at |Error:/);
}

/** Nothing was migrated: no embedded database was made, or the PostgreSQL database is still empty. */
async function expectNothingMigrated(dataDir: string) {
  expect(existsSync(join(dataDir, 'pgdata'))).toBe(false);
  if (!databaseUrl) return;
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query(
      "select count(*)::int n from information_schema.tables where table_schema not in ('pg_catalog', 'information_schema')",
    );
    expect(rows[0].n).toBe(0);
  } finally {
    await client.end();
  }
}

function occupy(port: number): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer().listen(port, '127.0.0.1', () => resolve(server));
    cleanup.push(() => server.close());
  });
}

describe('start-up failures', { timeout: PROCESS_TEST_TIMEOUT }, () => {
  it('stops with one line naming the port when it is in use, before opening or migrating the database', async () => {
    const port = await freePort();
    await occupy(port);
    const dataDir = newDataDir();
    const started = serve({ DATA_DIR: dataDir, PORT: String(port) });
    await expectOneLineFailure(
      started,
      new RegExp(`^cannot listen on 127\\.0\\.0\\.1:${port} .*already in use`),
    );
    await expectNothingMigrated(dataDir);
    expect(existsSync(join(dataDir, 'pgdata.lock'))).toBe(false);
  });

  it.skipIf(process.getuid?.() !== 0)(
    'stops with one line naming DATA_DIR when the user it runs as cannot write there (root only: it starts the server as nobody)',
    async () => {
      const parent = newDataDir();
      chmodSync(parent, 0o755);
      const dataDir = join(parent, 'data');
      mkdirSync(dataDir, { mode: 0o755 });
      const started = serve(
        { DATA_DIR: dataDir, PORT: String(await freePort()), HOME: tmpdir() },
        { wrapper: ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'] },
      );
      await expectOneLineFailure(
        started,
        new RegExp(`DATA_DIR ${dataDir} is not writable \\(permission denied\\)`),
      );
      await expectNothingMigrated(dataDir);
    },
  );

  it.skipIf(onPostgres)(
    'stops with one line naming the lock and its holder when another live process holds the embedded database (embedded only)',
    async () => {
      const holder: ChildProcess = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60_000)']);
      cleanup.push(() => holder.kill('SIGKILL'));
      const dataDir = newDataDir();
      const lock = join(dataDir, 'pgdata.lock');
      writeFileSync(lock, String(holder.pid));
      const started = serve({ DATA_DIR: dataDir, PORT: String(await freePort()) });
      await expectOneLineFailure(
        started,
        new RegExp(`in use by process ${holder.pid} \\(lock file ${lock}\\)`),
      );
      expect(readFileSync(lock, 'utf8')).toBe(String(holder.pid));
      await expectNothingMigrated(dataDir);
    },
  );

  it.skipIf(onPostgres)(
    'releases the lock it took when opening the embedded database fails, in one line (embedded only)',
    async () => {
      const dataDir = newDataDir();
      // Where the database files belong there is a plain file: the lock is taken, then opening fails.
      writeFileSync(join(dataDir, 'pgdata'), 'not a database');
      const started = serve({ DATA_DIR: dataDir, PORT: String(await freePort()) });
      await expectOneLineFailure(started, /^cannot serve: /);
      expect(existsSync(join(dataDir, 'pgdata.lock'))).toBe(false);
    },
  );
});
