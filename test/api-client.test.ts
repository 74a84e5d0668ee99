import { copyFileSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OpenAPI3, ResponseObject } from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiClient,
  createClient,
  idempotencyKey,
  type ProblemOf,
} from '../clients/typescript/src/index.ts';
import { createTestApp, type TestApp } from './helper.ts';

/**
 * The journey of test/journey.test.ts as an app developer writes it: through the generated client
 * (clients/typescript), over HTTP to the app listening on a port. The root type check compiles this file, so
 * every path, body and answer here is held to the committed OpenAPI document.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLIENT = join(ROOT, 'clients', 'typescript');
let t: TestApp;
let baseUrl: string;

beforeAll(async () => {
  t = await createTestApp();
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
afterAll(() => t.close());

/** Two days ahead, as YYYY-MM-DD in Bishkek: a service date the create route accepts. */
const serviceDate = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Bishkek' }).format(
  new Date(Date.now() + 2 * 86_400_000),
);

/**
 * What the document of this commit asks for though the server does not: a list's `limit` (it defaults to 20)
 * and `sort`,
 * `publish` on a new order (false) and a body on actions that take an optional note. An app sends them;
 * once the document tells the truth (issue 17, item 3) these still compile.
 */
const firstPage = { params: { query: { limit: 20 } } };
const noNote = { body: {} };

/** What an app would tell its user for a refused review: each code the route documents, by name. */
function reviewRefusal(problem: ProblemOf<'/api/v1/orders/{id}/reviews', 'post'>): string {
  switch (problem.code) {
    case 'review_already_exists':
      return 'You have already rated this order';
    case 'validation_failed':
      return `Check ${(problem.errors ?? []).map((e) => e.field).join(', ')}`;
    default:
      return problem.detail ?? problem.title;
  }
}

/** Signs up and answers a client that sends the newest token of the account. */
async function signUp(api: ApiClient, email: string, fullName: string) {
  const { data, error } = await api.POST('/api/v1/auth/register', {
    body: { email, password: 'a long enough journey password', full_name: fullName, device_name: 'phone' },
  });
  expect(error).toBeUndefined();
  const session = { ...data! };
  const client = createClient({ baseUrl, token: () => session.access_token });
  return { session, client };
}

describe('the typed client, driven through a whole journey', () => {
  it('signs up a client and a provider and takes an order from draft to both reviews', async () => {
    // The catalog as anyone sees it, in the language the app asks for.
    const anonymous = createClient({ baseUrl, language: 'en' });
    const categories = await anonymous.GET('/api/v1/categories', firstPage);
    expect(categories.response.status).toBe(200);
    const plumbing = categories.data!.data.flatMap((c) => c.subcategories).find((s) => s.slug === 'plumbing');
    expect(plumbing?.name).toBe('Plumbing');
    const inRussian = await createClient({ baseUrl, language: 'ru' }).GET('/api/v1/categories', firstPage);
    const russian = inRussian.data!.data.flatMap((c) => c.subcategories).find((s) => s.slug === 'plumbing');
    expect(russian?.name).toBe('Сантехника');
    const areas = await anonymous.GET('/api/v1/service-areas', firstPage);
    const bishkek = areas.data!.data.find((a) => a.slug === 'bishkek')!;
    expect(bishkek).toBeTruthy();

    // Sign-up: both start as clients.
    const aigul = await signUp(anonymous, `aigul.${Date.now()}@example.kg`, 'Айгуль Токтогулова');
    const bakyt = await signUp(anonymous, `bakyt.${Date.now()}@example.kg`, 'Бакыт Асанов');
    expect(aigul.session.user.roles).toEqual(['client']);
    const me = await aigul.client.GET('/api/v1/me');
    expect(me.data).toMatchObject({ id: aigul.session.user.id, full_name: 'Айгуль Токтогулова' });

    // Profiles.
    const profile = await aigul.client.PATCH('/api/v1/me/profile', {
      body: { bio: 'Живу в Бишкеке', service_area_id: bishkek.id },
    });
    expect(profile.data).toMatchObject({ service_area_id: bishkek.id, has_client_profile: false });
    const clientProfile = await aigul.client.POST('/api/v1/me/client-profile', { body: {} });
    expect(clientProfile.response.status).toBe(201);
    const providerProfile = await bakyt.client.POST('/api/v1/me/provider-profile', {
      body: {
        business_name: 'Сантехник Бакыт',
        description: 'Опытный мастер, 10 лет',
        experience_years: 10,
        service_area_ids: [bishkek.id],
      },
    });
    expect(providerProfile.error).toBeUndefined();
    const providerId = providerProfile.data!.id;
    // The provider role comes with fresh tokens; the client's token getter sends the new one from now on.
    const refreshed = await anonymous.POST('/api/v1/auth/refresh', {
      body: { refresh_token: bakyt.session.refresh_token },
    });
    expect(refreshed.data!.user.roles).toEqual(expect.arrayContaining(['client', 'provider']));
    Object.assign(bakyt.session, refreshed.data);
    const service = await bakyt.client.POST('/api/v1/me/services', {
      body: { subcategory_id: plumbing!.id, base_price: 150_000, description: 'Замена смесителей и труб' },
    });
    expect(service.response.status).toBe(201);

    // The order, created once however often the app retries it with the same key.
    const key = idempotencyKey();
    const draft = {
      subcategory_id: plumbing!.id,
      title: 'Течёт кран на кухне',
      description: 'Нужно заменить смеситель, кран течёт уже неделю',
      service_area_id: bishkek.id,
      address: 'ул. Киевская 77, кв. 5',
      service_date: serviceDate,
      time_from: '10:00',
      time_to: '14:00',
      urgency: 'high' as const,
      budget_min: 100_000,
      budget_max: 300_000,
      publish: false,
    };
    const created = await aigul.client.POST('/api/v1/orders', { body: draft, headers: key });
    expect(created.error).toBeUndefined();
    expect(created.data).toMatchObject({ status: 'draft', viewer_role: 'client', bid_count: 0 });
    const orderId = created.data!.id;
    expect(created.response.headers.get('location')).toBe(`/api/v1/orders/${orderId}`);
    const retried = await aigul.client.POST('/api/v1/orders', { body: draft, headers: key });
    expect(retried.data!.id).toBe(orderId);
    expect(retried.response.headers.get('idempotent-replayed')).toBe('true');
    const order = { params: { path: { id: orderId } } };

    const published = await aigul.client.POST('/api/v1/orders/{id}/publish', { ...order, ...noNote });
    expect(published.data!.status).toBe('published');
    const feed = await bakyt.client.GET('/api/v1/orders/feed', {
      params: { query: { ...firstPage.params.query, sort: 'newest' } },
    });
    expect(feed.data!.data.map((o) => o.id)).toContain(orderId);

    // The provider bids; the client accepts it.
    const bid = await bakyt.client.POST('/api/v1/orders/{id}/bids', {
      ...order,
      body: { amount: 200_000, message: 'Приеду завтра утром' },
      headers: idempotencyKey(),
    });
    expect(bid.data).toMatchObject({ order_id: orderId, provider_profile_id: providerId, status: 'pending' });
    const accepted = await aigul.client.POST('/api/v1/bids/{id}/accept', {
      params: { path: { id: bid.data!.id } },
      body: { amount: 200_000 },
      headers: idempotencyKey(),
    });
    expect(accepted.response.status).toBe(201);
    const assigned = await bakyt.client.GET('/api/v1/orders/{id}', order);
    expect(assigned.data).toMatchObject({
      status: 'assigned',
      viewer_role: 'assigned_provider',
      final_price: 200_000,
      address: 'ул. Киевская 77, кв. 5',
    });

    // The work is done; a review before the client confirms is refused with the order's state as its code.
    expect((await bakyt.client.POST('/api/v1/orders/{id}/start', { ...order, ...noNote })).data!.status).toBe(
      'in_progress',
    );
    const done = await bakyt.client.POST('/api/v1/orders/{id}/complete', {
      ...order,
      body: { completion_notes: 'Смеситель заменён' },
    });
    expect(done.response.status).toBe(200);
    const early = await aigul.client.POST('/api/v1/orders/{id}/reviews', { ...order, body: { rating: 5 } });
    expect(early.response.status).toBe(409);
    expect(early.error!.code).toMatch(/^order_is_/);
    expect(reviewRefusal(early.error!)).toBe(early.error!.detail);
    const confirmed = await aigul.client.POST('/api/v1/orders/{id}/confirm', { ...order, ...noNote });
    expect(confirmed.data!.status).toBe('completed');

    // Both review each other; refusals are told apart by their code.
    const outOfRange = await aigul.client.POST('/api/v1/orders/{id}/reviews', {
      ...order,
      body: { rating: 6 },
    });
    expect(outOfRange.response.status).toBe(400);
    expect(reviewRefusal(outOfRange.error!)).toBe('Check rating');
    const byClient = await aigul.client.POST('/api/v1/orders/{id}/reviews', {
      ...order,
      body: { rating: 5, comment: 'Быстро и аккуратно' },
    });
    expect(byClient.data).toMatchObject({
      direction: 'client_to_provider',
      author_user_id: aigul.session.user.id,
      subject_user_id: bakyt.session.user.id,
    });
    const byProvider = await bakyt.client.POST('/api/v1/orders/{id}/reviews', {
      ...order,
      body: { rating: 4 },
    });
    expect(byProvider.data).toMatchObject({
      direction: 'provider_to_client',
      subject_user_id: aigul.session.user.id,
    });
    const again = await aigul.client.POST('/api/v1/orders/{id}/reviews', { ...order, body: { rating: 1 } });
    expect(again.response.status).toBe(409);
    expect(again.response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(reviewRefusal(again.error!)).toBe('You have already rated this order');

    // What the public sees of the provider.
    const card = await anonymous.GET('/api/v1/providers/{id}', { params: { path: { id: providerId } } });
    expect(card.data).toMatchObject({ rating_avg: 5, review_count: 1, orders_completed: 1 });

    // Without a token a signed-in route is a 401 problem, typed like any other.
    const stranger = await anonymous.GET('/api/v1/me');
    expect(stranger.response.status).toBe(401);
    expect(stranger.error).toMatchObject({ status: 401 });
  }, 60_000);
});

/**
 * What the client makes of a document that lists the codes each error answers (issue 17, item 3): a small
 * document of one operation, its types generated as `npm run client` does, the client's own source beside
 * them, and a program compiled with the client's strict options.
 */
describe('a switch on error.code, type-checked against the document', () => {
  const problem = (codes: string[]): ResponseObject => ({
    description: 'RFC 9457 problem details',
    content: {
      'application/problem+json': {
        schema: {
          type: 'object',
          required: ['type', 'title', 'status', 'code'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            code: { type: 'string', enum: codes },
            detail: { type: 'string' },
          },
        },
      },
    },
  });
  const document: OpenAPI3 = {
    openapi: '3.1.0',
    info: { title: 'reviews', version: '1.0.0' },
    paths: {
      '/api/v1/orders/{id}/reviews': {
        post: {
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: { type: 'object', required: ['rating'], properties: { rating: { type: 'integer' } } },
              },
            },
          },
          responses: {
            '201': { description: 'written' },
            '400': problem(['validation_failed']),
            '409': problem(['review_already_exists', 'order_is_draft']),
          },
        },
      },
    },
  };

  let previous: import('typescript').Program | undefined;

  /** The type errors of a program that switches on the review route's error code with `cases`. */
  async function typeErrors(cases: string[]) {
    const { default: openapiTS, astToString } = await import('openapi-typescript');
    const ts = (await import('typescript')).default;
    const dir = mkdtempSync(join(tmpdir(), 'kg-client-types-'));
    try {
      // The client's imports (openapi-fetch) resolve from the repository's node_modules.
      symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
      writeFileSync(
        join(dir, 'schema.d.ts'),
        astToString(await openapiTS(document, { defaultNonNullable: false })),
      );
      copyFileSync(join(CLIENT, 'src', 'index.ts'), join(dir, 'index.ts'));
      copyFileSync(join(CLIENT, 'package.json'), join(dir, 'package.json'));
      const branches = cases.map((code) => `    case '${code}':\n      return 1;`).join('\n');
      writeFileSync(
        join(dir, 'app.ts'),
        [
          "import { createClient } from './index.js';",
          "const api = createClient({ baseUrl: 'https://api.example.kg' });",
          "const { error } = await api.POST('/api/v1/orders/{id}/reviews', { params: { path: { id: 'x' } }, body: { rating: 5 } });",
          'export function refusal() {',
          '  switch (error?.code) {',
          branches,
          '    default:',
          '      return 0;',
          '  }',
          '}',
          '',
        ].join('\n'),
      );
      const config = ts.readConfigFile(join(CLIENT, 'tsconfig.json'), ts.sys.readFile);
      const { options } = ts.convertCompilerOptionsFromJson(config.config.compilerOptions, CLIENT);
      // The second program takes the first one's parsed libraries.
      const program = ts.createProgram({
        rootNames: [join(dir, 'app.ts')],
        // The libraries' own declarations are the build's to check (`npm run client:build`); here only the app.
        options: { ...options, noEmit: true, rootDir: dir, skipLibCheck: true },
        ...(previous && { oldProgram: previous }),
      });
      previous = program;
      return ts
        .getPreEmitDiagnostics(program)
        .map(
          (d) =>
            `${d.file ? `${d.file.fileName.slice(dir.length + 1)}: ` : ''}${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`,
        );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('compiles a case for each code the route documents, and refuses one it does not', async () => {
    expect(await typeErrors(['validation_failed', 'review_already_exists', 'order_is_draft'])).toEqual([]);
    const errors = await typeErrors(['review_already_exists', 'review_exists']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^app\.ts: Type '"review_exists"' is not comparable to type/);
  }, 180_000);
});
