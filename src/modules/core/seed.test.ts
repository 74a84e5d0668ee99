import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { describe, expect, it } from 'vitest';
import { fromPglite } from '../../platform/db.ts';
import { migrateDatabase } from '../../platform/migrate.ts';
import { isCatalogSeeded, seedCatalog } from './seed.ts';

describe('the seed check a warm start makes', () => {
  it('sees a migrated catalog without its seed, and one with it', async () => {
    const database = fromPglite(await PGlite.create({ extensions: { pg_trgm } }));
    try {
      await migrateDatabase(database);
      expect(await isCatalogSeeded(database.db)).toBe(false);
      await seedCatalog(database.db);
      expect(await isCatalogSeeded(database.db)).toBe(true);
    } finally {
      await database.close();
    }
  });
});
