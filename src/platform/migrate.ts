import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgliteDatabase } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import jobSchema from 'pg-boss/version.json' with { type: 'json' };
import type { Database } from './db.ts';
import { JOB_SCHEMA, migrateJobSchema } from './jobs.ts';

// The same path from src/platform and from the compiled dist/platform.
const migrationsFolder = fileURLToPath(new URL('../../migrations', import.meta.url));

/** Applies the SQL migrations that have not run yet, then pg-boss's schema. Running it again does nothing. */
export async function migrateDatabase(database: Database) {
  if (database.kind === 'pglite')
    await migratePglite(database.db as unknown as PgliteDatabase, { migrationsFolder });
  else await migratePg(database.db as unknown as NodePgDatabase, { migrationsFolder });
  await migrateJobSchema(database);
}

const UNDEFINED_TABLE = '42P01';

/**
 * Whether `migrateDatabase` has nothing to do, in one query: Drizzle applies the journal's migrations made
 * after the newest one it recorded, so there is nothing when that is the journal's newest; and pg-boss's
 * schema is at the version this pg-boss wants. Drizzle's migrator would read and hash every file and make
 * its own schema and table if missing, and pg-boss would look itself up, each a round trip of its own. A
 * database never migrated has neither table and answers false.
 */
export async function isMigrated(database: Database): Promise<boolean> {
  const journal = JSON.parse(readFileSync(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as {
    entries: { when: number }[];
  };
  const newest = Math.max(...journal.entries.map((entry) => entry.when));
  try {
    const { rows } = await database.sql.query(
      `select (select max(created_at) from drizzle.__drizzle_migrations) as migrated,
              (select version from ${JOB_SCHEMA}.version) as jobs`,
    );
    return Number(rows[0]?.migrated) === newest && Number(rows[0]?.jobs) === jobSchema.schema;
  } catch (error) {
    if ((error as { code?: string }).code === UNDEFINED_TABLE) return false;
    throw error;
  }
}
