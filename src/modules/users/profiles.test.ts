import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInUser } from '../../../test/factories.ts';
import { createTestApp, type TestApp } from '../../../test/helper.ts';
import { type Answer, caller } from '../../../test/http.ts';
import { auditLog } from '../../platform/audit/schema.ts';
import { seededCatalog } from '../core/catalog-fixtures.ts';
import type {
  UpdateProfileInput,
  UpdateProviderProfileInput,
  UpdateServiceInput,
} from './profile-contract.ts';
import { providerProfiles, providerServices, userProfiles, users } from './schema.ts';

let t: TestApp;
let subcategories: { id: string; slug: string }[];
let areas: { id: string; slug: string }[];

beforeAll(async () => {
  t = await createTestApp();
  ({ subcategories, areas } = await seededCatalog(t.db));
});
afterAll(() => t.close());

const sub = (slug: string) => subcategories.find((s) => s.slug === slug)?.id as string;
const area = (slug: string) => areas.find((a) => a.slug === slug)?.id as string;

const call = caller(() => t);

async function provider(
  name: string,
  options: { services?: { slug: string; price: number; description?: string }[]; areas?: string[] } = {},
) {
  const who = await signedInUser(t, ['client'], `${name} Owner`);
  const created = await call('POST', '/api/v1/me/provider-profile', who.auth, {
    business_name: name,
    description: `${name}: опытный мастер`,
    service_area_ids: (options.areas ?? ['bishkek']).map(area),
    availability: { mon: [{ from: '09:00', to: '18:00' }] },
  });
  expect(created.status).toBe(201);
  for (const s of options.services ?? []) {
    const made = await call('POST', '/api/v1/me/services', who.auth, {
      subcategory_id: sub(s.slug),
      base_price: s.price,
      description: s.description,
    });
    expect(made.status).toBe(201);
  }
  return { ...who, providerId: created.body.id as string };
}

describe('my profile', () => {
  it('is made on first read and changes with PATCH; contact details and address are stored encrypted', async () => {
    const me = await signedInUser(t);
    const first = await call('GET', '/api/v1/me/profile', me.auth);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      user_id: me.user.id,
      user_type: null,
      verification_status: 'unverified',
    });

    const patched = await call('PATCH', '/api/v1/me/profile', me.auth, {
      full_name: 'Айгуль Токтогулова',
      bio: 'Люблю чистоту',
      gender: 'female',
      preferred_language: 'ky',
      notification_language: 'ru',
      contact_info: { phone: '+996700111222', telegram: '@aigul' },
      address: 'ул. Киевская 77, кв. 5',
      service_area_id: area('bishkek'),
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      full_name: 'Айгуль Токтогулова',
      gender: 'female',
      preferred_language: 'ky',
      contact_info: { phone: '+996700111222', telegram: '@aigul' },
      address: 'ул. Киевская 77, кв. 5',
    });
    const [row] = await t.db.select().from(userProfiles).where(eq(userProfiles.userId, me.user.id));
    expect(JSON.stringify(row)).not.toContain('+996700111222');
    expect(JSON.stringify(row)).not.toContain('Киевская');

    const audit = await t.db.select().from(auditLog).where(eq(auditLog.entityId, row!.id));
    expect(audit.some((a) => a.action === 'update')).toBe(true);
  });

  it('refuses unknown languages, areas, fields and bad values, changing nothing', async () => {
    const me = await signedInUser(t);
    const before = (await call('GET', '/api/v1/me/profile', me.auth)).body;
    for (const [payload, status, code] of [
      [{ preferred_language: 'de' }, 422, 'language_not_supported'],
      [{ service_area_id: '01930000-0000-7000-8000-000000000000' }, 422, 'service_area_not_found'],
      [{ gender: 'robot' }, 400, 'validation_failed'],
      [{ verification_status: 'verified' }, 400, 'validation_failed'],
      [{ contact_info: { phone: '12345' } }, 400, 'validation_failed'],
      [{}, 400, 'validation_failed'],
    ] as const) {
      const answer = await call('PATCH', '/api/v1/me/profile', me.auth, payload);
      expect(answer.status, JSON.stringify(payload)).toBe(status);
      expect(answer.body.code).toBe(code);
    }
    expect((await call('GET', '/api/v1/me/profile', me.auth)).body).toEqual(before);
  });

  it('needs a signed-in user', async () => {
    expect((await call('GET', '/api/v1/me/profile')).status).toBe(401);
  });
});

describe('client and provider profiles', () => {
  it('a user becomes a client, a provider, then both; creating one twice is a 409', async () => {
    const me = await signedInUser(t);
    expect((await call('GET', '/api/v1/me/client-profile', me.auth)).status).toBe(404);
    const client = await call('POST', '/api/v1/me/client-profile', me.auth, { preferences: { sms: true } });
    expect(client.status).toBe(201);
    expect(client.body).toMatchObject({ orders_total: 0, preferences: { sms: true }, rating_avg: null });
    const again = await call('POST', '/api/v1/me/client-profile', me.auth, {});
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('client_profile_exists');

    const providerBody = {
      business_name: 'Чистый дом',
      experience_years: 5,
      service_area_ids: [area('bishkek'), area('osh')],
      travel_radius_km: 15,
      availability: {
        mon: [
          { from: '09:00', to: '13:00' },
          { from: '14:00', to: '18:00' },
        ],
        sat: [{ from: '10:00', to: '14:00' }],
      },
    };
    const made = await call('POST', '/api/v1/me/provider-profile', me.auth, providerBody);
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ business_name: 'Чистый дом', is_verified: false, review_count: 0 });
    expect((await call('POST', '/api/v1/me/provider-profile', me.auth, providerBody)).body.code).toBe(
      'provider_profile_exists',
    );

    const profile = await call('GET', '/api/v1/me/profile', me.auth);
    expect(profile.body).toMatchObject({
      user_type: 'both',
      has_client_profile: true,
      has_provider_profile: true,
    });
  });

  it('two creations at once give one profile and one 409', async () => {
    const me = await signedInUser(t);
    const answers = await Promise.all(
      [1, 2].map(() => call('POST', '/api/v1/me/provider-profile', me.auth, { business_name: 'Двойник' })),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409]);
    const rows = await t.db
      .select()
      .from(providerProfiles)
      .where(eq(providerProfiles.businessName, 'Двойник'));
    expect(rows).toHaveLength(1);
  });

  it('validates availability as time ranges per weekday and areas from the catalog', async () => {
    const me = await signedInUser(t);
    for (const [availability, field] of [
      [{ mon: [{ from: '18:00', to: '09:00' }] }, 'availability.mon.0'],
      [
        {
          tue: [
            { from: '09:00', to: '12:00' },
            { from: '11:00', to: '13:00' },
          ],
        },
        'availability.tue.1',
      ],
      [{ wed: [{ from: '25:00', to: '26:00' }] }, 'availability.wed.0.from'],
      [{ funday: [] }, 'availability.funday'],
    ] as const) {
      const answer = await call('POST', '/api/v1/me/provider-profile', me.auth, {
        business_name: 'Тест',
        availability,
      });
      expect(answer.status, JSON.stringify(availability)).toBe(400);
      expect(answer.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    }
    const badArea = await call('POST', '/api/v1/me/provider-profile', me.auth, {
      business_name: 'Тест',
      service_area_ids: ['01930000-0000-7000-8000-000000000000'],
    });
    expect(badArea.status).toBe(422);
    expect(badArea.body.errors[0].field).toBe('service_area_ids.0');
    expect((await call('GET', '/api/v1/me/provider-profile', me.auth)).status).toBe(404);
  });

  it('updates a provider profile and refuses mass assignment of rating or verification', async () => {
    const p = await provider('Мастер Обновлений');
    const changed = await call('PATCH', '/api/v1/me/provider-profile', p.auth, {
      experience_years: 9,
      is_available: false,
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ experience_years: 9, is_available: false });
    for (const field of ['is_verified', 'review_count', 'rating_avg']) {
      const refused = await call('PATCH', '/api/v1/me/provider-profile', p.auth, { [field]: 5 });
      expect(refused.status).toBe(400);
    }
  });
});

describe('provider services', () => {
  it('offers one service per subcategory within the category price range', async () => {
    const p = await provider('Сантехник Бек');
    const made = await call('POST', '/api/v1/me/services', p.auth, {
      subcategory_id: sub('plumbing'),
      base_price: 150_000,
      price_type: 'hourly',
      description: 'Замена смесителей',
    });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ base_price: 150_000, price_type: 'hourly', currency: 'KGS' });

    const duplicate = await call('POST', '/api/v1/me/services', p.auth, {
      subcategory_id: sub('plumbing'),
      base_price: 100_000,
    });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.code).toBe('service_already_offered');

    const cheap = await call('POST', '/api/v1/me/services', p.auth, {
      subcategory_id: sub('electrical'),
      base_price: 100,
    });
    expect(cheap.status).toBe(422);
    expect(cheap.body.code).toBe('price_out_of_range');

    const unknown = await call('POST', '/api/v1/me/services', p.auth, {
      subcategory_id: '01930000-0000-7000-8000-000000000000',
      base_price: 100_000,
    });
    expect(unknown.body.code).toBe('subcategory_not_found');

    const list = await call('GET', '/api/v1/me/services?limit=1', p.auth);
    expect(list.body.data).toHaveLength(1);
    expect(list.body.next_cursor).toBeNull();

    const updated = await call('PATCH', `/api/v1/me/services/${made.body.id}`, p.auth, {
      base_price: 200_000,
    });
    expect(updated.body.base_price).toBe(200_000);
    const tooMuch = await call('PATCH', `/api/v1/me/services/${made.body.id}`, p.auth, {
      base_price: 999_999_999,
    });
    expect(tooMuch.status).toBe(422);

    expect((await call('DELETE', `/api/v1/me/services/${made.body.id}`, p.auth)).status).toBe(204);
    expect((await call('GET', `/api/v1/me/services/${made.body.id}`, p.auth)).status).toBe(404);
    // Deleted, the subcategory is free to offer again.
    const again = await call('POST', '/api/v1/me/services', p.auth, {
      subcategory_id: sub('plumbing'),
      base_price: 100_000,
    });
    expect(again.status).toBe(201);
  });

  it('a client-only user cannot create services; another provider cannot read or change mine', async () => {
    const client = await signedInUser(t);
    const refused = await call('POST', '/api/v1/me/services', client.auth, {
      subcategory_id: sub('plumbing'),
      base_price: 100_000,
    });
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('provider_profile_required');

    const owner = await provider('Хозяин', { services: [{ slug: 'furniture', price: 300_000 }] });
    const [service] = await t.db
      .select()
      .from(providerServices)
      .where(eq(providerServices.providerProfileId, owner.providerId));
    const other = await provider('Чужой');
    expect((await call('GET', `/api/v1/me/services/${service!.id}`, other.auth)).status).toBe(404);
    expect(
      (await call('PATCH', `/api/v1/me/services/${service!.id}`, other.auth, { base_price: 250_000 })).status,
    ).toBe(404);
    expect((await call('DELETE', `/api/v1/me/services/${service!.id}`, other.auth)).status).toBe(404);
    const [unchanged] = await t.db
      .select()
      .from(providerServices)
      .where(eq(providerServices.id, service!.id));
    expect(unchanged).toMatchObject({ basePrice: 300_000, isDeleted: false });
  });
});

describe('the provider directory', () => {
  let baseline: { a: string; b: string; c: string };

  beforeAll(async () => {
    const a = await provider('Уборка Профи', {
      services: [{ slug: 'general-cleaning', price: 300_000, description: 'Генеральная уборка квартир' }],
      areas: ['bishkek'],
    });
    const b = await provider('Электрик Нурлан', {
      services: [{ slug: 'electrical', price: 150_000, description: 'Проводка и розетки' }],
      areas: ['osh'],
    });
    const c = await provider('Тазалык Сервис', {
      services: [{ slug: 'daily-cleaning', price: 90_000, description: 'Күнүмдүк тазалоо' }],
      areas: ['bishkek', 'karakol'],
    });
    await t.db
      .update(providerProfiles)
      .set({ isVerified: true, ratingSum: 45, reviewCount: 10, ratingAvgX100: 450 })
      .where(eq(providerProfiles.id, c.providerId));
    baseline = { a: a.providerId, b: b.providerId, c: c.providerId };
  });

  const search = async (query: string) => {
    const answer = await call('GET', `/api/v1/providers?${query}`);
    expect(answer.status, query).toBe(200);
    return answer.body.data.map((p: { id: string }) => p.id) as string[];
  };

  it('shows each provider as a card of public facts, the same in a search and in the public profile', async () => {
    const found = await call(
      'GET',
      `/api/v1/providers?q=${encodeURIComponent('тазалык')}&area_id=${area('karakol')}`,
    );
    expect(found.status).toBe(200);
    const card = found.body.data.find((p: { id: string }) => p.id === baseline.c);
    expect(card).toEqual({
      id: baseline.c,
      display_name: 'Тазалык Сервис Owner',
      business_name: 'Тазалык Сервис',
      description: 'Тазалык Сервис: опытный мастер',
      experience_years: 0,
      photo_file_id: null,
      is_verified: true,
      rating_avg: 4.5,
      review_count: 10,
      orders_completed: 0,
      service_area_ids: [area('bishkek'), area('karakol')],
      min_price: 90_000,
      member_since: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    const profile = await call('GET', `/api/v1/providers/${baseline.c}`);
    expect(profile.status).toBe(200);
    expect(profile.body).toMatchObject(card);
    expect(Date.parse(card.member_since)).toBeLessThanOrEqual(Date.now());
  });

  it('finds providers by words with typos, in Russian and Kyrgyz, without signing in', async () => {
    expect(await search('q=уборка')).toContain(baseline.a);
    expect(await search(`q=${encodeURIComponent('убор')}`)).toContain(baseline.a);
    expect(await search(`q=${encodeURIComponent('електрик')}`)).toContain(baseline.b);
    expect(await search(`q=${encodeURIComponent('тазалоо')}`)).toContain(baseline.c);
    expect(await search(`q=${encodeURIComponent('сантехника квартир')}&sort=relevance`)).not.toContain(
      baseline.b,
    );
  });

  it('finds other forms of a word and words with typos, from the moment a provider saves them', async () => {
    const plumber = await provider('Сантехник Бакыт');
    const cleaner = await provider('Тазалоочу Айгүл');
    expect(await search(`q=${encodeURIComponent('сантехника')}`)).toContain(plumber.providerId);
    expect(await search(`q=${encodeURIComponent('сантехнк')}`)).toContain(plumber.providerId);
    expect(await search(`q=${encodeURIComponent('бакыт сантехнк')}`)).toContain(plumber.providerId);
    expect(await search(`q=${encodeURIComponent('тазалоо')}`)).toContain(cleaner.providerId);
    // A word merely alike is not the same word: "сборка" (assembly) is not "уборка" (cleaning).
    expect(await search(`q=${encodeURIComponent('сборка')}`)).not.toContain(baseline.a);
    expect(await search(`q=${encodeURIComponent('бакыт тазалоо')}`)).toEqual([]);

    // Asked before the word exists, and again once it does: a new word is found through a typo at once.
    expect(await search(`q=${encodeURIComponent('жылытту')}`)).toEqual([]);
    const renamed = await call('PATCH', '/api/v1/me/provider-profile', plumber.auth, {
      business_name: 'Жылытуу Бакыт',
    });
    expect(renamed.status).toBe(200);
    expect(await search(`q=${encodeURIComponent('жылытту')}`)).toEqual([plumber.providerId]);
    // Punctuation alone holds no word to look for.
    expect(await search(`q=${encodeURIComponent('%!')}`)).toEqual([]);
  });

  it('ranks by relevance: every word as typed first, then words found through close ones; best rated first', async () => {
    const rated = async (name: string, ratingAvgX100: number) => {
      const p = await provider(name);
      await t.db.update(providerProfiles).set({ ratingAvgX100 }).where(eq(providerProfiles.id, p.providerId));
      return p.providerId;
    };
    // Below 4.5: the filter tests expect the baseline's 4.5 to be the best rating here.
    const typedLow = await rated('Плиточник Азамат', 300);
    const typedHigh = await rated('Плиточник Эрлан', 400);
    const closeBest = await rated('Плиточники Ош', 440);
    const ours = [typedHigh, typedLow, closeBest];
    const query = `q=${encodeURIComponent('плиточник')}&sort=relevance`;
    expect((await search(query)).filter((id) => ours.includes(id))).toEqual(ours);

    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { data: { id: string }[]; next_cursor: string | null } } = await call(
        'GET',
        `/api/v1/providers?${query}&limit=1${cursor ? `&cursor=${cursor}` : ''}`,
      );
      paged.push(...page.body.data.map((p) => p.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(paged).toEqual(await search(query));
    // A typo matches nothing as typed: the close words alone, best rated first.
    expect(
      (await search(`q=${encodeURIComponent('плиточнк')}&sort=relevance`)).filter((id) => ours.includes(id)),
    ).toEqual([closeBest, typedHigh, typedLow]);
  });

  it('filters by area, category, verification, rating, price and weekday', async () => {
    const inOsh = await search(`area_id=${area('osh')}`);
    expect(inOsh).toContain(baseline.b);
    expect(inOsh).not.toContain(baseline.a);
    const verified = await search('verified=true');
    expect(verified).toEqual([baseline.c]);
    expect(await search('min_rating=4.5')).toEqual([baseline.c]);
    const cheap = await search(`price_max=100000`);
    expect(cheap).toContain(baseline.c);
    expect(cheap).not.toContain(baseline.a);
    expect(await search(`subcategory_id=${sub('electrical')}`)).toEqual([baseline.b]);
    expect(await search('available_on=sun')).toEqual([]);
    expect(await search('available_on=mon')).toContain(baseline.a);
  });

  it('sorts by price and rating and pages without repeats', async () => {
    const byPrice = (await call('GET', '/api/v1/providers?sort=price&limit=100')).body.data as {
      min_price: number | null;
    }[];
    const prices = byPrice.map((p) => p.min_price).filter((p): p is number => p !== null);
    expect(prices).toEqual([...prices].sort((x, y) => x - y));
    const byRating = await search('sort=rating');
    expect(byRating[0]).toBe(baseline.c);

    for (const sort of ['newest', 'price', 'rating']) {
      const all = await search(`sort=${sort}&limit=100`);
      const paged: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { status: number; body: { data: { id: string }[]; next_cursor: string | null } } =
          await call('GET', `/api/v1/providers?sort=${sort}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        paged.push(...page.body.data.map((p) => p.id));
        cursor = page.body.next_cursor;
      } while (cursor);
      expect(paged, sort).toEqual(all);
    }
  });

  it('shows a public profile without phone, email, address or contact details', async () => {
    const owner = await provider('Секретный Мастер', { services: [{ slug: 'furniture', price: 200_000 }] });
    await call('PATCH', '/api/v1/me/profile', owner.auth, {
      contact_info: { phone: '+996555000111' },
      address: 'Тайный адрес 1',
    });
    const answer = await call('GET', `/api/v1/providers/${owner.providerId}`);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      business_name: 'Секретный Мастер',
      services: [{ base_price: 200_000 }],
    });
    const text = JSON.stringify(answer.body);
    for (const secret of ['+996555000111', 'Тайный', owner.email]) expect(text).not.toContain(secret);
    expect((await call('GET', '/api/v1/providers/01930000-0000-7000-8000-000000000000')).status).toBe(404);
  });

  it('hides providers who are not available', async () => {
    const p = await provider('Отпускник');
    expect(await search('q=отпускник')).toContain(p.providerId);
    await call('PATCH', '/api/v1/me/provider-profile', p.auth, { is_available: false });
    expect(await search('q=отпускник')).not.toContain(p.providerId);
    expect((await call('GET', `/api/v1/providers/${p.providerId}`)).status).toBe(404);
  });
});

const png = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);
async function upload(auth: object) {
  const answer = await t.app.inject({
    method: 'POST',
    url: '/api/v1/files?purpose=profile_photo',
    headers: { ...auth, 'content-type': 'image/png' },
    payload: png,
  });
  expect(answer.statusCode).toBe(201);
  return answer.json().id as string;
}

describe('profile photo', () => {
  it('is set from my own upload and shown publicly in the directory', async () => {
    const p = await provider('Фото Мастер');
    expect((await call('GET', `/api/v1/providers/${p.providerId}/photo`)).status).toBe(404);
    const mine = await upload(p.auth);
    const stranger = await signedInUser(t);
    const theirs = await upload(stranger.auth);

    const refused = await call('PATCH', '/api/v1/me/profile', p.auth, { photo_file_id: theirs });
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('invalid_file');
    expect((await call('PATCH', '/api/v1/me/profile', p.auth, { photo_file_id: mine })).status).toBe(200);

    const card = await call('GET', `/api/v1/providers/${p.providerId}`);
    expect(card.body.photo_file_id).toBe(mine);
    const photo = await t.app.inject({ method: 'GET', url: `/api/v1/providers/${p.providerId}/photo` });
    expect(photo.statusCode).toBe(200);
    expect(photo.headers['content-type']).toBe('image/png');
    expect(photo.rawPayload.equals(png)).toBe(true);
  });
});

describe('phone-only accounts', () => {
  it('a user who signed up by SMS code alone gets the whole profile and provider flow', async () => {
    const phone = '+996777000333';
    expect((await call('POST', '/api/v1/auth/otp/request', undefined, { phone })).status).toBe(202);
    const signIn = await call('POST', '/api/v1/auth/otp/verify', undefined, {
      phone,
      code: t.sms.lastCodeFor(phone),
      full_name: 'Телефон Мастер',
    });
    expect(signIn.status).toBe(201);
    expect(signIn.body.user.email).toBeNull();
    const auth = { authorization: `Bearer ${signIn.body.access_token}` };
    expect((await call('PATCH', '/api/v1/me/profile', auth, { bio: 'Без почты' })).status).toBe(200);
    expect((await call('POST', '/api/v1/me/client-profile', auth, {})).status).toBe(201);
    const provider = await call('POST', '/api/v1/me/provider-profile', auth, {
      business_name: 'Мастер без почты',
    });
    expect(provider.status).toBe(201);
    expect(
      (
        await call('POST', '/api/v1/me/services', auth, {
          subcategory_id: sub('plumbing'),
          base_price: 100_000,
        })
      ).status,
    ).toBe(201);
    const found = await call('GET', `/api/v1/providers?q=${encodeURIComponent('почты')}`);
    expect(found.body.data.map((p: { id: string }) => p.id)).toContain(provider.body.id);
  });
});

describe('favorites', () => {
  it('a client adds, lists and removes favorite providers; adding twice keeps one', async () => {
    const p = await provider('Любимый Мастер');
    const me = await signedInUser(t);
    const noClient = await call('PUT', `/api/v1/me/favorites/${p.providerId}`, me.auth);
    expect(noClient.body.code).toBe('client_profile_required');
    await call('POST', '/api/v1/me/client-profile', me.auth, {});
    expect((await call('PUT', `/api/v1/me/favorites/${p.providerId}`, me.auth)).status).toBe(201);
    expect((await call('PUT', `/api/v1/me/favorites/${p.providerId}`, me.auth)).status).toBe(204);
    const list = await call('GET', '/api/v1/me/favorites', me.auth);
    expect(list.body.data).toHaveLength(1);
    expect(list.body.data[0].provider).toMatchObject({ id: p.providerId, business_name: 'Любимый Мастер' });

    const other = await signedInUser(t);
    await call('POST', '/api/v1/me/client-profile', other.auth, {});
    expect((await call('GET', '/api/v1/me/favorites', other.auth)).body.data).toEqual([]);
    expect((await call('DELETE', `/api/v1/me/favorites/${p.providerId}`, other.auth)).status).toBe(404);

    expect((await call('DELETE', `/api/v1/me/favorites/${p.providerId}`, me.auth)).status).toBe(204);
    expect((await call('GET', '/api/v1/me/favorites', me.auth)).body.data).toEqual([]);
    expect(
      (await call('PUT', '/api/v1/me/favorites/01930000-0000-7000-8000-000000000000', me.auth)).status,
    ).toBe(404);
  });
});

/**
 * Every field of every profile PATCH, sent alone, from a profile with every field set: the field changes,
 * the others stay as they were, and a read gives the same answer.
 */
describe('a PATCH of one field', () => {
  type Auth = Record<string, string>;
  type Values<K extends string> = Record<K, (auth: Auth) => unknown>;

  async function expectOnlyChanged(url: string, auth: Auth, before: Answer, field: string, value: unknown) {
    expect(before.status).toBeLessThan(300);
    const patched = await call('PATCH', url, auth, { [field]: value });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body).toEqual({ ...before.body, [field]: value, updated_at: patched.body.updated_at });
    expect(Date.parse(patched.body.updated_at)).toBeGreaterThan(Date.parse(before.body.updated_at));
    expect((await call('GET', url, auth)).body).toEqual(patched.body);
  }

  const profileValues = {
    full_name: () => 'Нурлан Асанов',
    bio: () => 'Другой текст',
    gender: () => 'male',
    photo_file_id: (auth) => upload(auth),
    preferred_language: () => 'en',
    notification_language: () => 'ky',
    contact_info: () => ({ telegram: '@nurlan' }),
    address: () => 'ул. Токтогула 1',
    service_area_id: () => area('bishkek-east'),
    preferences: () => ({ theme: 'dark' }),
  } satisfies Values<keyof UpdateProfileInput>;

  it.each(Object.keys(profileValues))('/me/profile with only %s', async (field) => {
    const me = await signedInUser(t);
    const before = await call('PATCH', '/api/v1/me/profile', me.auth, {
      full_name: 'Айгуль Токтогулова',
      bio: 'Люблю чистоту',
      gender: 'female',
      photo_file_id: await upload(me.auth),
      preferred_language: 'ky',
      notification_language: 'ru',
      contact_info: { phone: '+996700111222' },
      address: 'ул. Киевская 77',
      service_area_id: area('bishkek-center'),
      preferences: { theme: 'light' },
    });
    const value = await profileValues[field as keyof typeof profileValues](me.auth);
    await expectOnlyChanged('/api/v1/me/profile', me.auth, before, field, value);
  });

  it('/me/profile with only full_name records the account change alone', async () => {
    const me = await signedInUser(t);
    expect((await call('GET', '/api/v1/me/profile', me.auth)).body.full_name).toBe('Test User');
    const [row] = await t.db.select().from(userProfiles).where(eq(userProfiles.userId, me.user.id));
    expect((await call('PATCH', '/api/v1/me/profile', me.auth, { full_name: 'Нурлан Асанов' })).status).toBe(
      200,
    );
    const [account] = await t.db.select().from(users).where(eq(users.id, me.user.id));
    expect(account!.fullName).toBe('Нурлан Асанов');
    const updates = await t.db
      .select({ entity: auditLog.entity, changes: auditLog.changes })
      .from(auditLog)
      .where(and(inArray(auditLog.entityId, [me.user.id, row!.id]), eq(auditLog.action, 'update')));
    expect(updates).toEqual([
      { entity: 'users', changes: { full_name: { before: 'Test User', after: 'Нурлан Асанов' } } },
    ]);
  });

  it('/me/client-profile with only preferences', async () => {
    const me = await signedInUser(t);
    const before = await call('POST', '/api/v1/me/client-profile', me.auth, { preferences: { a: 1 } });
    await expectOnlyChanged('/api/v1/me/client-profile', me.auth, before, 'preferences', { b: 2 });
  });

  const providerValues = {
    business_name: () => 'Новое Название',
    experience_years: () => 12,
    description: () => 'Другое описание',
    service_area_ids: () => [area('bishkek-east')],
    travel_radius_km: () => 25,
    availability: () => ({ tue: [{ from: '10:00', to: '14:00' }] }),
    is_available: () => false,
  } satisfies Values<keyof UpdateProviderProfileInput>;

  it.each(Object.keys(providerValues))('/me/provider-profile with only %s', async (field) => {
    const p = await provider(`Мастер ${field}`);
    const before = await call('GET', '/api/v1/me/provider-profile', p.auth);
    const value = providerValues[field as keyof typeof providerValues]();
    await expectOnlyChanged('/api/v1/me/provider-profile', p.auth, before, field, value);
  });

  const serviceValues = {
    description: () => 'Установка ванн',
    base_price: () => 200_000,
    price_type: () => 'fixed',
    availability: () => ({ wed: [{ from: '08:00', to: '12:00' }] }),
    is_active: () => false,
  } satisfies Values<keyof UpdateServiceInput>;

  it.each(Object.keys(serviceValues))('/me/services/{id} with only %s', async (field) => {
    const p = await provider(`Сантехник ${field}`);
    const before = await call('POST', '/api/v1/me/services', p.auth, {
      subcategory_id: sub('plumbing'),
      base_price: 150_000,
      price_type: 'hourly',
      description: 'Замена смесителей',
      availability: { mon: [{ from: '09:00', to: '18:00' }] },
    });
    const value = serviceValues[field as keyof typeof serviceValues]();
    await expectOnlyChanged(`/api/v1/me/services/${before.body.id}`, p.auth, before, field, value);
  });
});
