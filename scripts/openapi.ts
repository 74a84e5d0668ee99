/**
 * `npm run openapi`: writes the OpenAPI document the app builds (`app.swagger()`) to `openapi.json` at the
 * repository root, two-space JSON with a final newline, so a change to the contract shows as a diff.
 * `npm run openapi -- --check` writes nothing and exits 1 when the file differs from what the app builds.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/platform/config.ts';
import { openDatabase } from '../src/platform/db.ts';
import { migrateDatabase } from '../src/platform/migrate.ts';

const DOCUMENT = join(import.meta.dirname, '..', 'openapi.json');

/** The document as the app builds it, from a throw-away embedded database that nothing else sees. */
async function buildDocument(): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kg-openapi-'));
  try {
    const config = loadConfig({ NODE_ENV: 'development', DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
    const database = await openDatabase({ dataDir, poolSize: 1 });
    try {
      await migrateDatabase(database);
      const app = await buildApp({ config, database, work: false, logger: false });
      await app.ready();
      const document = `${JSON.stringify(app.swagger(), null, 2)}\n`;
      await app.close();
      return document;
    } finally {
      await database.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const { values } = parseArgs({ options: { check: { type: 'boolean', default: false } } });
const built = await buildDocument();
if (values.check) {
  let committed: string | undefined;
  try {
    committed = readFileSync(DOCUMENT, 'utf8');
  } catch {
    committed = undefined;
  }
  if (committed !== built) {
    console.error(
      'openapi.json differs from the document the app builds: run `npm run openapi` and commit it',
    );
    process.exit(1);
  }
  console.log('openapi.json is the document the app builds');
} else {
  writeFileSync(DOCUMENT, built);
  console.log(`wrote ${DOCUMENT}`);
}
