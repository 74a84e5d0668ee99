import { fileURLToPath } from 'node:url';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgliteDatabase } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import type { Database } from './db.ts';
import { migrateJobSchema } from './jobs.ts';

const migrationsFolder = fileURLToPath(new URL('../../migrations', import.meta.url));

/** Applies the SQL migrations that have not run yet, then pg-boss's schema. Running it again does nothing. */
export async function migrateDatabase(database: Database) {
  if (database.kind === 'pglite')
    await migratePglite(database.db as unknown as PgliteDatabase, { migrationsFolder });
  else await migratePg(database.db as unknown as NodePgDatabase, { migrationsFolder });
  await migrateJobSchema(database);
}
