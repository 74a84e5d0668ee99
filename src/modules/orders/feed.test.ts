import { desc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helper.ts';
import { orderFixtures } from '../../../test/order-fixtures.ts';
import { orderSearches, orders } from './schema.ts';

let t: TestApp;
const { call, client, provider, newOrder, orderIn, insertOrder, sub, area } = orderFixtures(() => t);

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const titles = (answer: { body: { data: { title: string }[] } }) => answer.body.data.map((o) => o.title);

describe('GET /orders/feed', () => {
  it('shows open orders in what I offer and where I work, never my own, ones I bid on or was turned down on', async () => {
    const p = await provider('Лента Бишкек', { slugs: ['electrical'], areas: ['bishkek'] });
    const owner = await client();
    const assignee = await provider('Лента занятый', { slugs: ['electrical'] });
    const job = async (title: string, where = 'bishkek', slug = 'electrical') => ({
      title,
      subcategory_id: (await sub(slug)).id,
      service_area_id: await area(where),
      budget_min: 50_000,
      budget_max: 150_000,
    });
    await orderIn(owner, 'published', undefined, await job('Ф1 розетка в городе'));
    await orderIn(owner, 'published', undefined, await job('Ф2 люстра в районе', 'bishkek-east'));
    await orderIn(owner, 'published', undefined, await job('Ф3 проводка в Оше', 'osh'));
    await orderIn(owner, 'published', undefined, await job('Ф4 не моя категория', 'bishkek', 'plumbing'));
    await orderIn(owner, 'draft', undefined, await job('Ф5 черновик'));
    await orderIn(owner, 'assigned', assignee, await job('Ф6 занят'));
    const deleted = await orderIn(owner, 'published', undefined, await job('Ф7 удалён'));
    await t.db.update(orders).set({ isDeleted: true, deletedAt: new Date() }).where(eq(orders.id, deleted));
    await call('POST', '/api/v1/me/client-profile', p.auth, {});
    await orderIn(p, 'published', undefined, await job('Ф8 мой собственный'));
    const bidOn = await orderIn(owner, 'published', undefined, await job('Ф9 уже предложил'));
    expect((await call('POST', `/api/v1/orders/${bidOn}/bids`, p.auth, { amount: 60_000 })).status).toBe(201);
    const withdrawnOn = await orderIn(owner, 'published', undefined, await job('Ф10 отозвал'));
    const withdrawn = await call('POST', `/api/v1/orders/${withdrawnOn}/bids`, p.auth, { amount: 60_000 });
    await call('POST', `/api/v1/bids/${withdrawn.body.id}/withdraw`, p.auth);
    const rejectedOn = await orderIn(owner, 'published', undefined, await job('Ф11 отказали'));
    const turnedDown = await call('POST', `/api/v1/orders/${rejectedOn}/bids`, p.auth, { amount: 60_000 });
    expect((await call('POST', `/api/v1/bids/${turnedDown.body.id}/reject`, owner.auth, {})).status).toBe(
      200,
    );

    const feed = await call('GET', '/api/v1/orders/feed', p.auth);
    expect(feed.status).toBe(200);
    expect(titles(feed)).toEqual(['Ф10 отозвал', 'Ф2 люстра в районе', 'Ф1 розетка в городе']);
    const item = feed.body.data[1];
    expect(item).toMatchObject({
      subcategory_id: (await sub('electrical')).id,
      service_area_id: await area('bishkek-east'),
      status: 'published',
      budget_min: 50_000,
      budget_max: 150_000,
      bid_count: 0,
    });
    for (const secret of ['address', 'location', 'client_user_id', 'client_profile_id']) {
      expect(Object.keys(item)).not.toContain(secret);
    }
    expect(Object.keys(item).some((k) => /address|location|client/.test(k))).toBe(false);

    // A provider without areas sees every area.
    const anywhere = await provider('Лента везде', { slugs: ['electrical'] });
    const wide = await call('GET', '/api/v1/orders/feed', anywhere.auth);
    expect(titles(wide)).toEqual(
      expect.arrayContaining(['Ф3 проводка в Оше', 'Ф1 розетка в городе', 'Ф9 уже предложил']),
    );
    expect(titles(wide)).not.toContain('Ф4 не моя категория');
  });

  it('sorts by urgency then newest, page by page; a subcategory filter narrows it', async () => {
    const p = await provider('Лента срочно', { slugs: ['yoga', 'manicure'], areas: ['karakol'] });
    const owner = await client();
    for (const [title, urgency, slug] of [
      ['У1 low', 'low', 'yoga'],
      ['У2 urgent', 'urgent', 'yoga'],
      ['У3 medium', 'medium', 'manicure'],
      ['У4 urgent', 'urgent', 'manicure'],
      ['У5 high', 'high', 'yoga'],
    ] as const) {
      await newOrder(owner, {
        title,
        urgency,
        subcategory_id: (await sub(slug)).id,
        service_area_id: await area('karakol'),
        publish: true,
      });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const answer = await call(
        'GET',
        `/api/v1/orders/feed?sort=urgent&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        p.auth,
      );
      expect(answer.status).toBe(200);
      seen.push(...titles(answer));
      cursor = answer.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(['У4 urgent', 'У2 urgent', 'У5 high', 'У3 medium', 'У1 low']);

    const newest = await call('GET', '/api/v1/orders/feed?limit=2', p.auth);
    expect(titles(newest)).toEqual(['У5 high', 'У4 urgent']);
    // A cursor of one sort is no good for another.
    const mixed = await call(
      'GET',
      `/api/v1/orders/feed?sort=urgent&cursor=${newest.body.next_cursor}`,
      p.auth,
    );
    expect(mixed.status).toBe(400);
    expect(mixed.body.code).toBe('invalid_cursor');
    // Nor is a feed cursor one for search, though both list open orders newest first.
    const searched = await call('GET', `/api/v1/orders/search?cursor=${newest.body.next_cursor}`, p.auth);
    expect([searched.status, searched.body.code]).toEqual([400, 'invalid_cursor']);

    const yoga = await call('GET', `/api/v1/orders/feed?subcategory_id=${(await sub('yoga')).id}`, p.auth);
    expect(titles(yoga)).toEqual(['У5 high', 'У2 urgent', 'У1 low']);
    const notMine = await call('GET', `/api/v1/orders/feed?subcategory_id=${(await sub('math')).id}`, p.auth);
    expect(notMine.body).toEqual({ data: [], next_cursor: null });
  });

  it('is for providers: a client gets 403 provider_profile_required; no token 401', async () => {
    const answer = await call('GET', '/api/v1/orders/feed', (await client()).auth);
    expect(answer.status).toBe(403);
    expect(answer.body.code).toBe('provider_profile_required');
    expect((await call('GET', '/api/v1/orders/feed')).status).toBe(401);
  });
});

describe('GET /orders/search', () => {
  it('finds Russian and Kyrgyz words, tolerates typos, and logs each new search', async () => {
    const owner = await client();
    await newOrder(owner, {
      subcategory_id: (await sub('general-cleaning')).id,
      title: 'Генеральная уборка квартиры',
      description: 'Трёхкомнатная квартира после ремонта, нужны окна и полы',
      publish: true,
    });
    await newOrder(owner, {
      subcategory_id: (await sub('plumbing')).id,
      title: 'Суу түтүгүн алмаштыруу',
      description: 'Ашкананын түтүгү агып жатат, тез арада керек',
      publish: true,
    });
    await newOrder(owner, {
      subcategory_id: (await sub('english')).id,
      title: 'Репетитор по английскому',
      description: 'Для школьника',
      publish: true,
    });
    const me = await provider('Искатель', { slugs: ['plumbing'] });

    for (const [q, expected] of [
      ['уборка квартиры', 'Генеральная уборка квартиры'],
      ['КВАРТИРА', 'Генеральная уборка квартиры'],
      ['уборка квартры', 'Генеральная уборка квартиры'],
      ['генеральня', 'Генеральная уборка квартиры'],
      ['түтүгүн', 'Суу түтүгүн алмаштыруу'],
      ['алмаштыруу', 'Суу түтүгүн алмаштыруу'],
      ['алмаштруу', 'Суу түтүгүн алмаштыруу'],
      ['ашкананын', 'Суу түтүгүн алмаштыруу'],
      ['английскому', 'Репетитор по английскому'],
    ] as const) {
      const answer = await call('GET', `/api/v1/orders/search?q=${encodeURIComponent(q)}`, me.auth);
      expect(answer.status, q).toBe(200);
      expect(titles(answer)[0], q).toBe(expected);
    }
    const nothing = await call('GET', '/api/v1/orders/search?q=zzzqqqxxx', me.auth);
    expect(nothing.body).toEqual({ data: [], next_cursor: null });

    const logged = await t.db
      .select()
      .from(orderSearches)
      .where(eq(orderSearches.userId, me.user.id))
      .orderBy(desc(orderSearches.id));
    expect(logged).toHaveLength(10);
    expect(logged[0]).toMatchObject({ query: 'zzzqqqxxx', resultCount: 0, filters: { sort: 'relevance' } });
    expect(logged.find((l) => l.query === 'түтүгүн')?.resultCount).toBeGreaterThanOrEqual(1);
  });

  it('finds a word through a typo from the moment an order is written or edited, exact matches first', async () => {
    const owner = await client();
    const me = await provider('Опечатки', { slugs: ['plumbing'] });
    const search = async (q: string) =>
      titles(await call('GET', `/api/v1/orders/search?q=${encodeURIComponent(q)}`, me.auth));
    // Neither word is in any order yet: a typo of it finds nothing.
    expect(await search('дымоходд')).toEqual([]);
    expect(await search('кирпичнаяя')).toEqual([]);

    await newOrder(owner, { title: 'Чистка дымохода в частном доме', publish: true });
    expect(await search('дымоходд')).toEqual(['Чистка дымохода в частном доме']);

    const edited = await newOrder(owner, { title: 'Ремонт печи', publish: true });
    const patched = await call('PATCH', `/api/v1/orders/${edited.id}`, owner.auth, {
      title: 'Ремонт кирпичной печи',
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(await search('кирпичнаяя')).toEqual(['Ремонт кирпичной печи']);

    // "дымохода" as typed ranks above "дымохода" reached through its close words only.
    await newOrder(owner, { title: 'Дымохода чистка срочно', publish: true });
    await newOrder(owner, { title: 'Дымоход прочистить', publish: true });
    expect((await search('дымохода')).slice(0, 2).sort()).toEqual([
      'Дымохода чистка срочно',
      'Чистка дымохода в частном доме',
    ]);
    expect(await search('дымохода')).toContain('Дымоход прочистить');

    // A query of no word at all matches nothing, and says so plainly.
    const noWords = await call('GET', `/api/v1/orders/search?q=${encodeURIComponent('?! -')}`, me.auth);
    expect(noWords.status).toBe(200);
    expect(noWords.body).toEqual({ data: [], next_cursor: null });
  });

  it('filters by category, subcategory, area (a city takes its districts), budget, urgency and date', async () => {
    const owner = await client();
    // Written to the table: service dates years ahead and a description shorter than the create route allows.
    const tag = 'фильтртест';
    const made = async (title: string, o: Parameters<typeof insertOrder>[1]) =>
      insertOrder(owner, { title: `${tag} ${title}`, description: 'описание', ...o });
    await made('A', {
      slug: 'yoga',
      area: 'bishkek-west',
      budgetMin: 30_000,
      budgetMax: 60_000,
      urgency: 'high',
      serviceDate: '2030-01-10',
    });
    await made('B', {
      slug: 'personal-trainer',
      area: 'naryn',
      budgetMin: 200_000,
      budgetMax: null,
      urgency: 'low',
      serviceDate: '2030-02-10',
    });
    await made('C', {
      slug: 'math',
      area: 'bishkek',
      budgetMin: null,
      budgetMax: null,
      urgency: 'high',
      serviceDate: null,
    });
    await made('D', { slug: 'yoga', area: 'naryn', status: 'cancelled' });
    const me = await client('Поисковик');
    const sport = (await sub('yoga')).categoryId;

    const search = async (query: string) => {
      const answer = await call(
        'GET',
        `/api/v1/orders/search?q=${encodeURIComponent(tag)}&${query}`,
        me.auth,
      );
      expect(answer.status, query).toBe(200);
      return titles(answer)
        .map((title) => title.replace(`${tag} `, ''))
        .sort();
    };
    expect(await search('')).toEqual(['A', 'B', 'C']);
    expect(await search(`category_id=${sport}`)).toEqual(['A', 'B']);
    expect(await search(`subcategory_id=${(await sub('yoga')).id}`)).toEqual(['A']);
    expect(await search(`area_id=${await area('bishkek')}`)).toEqual(['A', 'C']);
    expect(await search(`area_id=${await area('naryn')}`)).toEqual(['B']);
    expect(await search('budget_min=100000')).toEqual(['B']);
    expect(await search('budget_max=50000')).toEqual(['A']);
    expect(await search('budget_min=50000&budget_max=70000')).toEqual(['A']);
    expect(await search('urgency=high')).toEqual(['A', 'C']);
    expect(await search('date_from=2030-02-01')).toEqual(['B']);
    expect(await search('date_from=2030-01-01&date_to=2030-01-31')).toEqual(['A']);
    expect((await call('GET', '/api/v1/orders/search?date_from=tomorrow', me.auth)).status).toBe(400);
    expect((await call('GET', '/api/v1/orders/search?urgency=asap', me.auth)).status).toBe(400);

    const [last] = await t.db
      .select()
      .from(orderSearches)
      .where(eq(orderSearches.userId, me.user.id))
      .orderBy(desc(orderSearches.id))
      .limit(1);
    expect(last).toMatchObject({
      query: tag,
      resultCount: 1,
      filters: { date_from: '2030-01-01', date_to: '2030-01-31', sort: 'relevance' },
    });
  });

  it('pages through results without repeats, in every sort; only a new search is logged', async () => {
    const owner = await client();
    // Written to the table: a description shorter than the create route allows.
    const tag = 'страничныйпоиск';
    for (let i = 0; i < 5; i++) {
      await insertOrder(owner, {
        title: `${tag} заказ ${i}`,
        description: i % 2 ? `${tag} ещё раз` : 'просто',
        urgency: (['low', 'high', 'urgent'] as const)[i % 3],
      });
    }
    const me = await client('Листатель');
    for (const sort of ['relevance', 'newest', 'urgent']) {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const answer = await call(
          'GET',
          `/api/v1/orders/search?q=${encodeURIComponent(tag)}&sort=${sort}&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
          me.auth,
        );
        expect(answer.status, sort).toBe(200);
        seen.push(...titles(answer));
        cursor = answer.body.next_cursor;
      } while (cursor);
      expect(seen, sort).toHaveLength(5);
      expect(new Set(seen).size).toBe(5);
    }
    const logged = await t.db.select().from(orderSearches).where(eq(orderSearches.userId, me.user.id));
    expect(logged).toHaveLength(3);
    expect(logged.every((l) => l.resultCount === 5)).toBe(true);
  });

  it('needs a signed-in user and never shows drafts or addresses', async () => {
    expect((await call('GET', '/api/v1/orders/search?q=test')).status).toBe(401);
    const owner = await client();
    await newOrder(owner, { title: 'секретныйчерновик' });
    const answer = await call('GET', '/api/v1/orders/search?q=секретныйчерновик', (await client()).auth);
    expect(answer.body.data).toEqual([]);
  });
});
