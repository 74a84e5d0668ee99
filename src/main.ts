import { parseArgs } from 'node:util';
import closeWithGrace from 'close-with-grace';
import { type BuiltApp, buildApp } from './app.ts';
import { seedCatalog } from './modules/core/seed.ts';
import { createAdmin } from './modules/users/cli.ts';
import { ConfigError, loadConfig, saveDevSecret } from './platform/config.ts';
import { createFieldCipher } from './platform/crypto.ts';
import { DatabaseLockedError, openDatabase } from './platform/db.ts';
import { isDatabaseUnavailable } from './platform/errors.ts';
import { keyRingSpec, rotateEncryptionKeys, withNewKey } from './platform/key-rotation.ts';
import { migrateDatabase } from './platform/migrate.ts';

const USAGE = `usage: kg-job-portal <command>
  serve          start the API (embedded mode also migrates, seeds and runs the job worker)
  worker         run background jobs only (for separate worker processes)
  migrate        apply database migrations and seed the catalog
  admin:create   --email EMAIL --password PASSWORD [--name NAME]: create a staff admin
  keys:rotate    [--new-key]: re-encrypt personal data with the newest key of ENCRYPTION_KEYS`;

const COMMANDS = ['serve', 'worker', 'migrate', 'admin:create', 'keys:rotate'];

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
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.databasePoolSize,
  });

  const migrate = async () => {
    await migrateDatabase(database);
    await seedCatalog(database.db);
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
        if (database.kind === 'pglite') await migrate();
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
        if (database.kind === 'pglite') await migrate();
        const cipher = createFieldCipher(config.secrets.encryptionKeys, config.secrets.blindIndexKey);
        const result = await rotateEncryptionKeys(database.db, cipher);
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
      if (database.kind === 'pglite') await migrate();
      const worker = command === 'worker';
      const app = await buildApp({ config, database, work: worker ? true : config.runWorker });
      closeWithGrace(
        { delay: config.shutdownGraceMs, skip: ['unhandledRejection'] },
        async ({ signal, err }) => {
          if (err) app.log.error({ err }, 'stopping after an error');
          else app.log.info({ signal }, 'stopping: draining requests and jobs');
          await app.close();
          await database.close();
        },
      );
      survivingConnectionLoss(app);
      if (worker) {
        await app.ready();
        app.log.info('worker started');
      } else {
        await app.listen({ port: config.port, host: config.host });
      }
      return;
    }
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof DatabaseLockedError) {
    console.error(error.message);
  } else {
    console.error(error);
  }
  process.exit(1);
});
