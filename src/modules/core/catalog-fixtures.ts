/**
 * The catalog as other modules' tests need it: the seeded subcategories and service areas by slug, and
 * add-ons made or repriced on the spot. The catalog's tables are its own, so tests elsewhere come here
 * rather than read them.
 */
import { eq } from 'drizzle-orm';
import type { Db } from '../../platform/db.ts';
import type { AddonPriceType } from './contract.ts';
import { serviceAddons, serviceAreas, serviceSubcategories } from './schema.ts';

export interface SeededCatalog {
  subcategories: { id: string; slug: string; categoryId: string }[];
  areas: { id: string; slug: string }[];
}

/** Every subcategory (with its category) and service area, live or not. */
export async function seededCatalog(db: Db): Promise<SeededCatalog> {
  const subcategories = await db
    .select({
      id: serviceSubcategories.id,
      slug: serviceSubcategories.slug,
      categoryId: serviceSubcategories.categoryId,
    })
    .from(serviceSubcategories);
  const areas = await db.select({ id: serviceAreas.id, slug: serviceAreas.slug }).from(serviceAreas);
  return { subcategories, areas };
}

/** A new add-on of a subcategory. */
export async function makeAddon(
  db: Db,
  subcategoryId: string,
  price: number,
  priceType: AddonPriceType = 'fixed',
) {
  const [row] = await db
    .insert(serviceAddons)
    .values({ subcategoryId, name: { ru: 'Доп. услуга', en: 'Extra' }, price, priceType })
    .returning();
  return row!;
}

/** Staff change an add-on's price. */
export async function repriceAddon(db: Db, id: string, price: number) {
  await db.update(serviceAddons).set({ price }).where(eq(serviceAddons.id, id));
}
