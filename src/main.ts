import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import closeWithGrace from 'close-with-grace';
import { type Logger, pino } from 'pino';
import { type BuiltApp, buildApp, encryptedColumns } from './app.ts';
import { isCatalogSeeded, seedCatalog } from './modules/core/seed.ts';
import { createAdmin } from './modules/users/cli.ts';
import { type Config, ConfigError, dataDirError, loadConfig, saveDevSecret } from './platform/config.ts';
import { createFieldCipher } from './platform/crypto.ts';
import { type Database, DatabaseLockedError, openDatabase } from './platform/db.ts';
import { isDatabaseUnavailable } from './platform/errors.ts';
import { keyRingSpec, rotateEncryptionKeys, withNewKey } from './platform/key-rotation.ts';
import { isMigrated, migrateDatabase } from './platform/migrate.ts';
import { buildWorkerOperations } from './platform/server.ts';
import { probeWritable } from './platform/storage/storage.ts';

const USAGE = `usage: kg-job-portal <command>
  serve          start the API (embedded mode also migrates, seeds and runs the job worker)
  worker         run background jobs only (for separate worker processes)
  migrate        apply database migrations and seed the catalog
  admin:create   --email EMAIL --password PASSWORD [--name NAME]: create a staff admin
  keys:rotate    [--new-key]: re-encrypt personal data with the newest key of ENCRYPTION_KEYS`;

const COMMANDS = ['serve', 'worker', 'migrate', 'admin:create', 'keys:rotate'];
/** The commands that log each step of their start. */
const STEPPED_COMMANDS = ['serve', 'worker', 'migrate'];

/** A reason the process cannot start that the operator can fix; printed as one line. */
class StartupError extends Error {}

const LISTEN_REASONS: Record<string, string> = {
  EADDRINUSE: 'the port is already in use',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'the address is not one of this machine’s',
};

/** Where a command listens: the API on PORT, a worker's health and metrics on WORKER_PORT. */
const listenerOf = (command: string, config: Config) =>
  command === 'worker'
    ? { host: config.host, port: config.workerPort, names: 'HOST, WORKER_PORT' }
    : { host: config.host, port: config.port, names: 'HOST, PORT' };

type Listener = ReturnType<typeof listenerOf>;

function listenError(listener: Listener, error: unknown): Error {
  const { code } = error as NodeJS.ErrnoException;
  const reason = code && LISTEN_REASONS[code];
  if (!reason) return error as Error;
  return new StartupError(
    `cannot listen on ${listener.host}:${listener.port} (${listener.names}): ${reason}`,
  );
}

/**
 * Taking the port for a moment, so that a port in use stops the start before the database is opened,
 * locked or migrated. Fastify's own listen later can still lose a race for it; that failure reads the same.
 */
async function assertPortFree(listener: Listener) {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: listener.port, host: listener.host, exclusive: true }, resolve);
    });
  } catch (error) {
    throw listenError(listener, error);
  }
  await new Promise((resolve) => server.close(resolve));
}

/** Before anything is written there: the embedded database and uploaded files need DATA_DIR writable. */
async function assertDataDirWritable(config: Config) {
  try {
    await probeWritable(config.dataDir);
  } catch (error) {
    throw dataDirError(config.dataDir, error);
  }
}

/**
 * pg-boss 10 completes each job without awaiting the statement (manager.js, `watch`), so a connection cut at
 * that moment rejects with nobody listening, and close-with-grace would stop the process. A lost connection
 * is not a broken process: the job stays active and runs again when it expires. Anything else still stops it.
 */
function survivingConnectionLoss(app: BuiltApp) {
  process.on('unhandledRejection', (reason) => {
    if (!isDatabaseUnavailable(reason)) throw reason;
    app.log.warn({ err: reason }, 'a database call nobody awaited failed: its connection was lost');
  });
}

async function main(argv: string[]) {
  const [command, ...rest] = argv;
  if (!command || !COMMANDS.includes(command)) {
    console.error(USAGE);
    process.exitCode = command ? 2 : 0;
    return;
  }
  let config = loadConfig();
  if (
    command === 'keys:rotate' &&
    parseArgs({ args: rest, options: { 'new-key': { type: 'boolean' } } }).values['new-key']
  ) {
    const spec = keyRingSpec(withNewKey(config.secrets.encryptionKeys));
    if (process.env.ENCRYPTION_KEYS) {
      console.log(
        `Set ENCRYPTION_KEYS=${spec} on every API and worker process and restart them one by one; then run keys:rotate (no flag) to re-encrypt the rest.`,
      );
      return;
    }
    saveDevSecret(config.dataDir, 'ENCRYPTION_KEYS', spec);
    config = loadConfig();
  }
  // Checked before the database is opened (and so before its lock is taken or any migration runs).
  if (command === 'serve' || command === 'worker' || !config.databaseUrl) await assertDataDirWritable(config);
  if (command === 'serve' || command === 'worker') await assertPortFree(listenerOf(command, config));
  // Commands that print their own answer (admin:create, keys:rotate) keep their output to that answer.
  const log = pino({ level: STEPPED_COMMANDS.includes(command) ? config.logLevel : 'silent' });
  // No line before the database is open: a start that cannot succeed says so in its one line on stderr.
  const opened = config.databaseUrl
    ? 'PostgreSQL pool opened'
    : `embedded database opened in ${config.dataDir}`;
  const database = await step(log, opened, () =>
    openDatabase({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      poolSize: config.databasePoolSize,
    }),
  );
  try {
    await run(command, rest, config, database, log);
  } catch (error) {
    // Never leave the embedded database's lock behind a failed start.
    await database.close().catch(() => undefined);
    throw error;
  }
}

async function run(command: string, rest: string[], config: Config, database: Database, log: Logger) {
  const migrate = async () => {
    await step(log, 'migrations applied', () => migrateDatabase(database));
    await step(log, 'catalog seeded', () => seedCatalog(database.db));
  };
  // What a start of the embedded database runs: a warm start finds nothing to do in two queries.
  const migrateIfChanged = async () => {
    if (await isMigrated(database)) log.info('migrations up to date: skipped');
    else await step(log, 'migrations applied', () => migrateDatabase(database));
    if (await isCatalogSeeded(database.db)) log.info('catalog seeded before: skipped');
    else await step(log, 'catalog seeded', () => seedCatalog(database.db));
  };

  switch (command) {
    case 'migrate': {
      await migrate();
      await database.close();
      console.log('migrations applied, catalog seeded');
      return;
    }
    case 'admin:create': {
      const { values } = parseArgs({
        args: rest,
        options: { email: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' } },
      });
      try {
        if (database.kind === 'pglite') await migrateIfChanged();
        const admin = await createAdmin(database, config, values);
        console.log(
          `admin ${admin.email} ${admin.created ? 'created' : 'already existed; has the admin role'} (id ${admin.id})`,
        );
      } finally {
        await database.close();
      }
      return;
    }
    case 'keys:rotate': {
      try {
        if (database.kind === 'pglite') await migrateIfChanged();
        const cipher = createFieldCipher(config.secrets.encryptionKeys, config.secrets.blindIndexKey);
        const result = await rotateEncryptionKeys(database.db, cipher, encryptedColumns);
        console.log(
          `re-encrypted with key version ${result.keyVersion}: ${JSON.stringify(result.reencrypted)}`,
        );
      } finally {
        await database.close();
      }
      return;
    }
    case 'serve':
    case 'worker': {
      if (database.kind === 'pglite') await migrateIfChanged();
      const worker = command === 'worker';
      const app = await step(log, 'app built', () =>
        buildApp({ config, database, work: worker ? true : config.runWorker }),
      );
      const listener = listenerOf(command, config);
      let operations: Awaited<ReturnType<typeof buildWorkerOperations>> | undefined;
      const grace = closeWithGrace(
        { delay: config.shutdownGraceMs, skip: ['unhandledRejection', ...STOP_SIGNALS] },
        async ({ err }) => {
          if (err) app.log.error({ err }, 'stopping after an error');
          await operations?.close();
          await app.close();
          await database.close();
        },
      );
      const ignoreStopSignals = onStopSignal((signal) => {
        app.log.info(
          { signal, force_after_ms: SAME_SIGNAL_MS },
          'stopping: draining requests and jobs (a second signal after force_after_ms stops at once)',
        );
        void grace.close();
      });
      survivingConnectionLoss(app);
      try {
        await step(log, 'app ready: partitions made ahead, job queue started', async () => {
          await app.ready();
        });
        if (worker) operations = await buildWorkerOperations(app, config);
        const server = operations ?? app;
        await server.listen({ port: listener.port, host: listener.host }).catch((error: unknown) => {
          throw listenError(listener, error);
        });
      } catch (error) {
        grace.uninstall();
        ignoreStopSignals();
        await operations?.close().catch(() => undefined);
        await app.close().catch(() => undefined);
        throw error;
      }
      // From the process's own start: what an operator waits for, module loading included.
      log.info(
        { ms: Math.round(performance.now()), ...(worker ? { port: listener.port } : {}) },
        worker ? 'worker started: health and metrics on WORKER_PORT' : 'serving',
      );
      return;
    }
  }
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
/**
 * How far apart two signals are still one. npm relays the terminal's at once, but a loaded host can hold
 * the relay back for a second or more.
 */
const SAME_SIGNAL_MS = 3000;

/**
 * SIGTERM or SIGINT starts the drain. A second one soon after is the same Ctrl-C again: a terminal signals
 * every process of its foreground job, `npm start` and the server both, and npm relays its own to the
 * server. A later one stops at once, as close-with-grace does. Returns the way to stop listening.
 */
function onStopSignal(stop: (signal: NodeJS.Signals) => void): () => void {
  let first: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (first === undefined) {
      first = performance.now();
      stop(signal);
    } else if (performance.now() - first > SAME_SIGNAL_MS) {
      console.error(`second ${signal}, exiting`);
      process.exit(1);
    }
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  return () => {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  };
}

/**
 * Runs one step of start-up and logs it with how long it took, so that a start shows its progress and a slow
 * one shows where the time went.
 */
async function step<T>(log: Logger, message: string, run: () => Promise<T>): Promise<T> {
  const began = performance.now();
  const result = await run();
  log.info({ ms: Math.round(performance.now() - began) }, message);
  return result;
}

/** One line, whatever the error: an operator reads it in a terminal or a unit's status. */
function oneLine(error: unknown): string {
  const { message, name, errno } = (error ?? {}) as { message?: unknown; name?: unknown; errno?: unknown };
  // PGlite's file system errors are plain objects: a name and an errno, no message.
  const text =
    typeof message === 'string' ? message : errno !== undefined ? `${name} (errno ${errno})` : String(error);
  return text.replace(/\s+/g, ' ').trim();
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const [command = ''] = process.argv.slice(2);
  if (error instanceof ConfigError || error instanceof DatabaseLockedError || error instanceof StartupError) {
    console.error(error.message);
  } else if (isDatabaseUnavailable(error)) {
    console.error(`cannot ${command}: the database is not reachable (DATABASE_URL): ${oneLine(error)}`);
  } else {
    console.error(`cannot ${command}: ${oneLine(error)}`);
    if (process.env.LOG_LEVEL === 'debug' || process.env.LOG_LEVEL === 'trace') console.error(error);
  }
  process.exit(1);
});
