import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInUser } from '../../../test/factories.ts';
import { createTestApp, queuedEvents, type TestApp } from '../../../test/helper.ts';
import { auditLog } from '../../platform/audit/schema.ts';
import type { CatalogEvent } from './events.ts';
import { languages, serviceAddons, serviceCategories, serviceSubcategories } from './schema.ts';

let t: TestApp;
let admin: Awaited<ReturnType<typeof signedInUser>>;
let moderator: Awaited<ReturnType<typeof signedInUser>>;
let client: Awaited<ReturnType<typeof signedInUser>>;

beforeAll(async () => {
  t = await createTestApp();
  admin = await signedInUser(t, ['admin']);
  moderator = await signedInUser(t, ['moderator']);
  client = await signedInUser(t, ['client', 'provider']);
});
afterAll(() => t.close());

type CategoryBody = { id: string; slug: string; name: string; subcategories: { id: string; name: string }[] };

async function categories(lang?: string) {
  const res = await t.app.inject({
    url: '/api/v1/categories',
    headers: lang ? { 'accept-language': lang } : {},
  });
  expect(res.statusCode).toBe(200);
  const page = res.json<{ data: CategoryBody[]; next_cursor: string | null }>();
  expect(page.next_cursor).toBeNull();
  return page.data;
}

describe('public catalog', () => {
  it('lists the seeded categories with subcategories in the requested language, Russian by default', async () => {
    const ru = await categories();
    expect(ru.map((c) => c.name)).toEqual([
      'Уборка',
      'Ремонт',
      'Доставка',
      'Красота',
      'Образование',
      'IT услуги',
      'Спорт',
      'Переводы',
    ]);
    expect(ru[0]!.subcategories.map((s) => s.name)).toEqual([
      'Генеральная уборка',
      'Ежедневная уборка',
      'Уборка после ремонта',
    ]);
    const ky = await categories('ky-KG,ky;q=0.9');
    expect(ky[0]!.name).toBe('Тазалоо');
    const en = await categories('de, en;q=0.5');
    expect(en[1]!.name).toBe('Repair');
    expect((await categories('de'))[0]!.name).toBe('Уборка');
  });

  it('shows effective commission and price range from settings when a category has none', async () => {
    const [cleaning] = await categories();
    expect(cleaning).toMatchObject({ commission_rate_bps: 1500, min_price: 20_000, max_price: 10_000_000 });
  });

  it('answers 304 to a matching If-None-Match and a new ETag after a change', async () => {
    const first = await t.app.inject({ url: '/api/v1/categories' });
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^W\/".+"$/);
    const again = await t.app.inject({ url: '/api/v1/categories', headers: { 'if-none-match': etag } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');

    const [cleaning] = first.json<{ data: CategoryBody[] }>().data;
    const patch = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/admin/categories/${cleaning!.id}`,
      headers: moderator.auth,
      payload: { name: { ru: 'Клининг', ky: 'Тазалоо', en: 'Cleaning' } },
    });
    expect(patch.statusCode).toBe(200);
    const after = await t.app.inject({ url: '/api/v1/categories', headers: { 'if-none-match': etag } });
    expect(after.statusCode).toBe(200);
    expect(after.headers.etag).not.toBe(etag);
    expect(after.json<{ data: CategoryBody[] }>().data[0]!.name).toBe('Клининг');
  });

  it('pages categories and service areas in staff’s order, a later page with its own ETag', async () => {
    type Page = { data: { id: string }[]; next_cursor: string | null };
    const walk = async (path: string, limit: number) => {
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 20; pages++) {
        const res = await t.app.inject({ url: `${path}?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}` });
        expect(res.statusCode).toBe(200);
        const page = res.json() as Page;
        expect(page.data.length).toBeLessThanOrEqual(limit);
        seen.push(...page.data.map((row) => row.id));
        cursor = page.next_cursor;
        if (!cursor) break;
      }
      expect(cursor).toBeNull();
      return seen;
    };
    expect(await walk('/api/v1/categories', 3)).toEqual((await categories()).map((c) => c.id));
    const areas = (await t.app.inject({ url: '/api/v1/service-areas?limit=100' })).json<Page>();
    expect(areas.next_cursor).toBeNull();
    expect(await walk('/api/v1/service-areas', 4)).toEqual(areas.data.map((a) => a.id));

    const first = (await t.app.inject({ url: '/api/v1/categories?limit=3' })).json<Page>();
    const url = `/api/v1/categories?limit=3&cursor=${first.next_cursor}`;
    const later = await t.app.inject({ url });
    expect(later.headers.etag).toMatch(/^W\/".+"$/);
    const unchanged = await t.app.inject({ url, headers: { 'if-none-match': later.headers.etag as string } });
    expect(unchanged.statusCode).toBe(304);
    const forged = await t.app.inject({ url: '/api/v1/categories?cursor=bm9wZQ' });
    expect([forged.statusCode, forged.json().code]).toEqual([400, 'invalid_cursor']);
  });

  it('returns one category, one subcategory with add-ons, and 404 problems for unknown ids', async () => {
    const [, repair] = await categories();
    const one = await t.app.inject({
      url: `/api/v1/categories/${repair!.id}`,
      headers: { 'accept-language': 'en' },
    });
    expect(one.json()).toMatchObject({ slug: 'repair', name: 'Repair' });

    const plumbing = repair!.subcategories[0]!;
    const addon = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/addons',
      headers: admin.auth,
      payload: {
        subcategory_id: plumbing.id,
        name: { ru: 'Срочный выезд', en: 'Urgent call-out' },
        price: 50_000,
      },
    });
    expect(addon.statusCode).toBe(201);
    const sub = await t.app.inject({
      url: `/api/v1/subcategories/${plumbing.id}`,
      headers: { 'accept-language': 'ky' },
    });
    expect(sub.statusCode).toBe(200);
    // No Kyrgyz name given: it falls back to Russian.
    expect(sub.json().addons).toEqual([
      expect.objectContaining({ name: 'Срочный выезд', price: 50_000, price_type: 'fixed' }),
    ]);
    expect(sub.json().category).toMatchObject({ slug: 'repair', name: 'Оңдоо' });

    const missing = await t.app.inject({ url: '/api/v1/categories/0195f0c2-0000-7000-8000-000000000000' });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).toContain('application/problem+json');
    expect(missing.json().code).toBe('category_not_found');
  });

  it('lists languages, service areas with districts, and only public settings', async () => {
    const langs = await t.app.inject({ url: '/api/v1/languages' });
    expect(langs.json().map((l: { code: string }) => l.code)).toEqual(['ru', 'ky', 'en']);

    const areas = (await t.app.inject({ url: '/api/v1/service-areas' })).json<{
      data: { slug: string; parent_id: string | null; id: string }[];
    }>().data;
    const bishkek = areas.find((a) => a.slug === 'bishkek')!;
    expect(
      areas
        .filter((a) => a.parent_id === bishkek.id)
        .map((a) => a.slug)
        .sort(),
    ).toEqual(['bishkek-center', 'bishkek-east', 'bishkek-west']);
    expect(areas.map((a) => a.slug)).toEqual(
      expect.arrayContaining(['osh', 'jalal-abad', 'karakol', 'naryn', 'talas', 'batken', 'tokmok']),
    );

    const settings = (await t.app.inject({ url: '/api/v1/settings' })).json<{ key: string }[]>();
    const keys = settings.map((s) => s.key);
    expect(keys).toContain('commission_rate_bps');
    expect(keys).not.toContain('max_upload_bytes');
  });

  it('tells an app build whether it may or must update', async () => {
    const create = (build: number, forced: boolean) =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/admin/app-versions',
        headers: admin.auth,
        payload: {
          platform: 'android',
          version: `1.${build}.0`,
          build_number: build,
          is_forced_update: forced,
        },
      });
    expect((await create(10, true)).statusCode).toBe(201);
    expect((await create(12, false)).statusCode).toBe(201);
    const check = async (build: number) =>
      (await t.app.inject({ url: `/api/v1/app-versions/check?platform=android&build=${build}` })).json();
    expect(await check(9)).toMatchObject({
      update_available: true,
      force_update: true,
      latest: { build_number: 12 },
    });
    expect(await check(10)).toMatchObject({ update_available: true, force_update: false });
    expect(await check(12)).toEqual({ update_available: false, force_update: false, latest: null });
    const bad = await t.app.inject({ url: '/api/v1/app-versions/check?platform=symbian&build=x' });
    expect(bad.statusCode).toBe(400);
    expect(
      bad
        .json()
        .errors.map((e: { field: string }) => e.field)
        .sort(),
    ).toEqual(['build', 'platform']);
  });
});

describe('staff catalog writes', () => {
  it('refuses anonymous callers with 401 and non-staff with 403, changing nothing', async () => {
    const payload = { slug: 'gardening', name: { ru: 'Сад' } };
    const anon = await t.app.inject({ method: 'POST', url: '/api/v1/admin/categories', payload });
    expect(anon.statusCode).toBe(401);
    const user = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/categories',
      headers: client.auth,
      payload,
    });
    expect(user.statusCode).toBe(403);
    expect(user.json().code).toBe('forbidden');
    const settings = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/settings',
      headers: moderator.auth,
      payload: { key: 'x', value: 1 },
    });
    expect(settings.statusCode).toBe(403);
    const rows = await t.db.select().from(serviceCategories).where(eq(serviceCategories.slug, 'gardening'));
    expect(rows).toEqual([]);
  });

  it('validates bodies: unknown fields, bad slugs, missing Russian name, duplicate slugs', async () => {
    const post = (payload: object) =>
      t.app.inject({ method: 'POST', url: '/api/v1/admin/categories', headers: admin.auth, payload });
    const unknown = await post({ slug: 'a', name: { ru: 'А' }, status: 'x' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().errors).toEqual([expect.objectContaining({ in: 'body', field: 'status' })]);
    const badSlug = await post({ slug: 'Not A Slug', name: { en: 'x' } });
    expect(
      badSlug
        .json()
        .errors.map((e: { field: string }) => e.field)
        .sort(),
    ).toEqual(['name.ru', 'slug']);
    const dup = await post({ slug: 'cleaning', name: { ru: 'Ещё уборка' } });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().code).toBe('already_exists');
    const orphan = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/subcategories',
      headers: admin.auth,
      payload: { category_id: '0195f0c2-0000-7000-8000-000000000000', slug: 'x', name: { ru: 'Х' } },
    });
    expect(orphan.statusCode).toBe(422);
    expect(orphan.json().code).toBe('category_not_found');
  });

  it('offers only the languages the platform has texts in, so the public list stays at three', async () => {
    const add = (code: string, name: string) =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/admin/languages',
        headers: admin.auth,
        payload: { code, name, native_name: name },
      });
    const german = await add('de', 'Deutsch');
    expect(german.statusCode).toBe(400);
    expect(german.json().errors).toEqual([expect.objectContaining({ in: 'body', field: 'code' })]);
    expect(await t.db.select().from(languages).where(eq(languages.code, 'de'))).toEqual([]);
    expect((await add('ky', 'Кыргызча')).statusCode).toBe(409);
  });

  it('audits create and update with the actor, changed fields and request id', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/categories',
      headers: { ...admin.auth, 'x-request-id': 'req-audit-test-1' },
      payload: { slug: 'pets', name: { ru: 'Животные' }, sort_order: 20 },
    });
    expect(created.statusCode).toBe(201);
    const id = created.json().id;
    await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/admin/categories/${id}`,
      headers: admin.auth,
      payload: { sort_order: 21 },
    });
    const trail = await t.app.inject({
      url: `/api/v1/admin/audit?entity=service_categories&entity_id=${id}`,
      headers: admin.auth,
    });
    expect(trail.statusCode).toBe(200);
    const [update, create] = trail.json().data;
    expect(create).toMatchObject({
      action: 'create',
      actor_id: admin.user.id,
      request_id: 'req-audit-test-1',
    });
    expect(create.changes.slug).toEqual({ before: null, after: 'pets' });
    expect(update.action).toBe('update');
    expect(update.changes).toEqual({ sort_order: { before: 20, after: 21 } });
    const forbidden = await t.app.inject({ url: '/api/v1/admin/audit', headers: moderator.auth });
    expect(forbidden.statusCode).toBe(403);
  });
});

describe('soft delete and restore', () => {
  async function makeTree() {
    const suffix = Math.random().toString(36).slice(2, 8);
    const post = async (path: string, payload: object) => {
      const res = await t.app.inject({
        method: 'POST',
        url: `/api/v1/admin/${path}`,
        headers: admin.auth,
        payload,
      });
      expect(res.statusCode).toBe(201);
      return res.json<{ id: string }>().id;
    };
    const category = await post('categories', { slug: `home-${suffix}`, name: { ru: 'Дом' } });
    const subA = await post('subcategories', { category_id: category, slug: 'a', name: { ru: 'А' } });
    const subB = await post('subcategories', { category_id: category, slug: 'b', name: { ru: 'Б' } });
    const addonA1 = await post('addons', { subcategory_id: subA, name: { ru: 'А1' }, price: 100 });
    const addonA2 = await post('addons', { subcategory_id: subA, name: { ru: 'А2' }, price: 200 });
    const addonB1 = await post('addons', { subcategory_id: subB, name: { ru: 'Б1' }, price: 300 });
    return { category, subA, subB, addonA1, addonA2, addonB1 };
  }
  const deleted = async (
    table: typeof serviceAddons | typeof serviceSubcategories | typeof serviceCategories,
    id: string,
  ) => (await t.db.select({ d: table.isDeleted }).from(table).where(eq(table.id, id)))[0]!.d;

  it('cascades a category to its subcategories and their add-ons, and restore brings back exactly those', async () => {
    const tree = await makeTree();
    // Deleted on its own first: the category's later restore must leave it deleted.
    const own = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/admin/addons/${tree.addonA2}`,
      headers: admin.auth,
    });
    expect(own.json().counts).toEqual({ service_addons: 1 });

    const del = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/admin/categories/${tree.category}`,
      headers: admin.auth,
    });
    expect(del.statusCode).toBe(200);
    expect(del.json().counts).toEqual({ service_categories: 1, service_subcategories: 2, service_addons: 2 });
    for (const id of [tree.subA, tree.subB]) expect(await deleted(serviceSubcategories, id)).toBe(true);
    for (const id of [tree.addonA1, tree.addonB1, tree.addonA2])
      expect(await deleted(serviceAddons, id)).toBe(true);
    expect((await categories()).some((c) => c.id === tree.category)).toBe(false);
    const gone = await t.app.inject({ url: `/api/v1/subcategories/${tree.subA}` });
    expect(gone.statusCode).toBe(404);

    const res = await t.app.inject({
      method: 'POST',
      url: `/api/v1/admin/categories/${tree.category}/restore`,
      headers: admin.auth,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().counts).toEqual({ service_categories: 1, service_subcategories: 2, service_addons: 2 });
    expect(await deleted(serviceAddons, tree.addonA1)).toBe(false);
    expect(await deleted(serviceAddons, tree.addonB1)).toBe(false);
    expect(await deleted(serviceAddons, tree.addonA2)).toBe(true);
    const [restored] = await t.db
      .select()
      .from(serviceCategories)
      .where(eq(serviceCategories.id, tree.category));
    expect(restored!.restoredAt).toBeInstanceOf(Date);

    const trail = await t.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.entityId, tree.addonB1), eq(auditLog.action, 'restore')));
    expect(trail).toHaveLength(1);
    expect(trail[0]!.actorId).toBe(admin.user.id);
  });

  it('tells of the subcategories a delete took and its restore brought back, under the deletion’s id; of no other', async () => {
    const tree = await makeTree();
    const call = (method: 'DELETE' | 'POST', url: string) =>
      t.app.inject({ method, url: `/api/v1/admin/${url}`, headers: admin.auth });
    const ownSub = await call('DELETE', `subcategories/${tree.subB}`);
    const del = await call('DELETE', `categories/${tree.category}`);
    expect((await call('POST', `categories/${tree.category}/restore`)).statusCode).toBe(200);
    expect((await call('POST', `subcategories/${tree.subB}/restore`)).statusCode).toBe(200);
    // An add-on's delete takes no subcategory: nobody hears of it.
    expect((await call('DELETE', `addons/${tree.addonA1}`)).statusCode).toBe(200);

    const told = (await queuedEvents<CatalogEvent>(t.database, 'category_id', tree.category)).map(
      ({ id: _, at: __, ...event }) => event,
    );
    const by = { actor_id: admin.user.id, request_id: expect.any(String), category_id: tree.category };
    const subB = { ...by, subcategory_id: tree.subB, subcategory_ids: [tree.subB] };
    expect(told).toEqual([
      { ...subB, type: 'subcategory_deleted', deletion_id: ownSub.json().deletion_id },
      { ...by, type: 'category_deleted', deletion_id: del.json().deletion_id, subcategory_ids: [tree.subA] },
      { ...by, type: 'category_restored', deletion_id: del.json().deletion_id, subcategory_ids: [tree.subA] },
      { ...subB, type: 'subcategory_restored', deletion_id: ownSub.json().deletion_id },
    ]);
  });

  it('refuses to restore a child whose parent is still deleted, or a row that is not deleted', async () => {
    const tree = await makeTree();
    await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/admin/categories/${tree.category}`,
      headers: admin.auth,
    });
    const child = await t.app.inject({
      method: 'POST',
      url: `/api/v1/admin/subcategories/${tree.subA}/restore`,
      headers: admin.auth,
    });
    expect(child.statusCode).toBe(409);
    expect(child.json().code).toBe('parent_deleted');
    const live = await t.app.inject({
      method: 'POST',
      url: `/api/v1/admin/categories/${(await categories())[0]!.id}/restore`,
      headers: admin.auth,
    });
    expect(live.statusCode).toBe(409);
    expect(live.json().code).toBe('not_deleted');
  });

  it('keeps slugs unique among live rows only, and a restore that would clash is a 409', async () => {
    const first = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/categories',
      headers: admin.auth,
      payload: { slug: 'moving', name: { ru: 'Переезд' } },
    });
    await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/admin/categories/${first.json().id}`,
      headers: admin.auth,
    });
    const second = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/categories',
      headers: admin.auth,
      payload: { slug: 'moving', name: { ru: 'Переезд 2' } },
    });
    expect(second.statusCode).toBe(201);
    const clash = await t.app.inject({
      method: 'POST',
      url: `/api/v1/admin/categories/${first.json().id}/restore`,
      headers: admin.auth,
    });
    expect(clash.statusCode).toBe(409);
    expect(clash.json().code).toBe('already_exists');
    const listDeleted = await t.app.inject({
      url: '/api/v1/admin/categories?deleted=true',
      headers: admin.auth,
    });
    expect(listDeleted.json().data.map((c: { id: string }) => c.id)).toContain(first.json().id);
  });

  it('pages through staff lists with an opaque cursor and rejects a forged one', async () => {
    const page1 = await t.app.inject({ url: '/api/v1/admin/subcategories?limit=5', headers: admin.auth });
    const body1 = page1.json();
    expect(body1.data).toHaveLength(5);
    const page2 = await t.app.inject({
      url: `/api/v1/admin/subcategories?limit=5&cursor=${body1.next_cursor}`,
      headers: admin.auth,
    });
    const ids = [...body1.data, ...page2.json().data].map((r: { id: string }) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    const forged = await t.app.inject({
      url: '/api/v1/admin/subcategories?cursor=bm9wZQ',
      headers: admin.auth,
    });
    expect(forged.statusCode).toBe(400);
    expect(forged.json().code).toBe('invalid_cursor');
    const tooMany = await t.app.inject({
      url: '/api/v1/admin/subcategories?limit=1000',
      headers: admin.auth,
    });
    expect(tooMany.statusCode).toBe(400);
  });
});
