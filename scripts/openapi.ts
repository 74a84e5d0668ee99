/**
 * `npm run openapi` writes the OpenAPI document the app serves at /docs/json to `openapi.json`;
 * `npm run openapi -- --check` writes nothing and exits 1 when the file differs from it. With
 * `--served FILE` the document is the one in FILE (what a running server answered, for .ci/check-openapi)
 * instead of one built here.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/platform/config.ts';
import { fromPglite } from '../src/platform/db.ts';
import { migrateDatabase } from '../src/platform/migrate.ts';

const FILE = new URL('../openapi.json', import.meta.url);

const { values } = parseArgs({
  options: { check: { type: 'boolean', default: false }, served: { type: 'string' } },
});

/** Two-space JSON with a final newline, keys in the order the app writes them: a diff shows what changed. */
const formatDocument = (document: unknown) => `${JSON.stringify(document, null, 2)}\n`;

/** The document of an app on a throwaway embedded database, with the settings of a default deployment. */
async function servedDocument(): Promise<unknown> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kg-openapi-'));
  const database = fromPglite(await PGlite.create({ extensions: { pg_trgm } }));
  try {
    await migrateDatabase(database);
    const config = loadConfig({ NODE_ENV: 'development', LOG_LEVEL: 'silent', DATA_DIR: dataDir });
    const app = await buildApp({ config, database, work: false, logger: false });
    try {
      await app.ready();
      return app.swagger();
    } finally {
      await app.close();
    }
  } finally {
    await database.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const served = formatDocument(
  values.served === undefined ? await servedDocument() : JSON.parse(readFileSync(values.served, 'utf8')),
);
if (values.check) {
  let committed = '';
  try {
    committed = readFileSync(FILE, 'utf8');
  } catch {
    // No file yet: it differs like any other.
  }
  if (committed !== served) {
    console.error(
      'openapi.json differs from the document the app serves: run `npm run openapi` and commit it',
    );
    process.exit(1);
  }
  console.log('openapi.json is the document the app serves');
} else {
  writeFileSync(FILE, served);
  console.log('wrote openapi.json');
}
