import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { seedCatalog } from '../src/modules/core/seed.ts';
import { fromPglite, openPostgres } from '../src/platform/db.ts';
import { migrateDatabase } from '../src/platform/migrate.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** PGlite: a data directory dump of the migrated, seeded template. */
    pgliteTemplate: string;
    /** PostgreSQL: the name of the migrated, seeded template database. */
    pgTemplate: string;
  }
}

/** Migrates and seeds one template database; every test file then starts from a copy of it. */
export default async function setup(project: TestProject) {
  const url = process.env.DATABASE_URL;
  if (url) {
    const template = `kg_test_template_${process.pid}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`drop database if exists ${template}`);
    await admin.query(`create database ${template}`);
    const database = openPostgres(withDatabase(url, template), 2);
    await migrateDatabase(database);
    await seedCatalog(database.db);
    await database.close();
    project.provide('pgTemplate', template);
    project.provide('pgliteTemplate', '');
    return async () => {
      const { rows } = await admin.query<{ datname: string }>(
        `select datname from pg_database where datname like 'kg_test_%${process.pid}%'`,
      );
      for (const { datname } of rows) await admin.query(`drop database if exists ${datname} with (force)`);
      await admin.end();
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'kg-test-'));
  const client = await PGlite.create({ extensions: { pg_trgm } });
  const database = fromPglite(client);
  await migrateDatabase(database);
  await seedCatalog(database.db);
  const dump = await client.dumpDataDir('none');
  const file = join(dir, 'template.tar');
  writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
  await database.close();
  project.provide('pgliteTemplate', file);
  project.provide('pgTemplate', '');
  return () => rmSync(dir, { recursive: true, force: true });
}

export function withDatabase(url: string, name: string) {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}
