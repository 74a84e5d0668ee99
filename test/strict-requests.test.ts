import Fastify, { type InjectOptions, type LightMyRequestResponse } from 'fastify';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerContract } from '../src/platform/contract.ts';
import { createTestApp, type TestApp, testConfig } from './helper.ts';
import { MISSING, orderFixtures, PDF } from './order-fixtures.ts';

/**
 * Where a client errs silently, the API says so (platform/contract.ts): unknown query parameters, a wrong
 * method, a body that is not JSON; and a created resource says where it lives.
 */
let t: TestApp;
/** The same app without CORS, on the same database. */
let plain: TestApp;
const ORIGIN = 'https://app.example.kg';
const f = orderFixtures(() => t);
const { call } = f;

beforeAll(async () => {
  t = await createTestApp({
    config: testConfig({ CORS_ORIGINS: ORIGIN }),
    prepare: (app) => {
      // The shape a payment processor's callback will have: it alone takes a form body.
      app.post(
        '/test/callback',
        {
          config: { access: 'public', formBody: true },
          schema: {
            body: Type.Object(
              { status: Type.String({ maxLength: 20 }), order: Type.String({ maxLength: 40 }) },
              { additionalProperties: false },
            ),
          },
        },
        async (request) => request.body,
      );
    },
  });
  plain = await createTestApp({ database: t.database });
});
afterAll(async () => {
  await plain.close();
  await t.close();
});

function problem(res: LightMyRequestResponse, status: number, code: string) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json();
  expect(body).toMatchObject({ status, code, request_id: res.headers['x-request-id'] });
  return body as { detail: string; errors?: { in: string; field: string; message: string }[] };
}

const inject = (options: InjectOptions) => t.app.inject(options);

describe('unknown query parameters', () => {
  it('are a 400 naming each, on lists and on every other route, and change nothing', async () => {
    const owner = await f.client();
    const order = await f.newOrder(owner);
    for (const [method, url, field] of [
      ['GET', '/api/v1/me/orders?status[]=draft', 'status[]'],
      ['GET', `/api/v1/orders/${order.id}?fields=title`, 'fields'],
      ['GET', '/api/v1/me?expand=profile', 'expand'],
      ['GET', '/api/v1/app-versions/check?platform=android&build=1&channel=beta', 'channel'],
      ['POST', `/api/v1/orders/${order.id}/publish?dry_run=true`, 'dry_run'],
    ] as const) {
      const res = await inject({ method, url, headers: owner.auth });
      expect(problem(res, 400, 'validation_failed').errors, url).toEqual([
        { in: 'query', field, message: 'is not a known field' },
      ]);
    }
    // The publish that named an unknown parameter did not happen.
    expect((await call('GET', `/api/v1/orders/${order.id}`, owner.auth)).body.status).toBe('draft');
  });

  it('leave the multi-value filter as it was: the parameter repeated', async () => {
    const owner = await f.client();
    const draft = await f.newOrder(owner);
    const published = await f.newOrder(owner, { publish: true });
    const ids = async (query: string) => {
      const res = await call('GET', `/api/v1/me/orders?${query}`, owner.auth);
      expect(res.status, query).toBe(200);
      return res.body.data.map((o: { id: string }) => o.id).sort();
    };
    expect(await ids('status=draft')).toEqual([draft.id]);
    expect(await ids('status=draft&status=published')).toEqual([draft.id, published.id].sort());
    problem(
      await inject({ url: '/api/v1/me/orders?status=draft,published', headers: owner.auth }),
      400,
      'validation_failed',
    );
  });

  it('a route declares its querystring as an object of what it takes, or the app does not start', () => {
    const app = Fastify();
    registerContract(app);
    expect(() =>
      app.get(
        '/loose',
        {
          config: { access: 'public' },
          schema: { querystring: Type.Object({ q: Type.String() }, { additionalProperties: true }) },
        },
        async () => ({}),
      ),
    ).toThrow(/querystring/);
  });
});

/** The methods each concrete path of the served document has, as `Allow` lists them. */
function documentedMethods(paths: Record<string, Record<string, unknown>>) {
  const order = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
  const templates = Object.entries(paths).map(([path, operations]) => ({
    path,
    pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`),
    methods: Object.keys(operations).map((m) => m.toUpperCase()),
  }));
  return templates.map(({ path }) => {
    const concrete = path.replace(/\{[^}]+\}/g, MISSING);
    // Every route whose pattern takes the path: `/orders/feed` is also an `/orders/{id}`.
    const methods = new Set(
      templates.filter((other) => other.pattern.test(concrete)).flatMap((o) => o.methods),
    );
    if (methods.has('GET')) methods.add('HEAD');
    return { concrete, allowed: order.filter((m) => methods.has(m)) };
  });
}

describe('a known path with a method it does not take', () => {
  it('is a 405 listing in Allow what the path takes; an unknown path stays a 404', async () => {
    const owner = await f.client();
    const order = await f.newOrder(owner);
    const put = await inject({ method: 'PUT', url: `/api/v1/orders/${order.id}`, headers: owner.auth });
    expect(problem(put, 405, 'method_not_allowed').detail).toBe(
      `/api/v1/orders/${order.id} takes GET, HEAD, PATCH, DELETE, not PUT`,
    );
    expect(put.headers.allow).toBe('GET, HEAD, PATCH, DELETE');
    expect((await inject({ method: 'DELETE', url: '/api/v1/categories' })).headers.allow).toBe('GET, HEAD');
    expect((await inject({ method: 'GET', url: '/api/v1/orders' })).headers.allow).toBe('POST');
    for (const [method, url] of [
      ['GET', '/api/v1/no-such-thing'],
      ['DELETE', '/api/v1/no-such-thing/x'],
      ['PUT', `/api/v1/orders/${order.id}/nothing`],
      ['POST', '/api/v2/orders'],
    ] as const) {
      const res = await inject({ method, url, headers: owner.auth });
      problem(res, 404, 'route_not_found');
      expect(res.headers.allow, url).toBeUndefined();
    }
  });

  /** Routes kept only to tell old apps where they moved: routed, signed in, documented as deprecated. */
  const MOVED = ['DELETE /api/v1/me', 'GET /api/v1/me/export', 'HEAD /api/v1/me/export'];

  it('every path of the public document answers each method it lacks with 405 and its own methods', async () => {
    const document = t.app.swagger() as { paths: Record<string, Record<string, unknown>> };
    let checked = 0;
    for (const { concrete, allowed } of documentedMethods(document.paths)) {
      for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const) {
        if (allowed.includes(method)) continue;
        const res = await inject({ method, url: concrete });
        if (MOVED.includes(`${method} ${concrete}`)) {
          expect(res.statusCode, `${method} ${concrete}`).toBe(401);
          continue;
        }
        expect(res.statusCode, `${method} ${concrete}`).toBe(405);
        const moved = MOVED.filter((route) => route.endsWith(` ${concrete}`))
          .map((route) => route.split(' ')[0] as string)
          .filter((route) => !allowed.includes(route));
        expect(res.headers.allow?.split(', ').sort(), `${method} ${concrete}`).toEqual(
          [...allowed, ...moved].sort(),
        );
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('answers the same to everyone and for every id: it tells a stranger no more than the document does', async () => {
    const owner = await f.client();
    const order = await f.newOrder(owner, { publish: true });
    const stranger = await f.client('Посторонний');
    const admin = await f.user(['admin']);
    const seen = new Set<string>();
    for (const headers of [
      {},
      owner.auth,
      stranger.auth,
      admin.auth,
      { authorization: 'Bearer not-a-token' },
    ]) {
      for (const id of [order.id, MISSING]) {
        for (const url of [`/api/v1/orders/${id}`, `/api/v1/admin/users/${id}`]) {
          const res = await inject({ method: 'PUT', url, headers });
          const body = problem(res, 405, 'method_not_allowed');
          seen.add(`${url.replace(id, '{id}')} ${res.headers.allow} ${body.detail.replace(id, '{id}')}`);
        }
      }
    }
    expect([...seen].sort()).toEqual([
      '/api/v1/admin/users/{id} GET, HEAD /api/v1/admin/users/{id} takes GET, HEAD, not PUT',
      '/api/v1/orders/{id} GET, HEAD, PATCH, DELETE /api/v1/orders/{id} takes GET, HEAD, PATCH, DELETE, not PUT',
    ]);
    // The staff route's path is no secret: the public document lists it, and its own method says 401.
    expect(Object.keys((t.app.swagger() as { paths: object }).paths)).toContain('/api/v1/admin/users/{id}');
    problem(await inject({ url: `/api/v1/admin/users/${order.id}` }), 401, 'unauthorized');
  });

  it('keeps HEAD on every GET and the CORS preflight working', async () => {
    const head = await inject({ method: 'HEAD', url: '/api/v1/categories' });
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe('');
    const preflight = await inject({
      method: 'OPTIONS',
      url: '/api/v1/orders',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST' },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(ORIGIN);
    const simple = await inject({ url: '/api/v1/categories', headers: { origin: ORIGIN } });
    expect(simple.headers['access-control-allow-origin']).toBe(ORIGIN);
    // Without CORS there is no OPTIONS: the path says what it takes.
    const off = await plain.app.inject({ method: 'OPTIONS', url: '/api/v1/orders' });
    problem(off, 405, 'method_not_allowed');
    expect(off.headers.allow).toBe('POST');
    problem(await plain.app.inject({ method: 'OPTIONS', url: '/api/v1/nothing' }), 404, 'route_not_found');
  });
});

describe('a body that is not JSON', () => {
  it('is a 415 on every JSON route, and changes nothing', async () => {
    const owner = await f.client();
    const body = JSON.stringify(await f.orderBody());
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      const res = await inject({
        method: 'POST',
        url: '/api/v1/orders',
        headers: { ...owner.auth, 'content-type': type },
        payload: body,
      });
      problem(res, 415, 'unsupported_media_type');
    }
    problem(
      await inject({
        method: 'PATCH',
        url: '/api/v1/me/profile',
        headers: { ...owner.auth, 'content-type': 'text/plain' },
        payload: '{"bio":"x"}',
      }),
      415,
      'unsupported_media_type',
    );
    // A body without a Content-Type is no JSON either.
    problem(
      await inject({ method: 'POST', url: '/api/v1/orders', headers: owner.auth, payload: body }),
      415,
      'unsupported_media_type',
    );
    expect((await call('GET', '/api/v1/me/orders', owner.auth)).body.data).toEqual([]);
    const json = await inject({
      method: 'POST',
      url: '/api/v1/orders',
      headers: { ...owner.auth, 'content-type': 'application/json; charset=utf-8' },
      payload: body,
    });
    expect(json.statusCode).toBe(201);
  });

  it('is taken as a form by a route that says so (a processor callback), and JSON still is', async () => {
    const form = await inject({
      method: 'POST',
      url: '/test/callback',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'status=paid&order=A%2017',
    });
    expect(form.statusCode, form.body).toBe(200);
    expect(form.json()).toEqual({ status: 'paid', order: 'A 17' });
    const json = await inject({
      method: 'POST',
      url: '/test/callback',
      payload: { status: 'paid', order: 'B' },
    });
    expect(json.json()).toEqual({ status: 'paid', order: 'B' });
    problem(
      await inject({
        method: 'POST',
        url: '/test/callback',
        headers: { 'content-type': 'text/plain' },
        payload: 'status=paid',
      }),
      415,
      'unsupported_media_type',
    );
  });
});

describe('a created resource', () => {
  /** The 201's Location, and that the caller reads the resource there. */
  async function createdAt(
    res: { status: number; headers: Record<string, unknown>; body: unknown },
    path: string,
    auth: Record<string, string>,
  ) {
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.headers.location).toBe(path);
    const there = await call('GET', path, auth);
    expect(there.status, path).toBe(200);
    return there.body;
  }

  it('answers 201 with Location along an order’s life: order, bid, assignment, note, review, dispute', async () => {
    const owner = await f.client();
    const p = await f.provider('Локейшн Мастер');
    const made = await call('POST', '/api/v1/orders', owner.auth, await f.orderBody({ publish: true }));
    const order = await createdAt(made, `/api/v1/orders/${made.body.id}`, owner.auth);
    expect(order.id).toBe(made.body.id);

    const bid = await call('POST', `/api/v1/orders/${order.id}/bids`, p.auth, { amount: 500_000 });
    expect((await createdAt(bid, `/api/v1/bids/${bid.body.id}`, p.auth)).id).toBe(bid.body.id);
    expect((await call('GET', `/api/v1/bids/${bid.body.id}`, owner.auth)).body.amount).toBe(500_000);
    const stranger = await f.provider('Чужой мастер');
    const peek = await call('GET', `/api/v1/bids/${bid.body.id}`, stranger.auth);
    expect([peek.status, peek.body.code]).toEqual([404, 'bid_not_found']);

    const assignment = `/api/v1/orders/${order.id}/assignment`;
    const accepted = await call('POST', `/api/v1/bids/${bid.body.id}/accept`, owner.auth, {
      amount: 500_000,
    });
    expect((await createdAt(accepted, assignment, owner.auth)).order_id).toBe(order.id);
    const note = await call('POST', `${assignment}/notes`, p.auth, { text: 'Купил смеситель' });
    expect((await createdAt(note, assignment, p.auth)).progress_notes).toHaveLength(1);

    await f.act(order.id, 'start', p);
    await f.act(order.id, 'complete', p);
    await f.act(order.id, 'confirm', owner);
    const review = await call('POST', `/api/v1/orders/${order.id}/reviews`, owner.auth, { rating: 5 });
    const reviewed = await createdAt(review, `/api/v1/orders/${order.id}/reviews/${review.body.id}`, p.auth);
    expect(reviewed.rating).toBe(5);
    expect(
      (await call('GET', `/api/v1/orders/${order.id}/reviews/${review.body.id}`, stranger.auth)).status,
    ).toBe(404);
    expect((await call('GET', `/api/v1/orders/${order.id}/reviews/${MISSING}`, owner.auth)).body.code).toBe(
      'review_not_found',
    );

    const dispute = await call('POST', `/api/v1/orders/${order.id}/disputes`, p.auth, {
      dispute_type: 'payment_dispute',
      description: 'Клиент не заплатил за работу',
    });
    const disputed = await createdAt(
      dispute,
      `/api/v1/orders/${order.id}/disputes/${dispute.body.id}`,
      owner.auth,
    );
    expect(disputed).toEqual(dispute.body);
    expect(
      (await call('GET', `/api/v1/orders/${order.id}/disputes/${dispute.body.id}`, stranger.auth)).status,
    ).toBe(404);
    expect((await call('GET', `/api/v1/orders/${order.id}/disputes/${MISSING}`, p.auth)).body.code).toBe(
      'dispute_not_found',
    );
  });

  it('answers 201 with Location for accounts, profiles, services, favorites, uploads, verifications, staff creations', async () => {
    const registered = await call('POST', '/api/v1/auth/register', undefined, {
      email: `located.${Date.now()}@example.kg`,
      password: 'correct horse battery',
      full_name: 'Локейшн',
    });
    const auth = { authorization: `Bearer ${registered.body.access_token}` };
    expect((await createdAt(registered, '/api/v1/me', auth)).id).toBe(registered.body.user.id);
    await createdAt(
      await call('POST', '/api/v1/me/client-profile', auth, {}),
      '/api/v1/me/client-profile',
      auth,
    );
    const provider = await call('POST', '/api/v1/me/provider-profile', auth, {
      business_name: 'Локейшн и сыновья',
      description: 'Опытный мастер на все руки',
    });
    await createdAt(provider, '/api/v1/me/provider-profile', auth);
    const service = await call('POST', '/api/v1/me/services', auth, {
      subcategory_id: (await f.sub('plumbing')).id,
      base_price: 100_000,
    });
    await createdAt(service, `/api/v1/me/services/${service.body.id}`, auth);

    const fan = await f.client('Поклонник');
    const favorite = await call('PUT', `/api/v1/me/favorites/${provider.body.id}`, fan.auth);
    expect([favorite.status, favorite.headers.location]).toEqual([
      201,
      `/api/v1/me/favorites/${provider.body.id}`,
    ]);
    const again = await call('PUT', `/api/v1/me/favorites/${provider.body.id}`, fan.auth);
    expect([again.status, again.headers.location]).toEqual([204, undefined]);

    const upload = await inject({
      method: 'POST',
      url: '/api/v1/files?purpose=verification_evidence',
      headers: { ...auth, 'content-type': 'application/pdf' },
      payload: PDF,
    });
    const file = upload.json().id as string;
    expect([upload.statusCode, upload.headers.location]).toEqual([201, `/api/v1/files/${file}`]);
    expect((await inject({ url: `/api/v1/files/${file}`, headers: auth })).statusCode).toBe(200);
    const verification = await call('POST', '/api/v1/me/verifications', auth, {
      verification_type: 'identity',
      evidence_file_ids: [file],
    });
    await createdAt(verification, `/api/v1/me/verifications/${verification.body.id}`, auth);

    const admin = await f.user(['admin']);
    const category = await call('POST', '/api/v1/admin/categories', admin.auth, {
      slug: `located-${Date.now()}`,
      name: { ru: 'Тест', en: 'Test' },
    });
    await createdAt(category, `/api/v1/admin/categories/${category.body.id}`, admin.auth);
  });

  it('keeps its Location when an idempotent retry replays it', async () => {
    const owner = await f.client();
    const body = await f.orderBody();
    const headers = { ...owner.auth, 'idempotency-key': `strict-${Date.now()}` };
    const first = await call('POST', '/api/v1/orders', headers, body);
    const replay = await call('POST', '/api/v1/orders', headers, body);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect([replay.status, replay.headers.location]).toEqual([201, `/api/v1/orders/${first.body.id}`]);
  });

  it('a route that answers 201 says where the resource is, or the app does not start', () => {
    const app = Fastify();
    registerContract(app);
    const route = (config: { access: 'public'; location?: string }, status: number) =>
      app.post(
        `/made-${status}-${config.location ?? 'none'}`,
        { config, schema: { response: { [status]: Type.Object({}) } } },
        async () => ({}),
      );
    expect(() => route({ access: 'public' }, 201)).toThrow(/config.location/);
    expect(() => route({ access: 'public', location: '/made/{id}' }, 200)).toThrow(/config.location/);
    expect(() => route({ access: 'public', location: '/made/{id}' }, 201)).not.toThrow();
  });
});
