import { eq } from 'drizzle-orm';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceCategories } from '../src/modules/core/schema.ts';
import { idempotencyKeys } from '../src/platform/idempotency/schema.ts';
import { signedInUser } from './factories.ts';
import { createTestApp, type TestApp, testConfig } from './helper.ts';

/** What every client sees when a request goes wrong: problem+json with a stable code, never a 500. */
let t: TestApp;
let admin: Awaited<ReturnType<typeof signedInUser>>;
let sequence = 0;

beforeAll(async () => {
  t = await createTestApp({ config: testConfig({ BODY_LIMIT_BYTES: '2048' }) });
  admin = await signedInUser(t, ['admin']);
});
afterAll(() => t.close());

const slug = () => `http-test-${++sequence}-${Date.now()}`;
const category = (overrides: Record<string, unknown> = {}) => ({
  slug: slug(),
  name: { ru: 'Тест', en: 'Test' },
  ...overrides,
});

function createCategory(payload: unknown, headers: Record<string, string> = {}) {
  return t.app.inject({
    method: 'POST',
    url: '/api/v1/admin/categories',
    headers: { ...admin.auth, ...headers },
    payload: payload as Record<string, unknown>,
  });
}

interface ProblemJson {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  request_id?: string;
  errors?: { in: string; field: string; message: string }[];
}

/** Checks the shape every error answer has, and returns its body. */
function problem(res: LightMyRequestResponse, status: number, code: string): ProblemJson {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json<ProblemJson>();
  expect(body).toMatchObject({
    type: expect.stringContaining(code),
    title: expect.any(String),
    status,
    code,
    request_id: res.headers['x-request-id'],
  });
  expect(body.title.length).toBeGreaterThan(0);
  expect(res.body).not.toMatch(/\bat .+\.(ts|js):\d+/);
  return body;
}

describe('bad requests', () => {
  it('answers malformed JSON with 400 malformed_json', async () => {
    const res = await createCategory('{"slug": "x",', { 'content-type': 'application/json' });
    problem(res, 400, 'malformed_json');
  });

  it('answers an empty JSON body with 400, not 500', async () => {
    const res = await createCategory('', { 'content-type': 'application/json' });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('refuses an unknown field and names it', async () => {
    const res = await createCategory(category({ status: 'active' }));
    const body = problem(res, 400, 'validation_failed');
    expect(body.errors).toEqual([{ in: 'body', field: 'status', message: 'is not a known field' }]);
  });

  it('refuses an unknown field inside a nested object with its path', async () => {
    const res = await createCategory(category({ name: { ru: 'Тест', de: 'Test' } }));
    const body = problem(res, 400, 'validation_failed');
    expect(body.errors).toEqual([expect.objectContaining({ in: 'body', field: 'name.de' })]);
  });

  it('lists every field of the wrong type, and a missing required one', async () => {
    const res = await createCategory({ name: { ru: 'Тест' }, sort_order: 'first', is_active: 'yes' });
    const body = problem(res, 400, 'validation_failed');
    expect(body.errors?.map((e) => [e.in, e.field])).toEqual(
      expect.arrayContaining([
        ['body', 'slug'],
        ['body', 'sort_order'],
        ['body', 'is_active'],
      ]),
    );
  });

  it('answers text the database cannot store (NUL, a lone surrogate) with 400 naming the field, not 500', async () => {
    const message = 'must not contain NUL or unpaired surrogate characters';
    for (const [body, field] of [
      [{ icon: 'a\u0000b' }, 'icon'],
      [{ name: { ru: 'a\u0000b' } }, 'name.ru'],
      [{ name: { ru: 'a\ud800b' } }, 'name.ru'],
    ] as const) {
      const answer = problem(await createCategory(category(body)), 400, 'validation_failed');
      expect(answer.errors).toEqual([{ in: 'body', field, message }]);
    }
  });

  it('answers a body over BODY_LIMIT_BYTES with 413 body_too_large', async () => {
    const res = await createCategory(category({ icon: 'x'.repeat(3_000) }));
    problem(res, 413, 'body_too_large');
  });

  it('answers a body that is not JSON with 415', async () => {
    const res = await createCategory('slug=x', { 'content-type': 'application/x-www-form-urlencoded' });
    problem(res, 415, 'unsupported_media_type');
  });

  it('answers a path id that is not a uuid with 400 naming the parameter', async () => {
    const res = await t.app.inject({ url: '/api/v1/categories/not-a-uuid' });
    const body = problem(res, 400, 'validation_failed');
    expect(body.errors).toEqual([expect.objectContaining({ in: 'params', field: 'id' })]);
  });

  it('answers an id nobody has with 404', async () => {
    const res = await t.app.inject({ url: '/api/v1/categories/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('answers an unknown route with 404 route_not_found', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/no-such-thing?x=1' });
    const body = problem(res, 404, 'route_not_found');
    expect(body.detail).toBe('no route GET /api/v1/no-such-thing');
    problem(await t.app.inject({ method: 'POST', url: '/api/v1/no-such-thing' }), 404, 'route_not_found');
    // A known path asked with another method is a 405 (test/strict-requests.test.ts).
    problem(await t.app.inject({ method: 'DELETE', url: '/api/v1/categories' }), 405, 'method_not_allowed');
  });

  it('answers a missing or bad token with 401 and a wrong role with 403', async () => {
    problem(await t.app.inject({ url: '/api/v1/admin/categories' }), 401, 'unauthorized');
    problem(
      await t.app.inject({ url: '/api/v1/admin/categories', headers: { authorization: 'Bearer nonsense' } }),
      401,
      'invalid_token',
    );
    const client = await signedInUser(t, ['client']);
    problem(await t.app.inject({ url: '/api/v1/admin/categories', headers: client.auth }), 403, 'forbidden');
  });
});

describe('security headers', () => {
  it('every answer carries them, errors included', async () => {
    for (const url of ['/api/v1/categories', '/api/v1/me', '/no/such/route']) {
      const response = await t.app.inject({ method: 'GET', url });
      expect(response.headers['x-content-type-options'], url).toBe('nosniff');
      expect(response.headers['x-frame-options'], url).toBe('SAMEORIGIN');
      expect(response.headers['strict-transport-security'], url).toContain('max-age=');
      expect(response.headers['referrer-policy'], url).toBe('no-referrer');
    }
  });
});

describe('request ids', () => {
  it('echoes a well-formed x-request-id and uses it in the problem', async () => {
    const res = await t.app.inject({
      url: '/api/v1/no-such-thing',
      headers: { 'x-request-id': 'client-req-12345678' },
    });
    expect(res.headers['x-request-id']).toBe('client-req-12345678');
    expect(problem(res, 404, 'route_not_found').request_id).toBe('client-req-12345678');
  });

  it('replaces one that does not look like a request id, and gives one to every answer', async () => {
    const res = await t.app.inject({
      url: '/health/live',
      headers: { 'x-request-id': 'bad id\twith spaces' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const plain = await t.app.inject({ url: '/health/live' });
    expect(plain.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(plain.headers['x-request-id']).not.toBe(res.headers['x-request-id']);
  });
});

describe('Idempotency-Key', () => {
  it('replays the first answer to a retry with the same key and body, creating one row', async () => {
    const body = category();
    const key = `create-category-${Date.now()}`;
    const first = await createCategory(body, { 'idempotency-key': key });
    expect(first.statusCode).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();

    const retry = await createCategory(body, { 'idempotency-key': key });
    expect(retry.statusCode).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.json()).toEqual(first.json());

    const rows = await t.db.select().from(serviceCategories).where(eq(serviceCategories.slug, body.slug));
    expect(rows).toHaveLength(1);
    const [record] = await t.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, key));
    expect(record).toMatchObject({ scope: admin.user.id, statusCode: 201, method: 'POST' });
  });

  it('refuses the same key with a different body with 422 idempotency_key_reused', async () => {
    const key = `reused-key-${Date.now()}`;
    expect((await createCategory(category(), { 'idempotency-key': key })).statusCode).toBe(201);
    const other = category();
    problem(await createCategory(other, { 'idempotency-key': key }), 422, 'idempotency_key_reused');
    expect(await t.db.select().from(serviceCategories).where(eq(serviceCategories.slug, other.slug))).toEqual(
      [],
    );
  });

  it('replays a refusal as it was first sent: the same problem, as problem+json', async () => {
    const key = `conflict-key-${Date.now()}`;
    const taken = category();
    expect((await createCategory(taken)).statusCode).toBe(201);
    const first = await createCategory(category({ slug: taken.slug }), { 'idempotency-key': key });
    problem(first, 409, 'already_exists');
    const retry = await createCategory(category({ slug: taken.slug }), { 'idempotency-key': key });
    expect(retry.statusCode).toBe(409);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(retry.json()).toEqual(first.json());
  });

  it('runs one of two simultaneous requests with one key; the other waits for it and replays its answer', async () => {
    const key = `concurrent-key-${Date.now()}`;
    const body = category();
    const answers = await Promise.all([
      createCategory(body, { 'idempotency-key': key }),
      createCategory(body, { 'idempotency-key': key }),
    ]);
    expect(answers.map((res) => res.statusCode)).toEqual([201, 201]);
    expect(answers.map((res) => res.headers['idempotent-replayed']).sort()).toEqual(['true', undefined]);
    expect(answers[0]?.json()).toEqual(answers[1]?.json());
    expect(
      await t.db.select().from(serviceCategories).where(eq(serviceCategories.slug, body.slug)),
    ).toHaveLength(1);
  });

  it('keeps keys apart per caller', async () => {
    const key = `shared-key-${Date.now()}`;
    const other = await signedInUser(t, ['admin']);
    expect((await createCategory(category(), { 'idempotency-key': key })).statusCode).toBe(201);
    const theirs = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/categories',
      headers: { ...other.auth, 'idempotency-key': key },
      payload: category(),
    });
    expect(theirs.statusCode).toBe(201);
    expect(theirs.headers['idempotent-replayed']).toBeUndefined();
  });

  it('refuses a malformed key with 400', async () => {
    const body = category();
    problem(await createCategory(body, { 'idempotency-key': 'short' }), 400, 'invalid_idempotency_key');
    problem(
      await createCategory(body, { 'idempotency-key': 'has spaces in it' }),
      400,
      'invalid_idempotency_key',
    );
    expect(await t.db.select().from(serviceCategories).where(eq(serviceCategories.slug, body.slug))).toEqual(
      [],
    );
  });
});

describe('pagination', () => {
  it('refuses a cursor the list did not give out with 400 invalid_cursor', async () => {
    for (const cursor of ['garbage', Buffer.from('["not-a-uuid"]').toString('base64url'), 'e30']) {
      const res = await t.app.inject({
        url: `/api/v1/admin/categories?cursor=${cursor}`,
        headers: admin.auth,
      });
      const body = problem(res, 400, 'invalid_cursor');
      expect(body.errors).toEqual([expect.objectContaining({ in: 'query', field: 'cursor' })]);
    }
  });

  it('refuses a cursor another list gave out, though both are lists of ids', async () => {
    await signedInUser(t, ['client']);
    for (let i = 0; i < 2; i++) expect((await createCategory(category())).statusCode).toBe(201);
    const cursorOf = async (url: string) => {
      const res = await t.app.inject({ url, headers: admin.auth });
      expect(res.statusCode, url).toBe(200);
      const cursor = res.json<{ next_cursor: string | null }>().next_cursor;
      expect(cursor, url).toEqual(expect.any(String));
      return cursor as string;
    };
    const given = {
      staffCategories: await cursorOf('/api/v1/admin/categories?limit=1'),
      publicCategories: await cursorOf('/api/v1/categories?limit=1'),
      audit: await cursorOf('/api/v1/admin/audit?limit=1'),
      users: await cursorOf('/api/v1/admin/users?limit=1'),
    };
    for (const [url, cursor] of [
      ['/api/v1/admin/subcategories', given.staffCategories],
      ['/api/v1/admin/service-areas', given.staffCategories],
      ['/api/v1/categories', given.staffCategories],
      ['/api/v1/service-areas', given.publicCategories],
      ['/api/v1/admin/categories', given.publicCategories],
      ['/api/v1/admin/users', given.audit],
      ['/api/v1/admin/audit', given.users],
      ['/api/v1/admin/verifications', given.users],
      ['/api/v1/admin/disputes', given.users],
      ['/api/v1/admin/orders', given.users],
    ] as const) {
      const res = await t.app.inject({ url: `${url}?cursor=${cursor}`, headers: admin.auth });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().code, url).toBe('invalid_cursor');
    }
    for (const url of ['/api/v1/admin/categories', '/api/v1/admin/users']) {
      const res = await t.app.inject({ url: `${url}?limit=1`, headers: admin.auth });
      const next = await t.app.inject({
        url: `${url}?limit=1&cursor=${res.json().next_cursor}`,
        headers: admin.auth,
      });
      expect(next.statusCode, url).toBe(200);
    }
  });

  it('refuses a parameter the list does not take, such as the retired `order`', async () => {
    for (const url of [
      '/api/v1/admin/disputes?order=desc',
      '/api/v1/admin/verifications?order=desc',
      '/api/v1/admin/categories?page=2',
      '/api/v1/categories?offset=20',
    ]) {
      const res = await t.app.inject({ url, headers: admin.auth });
      const body = problem(res, 400, 'validation_failed');
      expect(body.errors, url).toEqual([
        expect.objectContaining({ in: 'query', field: url.split(/[?=]/)[1] }),
      ]);
    }
  });

  it('takes a filter of several values as the parameter repeated; one comma-separated value is a 400', async () => {
    const client = await signedInUser(t, ['client']);
    const list = (query: string) =>
      t.app.inject({ url: `/api/v1/admin/users?${query}&limit=100`, headers: admin.auth });
    const ids = async (query: string) => {
      const res = await list(query);
      expect(res.statusCode, query).toBe(200);
      return res.json<{ data: { id: string }[] }>().data.map((u) => u.id);
    };
    expect(await ids('status=active')).toContain(client.user.id);
    expect(await ids('status=blocked')).not.toContain(client.user.id);
    expect(await ids('status=blocked&status=active')).toContain(client.user.id);
    const commas = problem(await list('status=blocked,active'), 400, 'validation_failed');
    expect(commas.errors).toEqual([
      expect.objectContaining({ in: 'query', field: expect.stringMatching(/^status/) }),
    ]);
  });

  it('refuses a limit over 100, or under 1, naming the parameter', async () => {
    for (const limit of ['101', '0', 'ten']) {
      const res = await t.app.inject({ url: `/api/v1/admin/categories?limit=${limit}`, headers: admin.auth });
      const body = problem(res, 400, 'validation_failed');
      expect(body.errors).toEqual([expect.objectContaining({ in: 'query', field: 'limit' })]);
    }
  });

  it('walks a list page by page with the cursors it gives out', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `&cursor=${cursor}` : '';
      const res = await t.app.inject({
        url: `/api/v1/admin/categories?limit=3${query}`,
        headers: admin.auth,
      });
      expect(res.statusCode).toBe(200);
      const page = res.json<{ data: { id: string }[]; next_cursor: string | null }>();
      expect(page.data.length).toBeLessThanOrEqual(3);
      seen.push(...page.data.map((c) => c.id));
      cursor = page.next_cursor;
    } while (cursor);
    const all = await t.db.select().from(serviceCategories).where(eq(serviceCategories.isDeleted, false));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.sort()).toEqual(all.map((c) => c.id).sort());
  });
});
