import { eq, type SQL, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helper.ts';
import { prepareSql } from '../../platform/db.ts';
import { areasWithDistricts, subcategoryPriceRange } from './queries.ts';
import { serviceAreas, serviceCategories, serviceSubcategories, systemSettings } from './schema.ts';

/**
 * The catalog's published read models (queries.ts), run as other modules embed them: their columns are
 * what the bid and the feed read, so a change of name or meaning fails here first.
 */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const run = <Row>(query: SQL) => prepareSql<Row>(t.db, query)();
const uuid = (id: string) => sql`${id}::uuid`;

async function subcategory(slug: string) {
  const [row] = await t.db.select().from(serviceSubcategories).where(eq(serviceSubcategories.slug, slug));
  return row!;
}
async function area(slug: string) {
  const [row] = await t.db.select().from(serviceAreas).where(eq(serviceAreas.slug, slug));
  return row!;
}

describe('subcategoryPriceRange', () => {
  it('answers min_price and max_price of an offered subcategory: the category’s own, else the settings’', async () => {
    const plumbing = await subcategory('plumbing');
    await t.db
      .update(serviceCategories)
      .set({ minPrice: 50_000, maxPrice: null })
      .where(eq(serviceCategories.id, plumbing.categoryId));
    await t.db
      .update(systemSettings)
      .set({ value: 8_000_000 })
      .where(eq(systemSettings.key, 'order_max_price'));
    const rows = await run(sql`select * from (${subcategoryPriceRange(uuid(plumbing.id))}) r`);
    expect(rows).toEqual([{ min_price: 50_000, max_price: 8_000_000 }]);
  });

  it('answers no row for a subcategory the catalog does not offer, or none at all', async () => {
    const cleaning = await subcategory('general-cleaning');
    await t.db
      .update(serviceSubcategories)
      .set({ isActive: false })
      .where(eq(serviceSubcategories.id, cleaning.id));
    expect(await run(sql`select * from (${subcategoryPriceRange(uuid(cleaning.id))}) r`)).toEqual([]);
    const nothing = uuid('01930000-0000-7000-8000-000000000000');
    expect(await run(sql`select * from (${subcategoryPriceRange(nothing)}) r`)).toEqual([]);
  });
});

describe('areasWithDistricts', () => {
  it('is the areas given and their live, active districts, as one uuid[]', async () => {
    const bishkek = await area('bishkek');
    const districts = await t.db.select().from(serviceAreas).where(eq(serviceAreas.parentId, bishkek.id));
    expect(districts.length).toBeGreaterThan(1);
    const [west] = districts;
    await t.db.update(serviceAreas).set({ isActive: false }).where(eq(serviceAreas.id, west!.id));
    const [row] = await run<{ ids: string[] }>(
      sql`select ${areasWithDistricts(sql`array[${bishkek.id}::uuid]`)} as ids`,
    );
    expect(Object.keys(row!)).toEqual(['ids']);
    expect([...row!.ids].sort()).toEqual(
      [bishkek.id, ...districts.filter((d) => d.id !== west!.id).map((d) => d.id)].sort(),
    );
    const [none] = await run<{ ids: string[] }>(
      sql`select ${areasWithDistricts(sql`array[]::uuid[]`)} as ids`,
    );
    expect(none!.ids).toEqual([]);
  });
});
