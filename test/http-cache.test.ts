import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededCatalog } from '../src/modules/core/catalog-fixtures.ts';
import { signedInUser } from './factories.ts';
import { createTestApp, type TestApp } from './helper.ts';

let t: TestApp;
let owner: Awaited<ReturnType<typeof signedInUser>>;
let providerId: string;

beforeAll(async () => {
  t = await createTestApp();
  const { areas } = await seededCatalog(t.db);
  owner = await signedInUser(t, ['client'], 'Asel Owner');
  const created = await t.app.inject({
    method: 'POST',
    url: '/api/v1/me/provider-profile',
    headers: owner.auth,
    payload: { business_name: 'Чистый дом', service_area_ids: [areas[0]!.id] },
  });
  expect(created.statusCode).toBe(201);
  providerId = created.json().id;
});
afterAll(() => t.close());

const get = (url: string, ifNoneMatch?: string) =>
  t.app.inject({ url, headers: ifNoneMatch === undefined ? {} : { 'if-none-match': ifNoneMatch } });

/** The answers that are the same for every caller: the catalog, the directory, a public profile, reviews. */
const shared = () => [
  '/api/v1/categories',
  '/api/v1/service-areas',
  '/api/v1/providers',
  `/api/v1/providers/${providerId}`,
  `/api/v1/providers/${providerId}/reviews`,
];

describe('conditional requests on shared reads (RFC 9110)', () => {
  it('every shared read carries a weak ETag, public Cache-Control, and varies on Accept-Language', async () => {
    for (const url of shared()) {
      const answer = await get(url);
      expect(answer.statusCode, url).toBe(200);
      expect(answer.headers.etag, url).toMatch(/^W\/"[\w-]+"$/);
      expect(answer.headers['cache-control'], url).toMatch(/^public, /);
      expect(String(answer.headers.vary).toLowerCase(), url).toContain('accept-language');
    }
  });

  it('answers 304, with the validators and no body, to the tag, its strong form, a list holding it, and *', async () => {
    for (const url of shared()) {
      const first = await get(url);
      const tag = first.headers.etag as string;
      for (const condition of [tag, tag.slice(2), `"other", W/"more", ${tag}`, `${tag},"other"`, '*']) {
        const answer = await get(url, condition);
        expect([answer.statusCode, answer.body], `${url} If-None-Match: ${condition}`).toEqual([304, '']);
        expect(answer.headers.etag).toBe(tag);
        expect(answer.headers['cache-control']).toBe(first.headers['cache-control']);
        expect(answer.headers.vary).toBe(first.headers.vary);
        expect(answer.headers['content-length']).toBeUndefined();
      }
    }
  });

  it('evaluates If-None-Match though the request says Cache-Control: no-cache, as a browser that bypasses its cache does', async () => {
    const first = await get('/api/v1/categories');
    const answer = await t.app.inject({
      url: '/api/v1/categories',
      headers: {
        'if-none-match': first.headers.etag as string,
        'cache-control': 'no-cache',
        pragma: 'no-cache',
      },
    });
    expect(answer.statusCode).toBe(304);
  });

  it('answers 200 with the body when no tag matches, a weak tag of other bytes included', async () => {
    for (const url of shared()) {
      const first = await get(url);
      const tag = first.headers.etag as string;
      for (const condition of ['W/"other"', '"a", "b"', `${tag.slice(0, -1)}-other"`, '""']) {
        const answer = await get(url, condition);
        expect(answer.statusCode, `${url} If-None-Match: ${condition}`).toBe(200);
        expect(answer.body).toBe(first.body);
      }
    }
  });

  it('a tag stops matching once the answer changes', async () => {
    const url = `/api/v1/providers/${providerId}`;
    const before = await get(url);
    const renamed = await t.app.inject({
      method: 'PATCH',
      url: '/api/v1/me/provider-profile',
      headers: owner.auth,
      payload: { business_name: 'Чистый дом плюс' },
    });
    expect(renamed.statusCode).toBe(200);
    const after = await get(url, before.headers.etag as string);
    expect(after.statusCode).toBe(200);
    expect(after.headers.etag).not.toBe(before.headers.etag);
    expect(after.json().business_name).toBe('Чистый дом плюс');
  });

  it('refusals and answers for one caller carry no ETag and are not public', async () => {
    const missing = await get('/api/v1/providers/01930000-0000-7000-8000-000000000000', '*');
    expect(missing.statusCode).toBe(404);
    expect(missing.headers.etag).toBeUndefined();
    const mine = await t.app.inject({
      url: '/api/v1/me/profile',
      headers: { ...owner.auth, 'if-none-match': '*' },
    });
    expect(mine.statusCode).toBe(200);
    expect(mine.headers.etag).toBeUndefined();
    expect(mine.headers['cache-control']).toBeUndefined();
  });

  it('the OpenAPI document lists the 304 of every shared read', async () => {
    const spec = t.app.swagger() as {
      paths: Record<string, { get?: { responses: Record<string, unknown> } }>;
    };
    for (const path of [
      '/api/v1/categories',
      '/api/v1/providers',
      '/api/v1/providers/{id}',
      '/api/v1/providers/{id}/reviews',
    ])
      expect(Object.keys(spec.paths[path]?.get?.responses ?? {}), path).toContain('304');
  });
});
