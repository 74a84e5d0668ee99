/**
 * What an operator can close off: `/metrics` behind a bearer token (METRICS_TOKEN) and the API docs
 * (DOCS_ENABLED). Each app here is the real one, built on one database with the configuration under test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/platform/db.ts';
import { createTestApp, createTestDatabase, type TestApp, testConfig } from './helper.ts';

const TOKEN = 'metrics-scrape-token-4f9a2c';

let database: Database;
const apps: TestApp[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  for (const t of apps) await t.close();
  await database.close();
});

async function appWith(env: Record<string, string>) {
  const t = await createTestApp({ database, config: testConfig(env) });
  apps.push(t);
  return t;
}

describe('/metrics with METRICS_TOKEN set', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await appWith({ METRICS_TOKEN: TOKEN });
  });

  it('answers 401 problem+json without the token, with a wrong one, or with another scheme', async () => {
    for (const [authorization, code] of [
      [undefined, 'unauthorized'],
      [`Bearer ${TOKEN}x`, 'invalid_token'],
      [`Bearer ${TOKEN.slice(0, -1)}`, 'invalid_token'],
      ['Bearer', 'invalid_token'],
      [`Basic ${TOKEN}`, 'invalid_token'],
      [`Bearer ${'a'.repeat(5000)}`, 'invalid_token'],
    ] as const) {
      const res = await t.app.inject({
        url: '/metrics',
        headers: authorization ? { authorization } : {},
      });
      expect(res.statusCode, authorization).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(res.json()).toMatchObject({ status: 401, code });
      expect(res.body).not.toContain('http_request_duration_seconds');
    }
  });

  it('serves the metrics to the bearer of the token', async () => {
    const res = await t.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toContain('# TYPE http_request_duration_seconds histogram');
    expect(res.body).toContain('status="401"');
  });

  it('documents the token and the 401, the same whether the server has a token or not', async () => {
    const doc = (await t.app.inject({ url: '/docs/json' })).json();
    const op = doc.paths['/metrics'].get;
    expect(op.security).toEqual([{ metricsToken: [] }, {}]);
    const open = await appWith({});
    expect((await open.app.inject({ url: '/docs/json' })).json().paths['/metrics']).toEqual(
      doc.paths['/metrics'],
    );
    expect(Object.keys(op.responses['401'].content)).toEqual(['application/problem+json']);
    expect(Object.keys(op.responses['200'].content)).toEqual(['text/plain']);
    expect(doc.components.securitySchemes.metricsToken).toMatchObject({ type: 'http', scheme: 'bearer' });
  });
});

describe('/metrics without METRICS_TOKEN', () => {
  it('is open, as before', async () => {
    const t = await appWith({});
    const res = await t.app.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('http_request_duration_seconds');
  });
});

describe('DOCS_ENABLED=false', () => {
  it('takes /docs, /docs/json and /docs/asyncapi.json away, and nothing else', async () => {
    const t = await appWith({ DOCS_ENABLED: 'false' });
    const docs = [
      '/docs',
      '/docs/',
      '/docs/json',
      '/docs/yaml',
      '/docs/static/index.html',
      '/docs/asyncapi.json',
    ];
    for (const url of docs) {
      const res = await t.app.inject({ url });
      expect(res.statusCode, url).toBe(404);
      expect(res.json()).toMatchObject({ code: 'route_not_found' });
    }
    expect((await t.app.inject({ url: '/health/live' })).statusCode).toBe(200);
    expect((await t.app.inject({ url: '/api/v1/categories' })).statusCode).toBe(200);
  });

  it('production leaves them off unless DOCS_ENABLED=true', async () => {
    const production = { NODE_ENV: 'production' };
    const off = await appWith(production);
    expect((await off.app.inject({ url: '/docs/json' })).statusCode).toBe(404);
    const on = await appWith({ ...production, DOCS_ENABLED: 'true' });
    const res = await on.app.inject({ url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    expect(res.json().openapi).toMatch(/^3\.1\./);
  });
});
