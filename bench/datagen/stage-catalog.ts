import type pg from 'pg';
import type { Vocabulary } from './words.ts';

/**
 * How often each category's subcategories and each area come up, relative to 1. Cleaning and repair are
 * what most people order; most people live in Bishkek and Osh. Unknown slugs weigh 1.
 */
const CATEGORY_WEIGHTS: Record<string, number> = {
  cleaning: 3,
  repair: 3,
  beauty: 2,
  delivery: 1.5,
  education: 1.5,
};
const AREA_WEIGHTS: Record<string, number> = {
  bishkek: 20,
  'bishkek-center': 10,
  'bishkek-east': 10,
  'bishkek-west': 10,
  osh: 15,
  'jalal-abad': 6,
  karakol: 4,
  tokmok: 4,
};

/**
 * Copies the seeded catalog into session temp tables the generators join to:
 * - `bench_subcats(idx, id, category_id, words, nwords, terms, lo, hi)`: each live subcategory with its
 *   topic words (the category's words plus its own names), the search terms the app adds to a provider's
 *   search text (names of subcategory and category in every language), and its slice [lo, hi) of [0, 1)
 *   for a weighted pick;
 * - `bench_areas(idx, id, lo, hi)`: each live area and its slice.
 * `idx` runs 0..n-1 in catalog order, so neighbours (`(idx + k) % n`) are mostly of the same category.
 * Returns how many of each there are.
 */
export async function stageCatalog(
  client: pg.ClientBase,
  vocabulary: Vocabulary,
): Promise<{ subcategories: number; areas: number }> {
  const { rows: subs } = await client.query<{
    id: string;
    category_id: string;
    category_slug: string;
    sub_name: Record<string, string>;
    category_name: Record<string, string>;
  }>(`
    select s.id, s.category_id, c.slug as category_slug, s.name as sub_name, c.name as category_name
    from service_subcategories s join service_categories c on c.id = s.category_id
    where s.is_active and not s.is_deleted and c.is_active and not c.is_deleted
    order by c.sort_order, s.sort_order, s.id`);
  const { rows: areas } = await client.query<{ id: string; slug: string }>(`
    select a.id, a.slug from service_areas a left join service_areas p on p.id = a.parent_id
    where a.is_active and not a.is_deleted
    order by coalesce(p.sort_order, a.sort_order), a.parent_id nulls first, a.sort_order, a.id`);
  if (subs.length === 0 || areas.length === 0)
    throw new Error('the catalog is empty: migrate (and seed) first');

  const slices = <T>(items: T[], weight: (item: T) => number) => {
    const total = items.reduce((sum, item) => sum + weight(item), 0);
    let at = 0;
    return items.map((item) => {
      const lo = at / total;
      at += weight(item);
      // The last slice ends past 1 so that a pick of exactly 1 - epsilon never falls between slices.
      return { lo, hi: at === total ? 1.000001 : at / total };
    });
  };

  const subSlices = slices(subs, (s) => CATEGORY_WEIGHTS[s.category_slug] ?? 1);
  const subRows = subs.map((s, idx) => {
    const names = [...Object.values(s.sub_name), ...Object.values(s.category_name)];
    const words = [
      ...(vocabulary.topics[s.category_slug] ?? []),
      ...[s.sub_name.ru, s.sub_name.ky].filter((w): w is string => Boolean(w)),
    ];
    return {
      idx,
      id: s.id,
      category_id: s.category_id,
      words: words.length > 0 ? words : [...vocabulary.common],
      terms: [...new Set(names)].join(' '),
      ...subSlices[idx]!,
    };
  });
  const areaSlices = slices(areas, (a) => AREA_WEIGHTS[a.slug] ?? 2);
  const areaRows = areas.map((a, idx) => ({ idx, id: a.id, ...areaSlices[idx]! }));

  await client.query(`
    drop table if exists pg_temp.bench_subcats;
    create temp table bench_subcats (
      idx int primary key, id uuid not null, category_id uuid not null, words text[] not null,
      nwords int not null, terms text not null, lo float8 not null, hi float8 not null);
    drop table if exists pg_temp.bench_areas;
    create temp table bench_areas (idx int primary key, id uuid not null, lo float8 not null, hi float8 not null);`);
  await client.query(
    `insert into bench_subcats
     select idx, id, category_id, array(select jsonb_array_elements_text(words)), jsonb_array_length(words),
            terms, lo, hi
     from jsonb_to_recordset($1::jsonb)
       as r(idx int, id uuid, category_id uuid, words jsonb, terms text, lo float8, hi float8)`,
    [JSON.stringify(subRows)],
  );
  await client.query(
    `insert into bench_areas select idx, id, lo, hi
     from jsonb_to_recordset($1::jsonb) as r(idx int, id uuid, lo float8, hi float8)`,
    [JSON.stringify(areaRows)],
  );
  await client.query('analyze bench_subcats; analyze bench_areas');
  return { subcategories: subRows.length, areas: areaRows.length };
}
