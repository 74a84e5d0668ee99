import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { withDatabase } from '../../test/global-setup.ts';
import { type Database, fromPglite, openPostgres } from './db.ts';
import { isMigrated, migrateDatabase } from './migrate.ts';

/**
 * `migrate` runs on every start in embedded mode that finds it has work to do (isMigrated), so running it on
 * a migrated database must change nothing, and the check must see a migration or a job schema still to come.
 */

/** What migrating leaves behind: every table and index outside the system schemas, and the migration bookkeeping. */
async function shapeOf(database: Database) {
  const { rows: tables } = await database.sql.query(
    `select table_schema || '.' || table_name as name from information_schema.tables
     where table_schema not in ('pg_catalog', 'information_schema') order by 1`,
  );
  const { rows: indexes } = await database.sql.query(
    `select schemaname || '.' || indexname as name from pg_indexes
     where schemaname not in ('pg_catalog', 'information_schema') order by 1`,
  );
  const { rows: migrations } = await database.sql.query(
    'select hash, created_at from drizzle.__drizzle_migrations order by id',
  );
  const { rows: boss } = await database.sql.query('select version from pgboss.version');
  return {
    tables: tables.map((r) => r.name as string),
    indexes: indexes.map((r) => r.name as string),
    migrations,
    boss,
  };
}

async function expectMigratingTwiceToChangeNothing(database: Database) {
  expect(await isMigrated(database)).toBe(false);
  await migrateDatabase(database);
  expect(await isMigrated(database)).toBe(true);
  const first = await shapeOf(database);
  expect(first.tables).toContain('public.idempotency_keys');
  expect(first.tables).toContain('pgboss.job');
  expect(first.migrations.length).toBeGreaterThan(0);
  expect(first.boss).toHaveLength(1);

  await migrateDatabase(database);
  expect(await shapeOf(database)).toEqual(first);
}

/** What a warm start's query must not miss: a migration newer than the newest applied, an old job schema (the seed's check is the catalog's: core/seed.test.ts). */
async function expectTheStartCheckToSeeWhatIsLeft(database: Database) {
  const newest = 'created_at = (select max(created_at) from drizzle.__drizzle_migrations)';
  await database.sql.query(
    `update drizzle.__drizzle_migrations set created_at = created_at - 1 where ${newest}`,
  );
  expect(await isMigrated(database)).toBe(false);
  await database.sql.query(
    `update drizzle.__drizzle_migrations set created_at = created_at + 1 where ${newest}`,
  );
  await database.sql.query('update pgboss.version set version = version - 1');
  expect(await isMigrated(database)).toBe(false);
  await database.sql.query('update pgboss.version set version = version + 1');
  expect(await isMigrated(database)).toBe(true);
}

// Migrating runs every migration and pg-boss's schema: on a loaded machine that is minutes, not seconds.
describe('migrating', { timeout: 240_000 }, () => {
  it('creates the schema on a fresh PGlite and does nothing the second time', async () => {
    const database = fromPglite(await PGlite.create({ extensions: { pg_trgm } }));
    try {
      await expectMigratingTwiceToChangeNothing(database);
      await expectTheStartCheckToSeeWhatIsLeft(database);
    } finally {
      await database.close();
    }
  });

  it.skipIf(!process.env.DATABASE_URL)(
    'creates the schema on a fresh PostgreSQL database and does nothing the second time',
    async () => {
      const url = process.env.DATABASE_URL as string;
      const name = `kg_test_migrate_${process.pid}_${randomBytes(4).toString('hex')}`;
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(`create database ${name}`);
      const database = openPostgres(withDatabase(url, name), 2);
      try {
        await expectMigratingTwiceToChangeNothing(database);
        await expectTheStartCheckToSeeWhatIsLeft(database);
      } finally {
        await database.close();
        await admin.query(`drop database if exists ${name} with (force)`);
        await admin.end();
      }
    },
  );
});
