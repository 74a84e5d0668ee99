/**
 * CORS as a web app meets it: the preflight and the headers in Node, then the same from a real browser
 * (Debian's chromium, driven by playwright-core) against the app listening on a port, with pages served from
 * two origins of their own: one allowed, one not.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { CORS_METHODS, EXPOSED_HEADERS } from '../src/platform/cors.ts';
import { signedInUser } from './factories.ts';
import { createTestApp, type TestApp, testConfig } from './helper.ts';

/** Debian's package; CHROMIUM_PATH points elsewhere (a path that does not exist shows the skip). */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
/** Set by .ci/run: there a missing browser is a failure, not a skip. */
const browserRequired = process.env.BROWSER_TESTS === 'required';

/** A page server: an empty HTML page on its own port, so on an origin of its own. */
async function servePage(): Promise<{ origin: string; server: Server }> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end('<!doctype html><title>web app</title>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

let t: TestApp;
let api: string;
let allowed: { origin: string; server: Server };
let other: { origin: string; server: Server };

beforeAll(async () => {
  [allowed, other] = await Promise.all([servePage(), servePage()]);
  t = await createTestApp({
    config: testConfig({ CORS_ORIGINS: allowed.origin, AUTH_RATE_LIMIT_PER_MINUTE: '2' }),
  });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  api = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await t?.close();
  for (const page of [allowed, other]) page?.server.close();
});

const preflight = (origin: string, method: string) =>
  fetch(`${api}/api/v1/me/profile`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': method,
      'access-control-request-headers': 'authorization, content-type, idempotency-key',
    },
  });

describe('CORS with CORS_ORIGINS set', () => {
  it('a preflight from an allowed origin allows every method the API uses, the headers a web app sends, for 2 hours', async () => {
    const response = await preflight(allowed.origin, 'PATCH');
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(allowed.origin);
    const methods = response.headers.get('access-control-allow-methods')?.split(/,\s*/);
    expect(methods).toEqual(expect.arrayContaining(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']));
    expect(response.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('idempotency-key');
    expect(response.headers.get('access-control-max-age')).toBe('7200');
  });

  it('a preflight from another origin names no origin, so the browser sends nothing', async () => {
    const response = await preflight(other.origin, 'DELETE');
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers expose ETag, Location, Retry-After, X-Request-Id and Idempotent-Replayed; cacheable ones vary on Origin and Accept-Language', async () => {
    const response = await fetch(`${api}/api/v1/categories`, { headers: { origin: allowed.origin } });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-expose-headers')?.split(/,\s*/)).toEqual(EXPOSED_HEADERS);
    const vary = response.headers.get('vary')?.toLowerCase().split(/,\s*/);
    expect(vary).toEqual(expect.arrayContaining(['origin', 'accept-language']));
    // Asked by a server, not a browser: still varies on Origin, so no cache hands its answer to a page.
    const bare = await fetch(`${api}/api/v1/providers`);
    expect(bare.headers.get('vary')?.toLowerCase().split(/,\s*/)).toEqual(
      expect.arrayContaining(['origin', 'accept-language']),
    );
  });

  it('every method the routes use is one the preflight allows; a route with another does not start', async () => {
    const spec = t.app.swagger() as { paths: Record<string, Record<string, unknown>> };
    const used = new Set(Object.values(spec.paths).flatMap((path) => Object.keys(path)));
    expect([...used].map((m) => m.toUpperCase()).filter((m) => !CORS_METHODS.includes(m as never))).toEqual(
      [],
    );

    const built = await buildApp({ config: testConfig(), database: t.database, work: false, logger: false });
    built.addHttpMethod('PROPFIND');
    expect(() =>
      built.route({
        method: 'PROPFIND',
        url: '/api/v1/test/dav',
        config: { access: 'public' },
        handler: async () => ({}),
      }),
    ).toThrow(/PROPFIND \/api\/v1\/test\/dav/);
    await built.close();
  });
});

/** The flags Chromium needs on a machine without network or display; without the background ones it hangs. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

if (!hasChromium && !browserRequired)
  console.warn(
    `test/cors.test.ts: the browser tests are SKIPPED: no ${CHROMIUM} (apt-get install -y chromium)`,
  );

describe.runIf(!hasChromium)('a real browser', () => {
  it.runIf(browserRequired)(`fails: BROWSER_TESTS=required and there is no ${CHROMIUM}`, () => {
    throw new Error(`${CHROMIUM} is missing: install it (apt-get install -y chromium)`);
  });
  it.skipIf(browserRequired)(`is skipped: no ${CHROMIUM} (apt-get install -y chromium runs it)`, () => {});
});

describe.runIf(hasChromium)('a real browser (chromium)', () => {
  let context: BrowserContext;
  let profileDir: string;

  beforeAll(async () => {
    profileDir = mkdtempSync(join(tmpdir(), 'kg-chromium-'));
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: 30_000,
    });
  });
  afterAll(async () => {
    await context?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  });

  /** Runs the calls in a page of `origin`: what each fetch answered, or the error a blocked one threw. */
  async function callsFrom(origin: string, token: string) {
    const page = await context.newPage();
    try {
      await page.goto(`${origin}/`);
      return await page.evaluate(
        async ({ api, token, origin }) => {
          const auth = { authorization: `Bearer ${token}` };
          const json = { ...auth, 'content-type': 'application/json' };
          const call = async (path: string, init: RequestInit = {}) => {
            try {
              const response = await fetch(`${api}${path}`, { cache: 'no-store', ...init });
              const headers: Record<string, string | null> = {};
              for (const name of ['etag', 'x-request-id', 'retry-after', 'idempotent-replayed', 'location'])
                headers[name] = response.headers.get(name);
              return { status: response.status, headers, body: await response.text() };
            } catch (error) {
              return { error: String(error) };
            }
          };
          const categories = await call('/api/v1/categories');
          const etag = categories.headers?.etag ?? null;
          const key = crypto.randomUUID();
          const become = { method: 'POST', headers: { ...json, 'idempotency-key': key }, body: '{}' };
          const login = {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ email: 'nobody@example.kg', password: 'wrong-password-1' }),
          };
          return {
            categories,
            notModified: await call('/api/v1/categories', { headers: { 'if-none-match': etag ?? '"none"' } }),
            patch: await call('/api/v1/me/profile', {
              method: 'PATCH',
              headers: json,
              body: JSON.stringify({ full_name: `Renamed from ${origin}` }),
            }),
            created: await call('/api/v1/me/client-profile', become),
            replayed: await call('/api/v1/me/client-profile', become),
            logins: [await call('/api/v1/auth/login', login), await call('/api/v1/auth/login', login)],
            limited: await call('/api/v1/auth/login', login),
            deleted: await call('/api/v1/auth/sessions', { method: 'DELETE', headers: auth }),
          };
        },
        { api, token, origin },
      );
    } finally {
      await page.close();
    }
  }

  it('a page on another origin can neither PATCH nor DELETE, nor read an answer; nothing changes', async () => {
    const user = await signedInUser(t, [], 'Original Name');
    const calls = await callsFrom(other.origin, user.token);
    for (const name of ['categories', 'patch', 'created', 'deleted'] as const) {
      expect(calls[name], name).toEqual({ error: expect.stringMatching(/Failed to fetch/) });
    }
    const profile = await t.app.inject({ url: '/api/v1/me/profile', headers: user.auth });
    expect(profile.statusCode).toBe(200);
    expect(profile.json().full_name).toBe('Original Name');
    const client = await t.app.inject({ url: '/api/v1/me/client-profile', headers: user.auth });
    expect(client.statusCode).toBe(404);
  });

  it('a page on the allowed origin can PATCH and DELETE and read ETag, X-Request-Id, Idempotent-Replayed and Retry-After', async () => {
    const user = await signedInUser(t, [], 'Original Name');
    const calls = await callsFrom(allowed.origin, user.token);

    expect(calls.categories).toMatchObject({
      status: 200,
      headers: { etag: expect.stringMatching(/^W\/".+"$/) },
    });
    expect(calls.categories).toMatchObject({ headers: { 'x-request-id': expect.any(String) } });
    expect(calls.notModified).toMatchObject({ status: 304, body: '' });

    expect(calls.patch).toMatchObject({ status: 200, headers: { 'x-request-id': expect.any(String) } });
    expect(JSON.parse((calls.patch as { body: string }).body).full_name).toBe(
      `Renamed from ${allowed.origin}`,
    );

    expect(calls.created).toMatchObject({ status: 201, headers: { 'idempotent-replayed': null } });
    expect(calls.replayed).toMatchObject({ status: 201, headers: { 'idempotent-replayed': 'true' } });

    expect(calls.logins.map((l) => ('status' in l ? l.status : l))).toEqual([401, 401]);
    expect(calls.limited).toMatchObject({
      status: 429,
      headers: { 'retry-after': expect.stringMatching(/^\d+$/) },
    });

    expect(calls.deleted).toMatchObject({ status: 200 });
    const after = await t.app.inject({ url: '/api/v1/me/profile', headers: user.auth });
    expect(after.statusCode).toBe(401);
  });
});
