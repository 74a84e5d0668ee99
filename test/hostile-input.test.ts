import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES } from '../src/platform/actor.ts';
import { validatorCompiler } from '../src/platform/validation.ts';
import { createTestApp, type TestApp, testConfig } from './helper.ts';
import { inlineComponents } from './openapi-document.ts';
import { bishkekDate, MISSING, orderFixtures } from './order-fixtures.ts';

/**
 * No body makes the API answer 5xx. Every route that takes a JSON body, as read from the OpenAPI document,
 * gets a valid body with each of its fields (and the body as a whole) replaced in turn by hostile values:
 * nulls, wrong types, huge and fractional numbers, blank text, NUL, unpaired surrogates, long text, long
 * arrays, deep nesting. The ids in the paths are real objects the caller may act on, so a body that passes
 * validation reaches the service and the database.
 */

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  minProperties?: number;
  'x-json'?: boolean | string;
}
interface Operation {
  requestBody?: { content?: Record<string, { schema?: Schema }> };
}

/** A value of each pattern a request schema uses; a new pattern needs its sample here. */
const PATTERN_SAMPLES: Record<string, string> = {
  '^[a-z]{2,3}$': 'ky',
  '\\S': 'Проверка ввода',
  '^[a-z0-9]+(-[a-z0-9]+)*$': 'fuzz-slug',
  '^#[0-9A-Fa-f]{6}$': '#12ab34',
  '^[a-z][a-z0-9_]{0,79}$': 'fuzz_key',
  '^\\d+\\.\\d+\\.\\d+$': '9.9.9',
  '^[Hh][Tt][Tt][Pp][Ss]?://[^/?#\\s]': 'https://example.kg/page',
  '^\\+996\\d{9}$': '+996555000111',
  '^\\d{6}$': '123456',
  '^([01]\\d|2[0-3]):[0-5]\\d$|^24:00$': '10:00',
  '^\\d{4}-\\d{2}-\\d{2}$': bishkekDate(3),
  '^([01]\\d|2[0-3]):[0-5]\\d$': '10:00',
  '^[A-Za-z0-9_.:-]{8,64}$': 'fuzz-message-0001',
  '^[a-z][a-z0-9_]{0,31}$': 'fuzz_var',
};

/** Stand for JSON that JavaScript cannot write: a number beyond a double (1e400), nesting beyond its stack. */
const HUGE = '__huge_number__';
const ABYSS = '__abyss__';
const RAW: Record<string, string> = {
  [HUGE]: '1e400',
  [ABYSS]: `${'{"a":['.repeat(10_000)}1${']}'.repeat(10_000)}`,
};
const deep = (levels: number): unknown => (levels === 0 ? 'bottom' : { a: deep(levels - 1) });
const HOSTILE: [string, unknown][] = [
  ['null', null],
  ['true', true],
  ['zero', 0],
  ['negative', -1],
  ['fraction', 1.5],
  ['max double', Number.MAX_VALUE],
  ['beyond double', HUGE],
  ['beyond safe integer', 2 ** 53 + 2],
  ['empty text', ''],
  ['blank text', ' \t\n '],
  ['NUL', '\u0000'],
  ['NUL inside', 'Текст\u0000текст'],
  ['lone surrogate', 'Текст\ud800'],
  ['long text', 'я'.repeat(20_000)],
  ['empty array', []],
  ['array of null', [null]],
  ['long array', Array.from({ length: 2_000 }, () => 'x')],
  ['empty object', {}],
  ['object', { a: 1 }],
  ['deep object', deep(40)],
  ['20,000 levels deep', ABYSS],
];

let t: TestApp;
const f = orderFixtures(() => t);
let doc: { paths: Record<string, Record<string, Operation>> };
let ids: Record<string, string>;
/** Real values for the fields a valid body must get right to reach the database: catalog ids, a price. */
let known: Record<string, string | number>;
let callers: Record<'client' | 'provider' | 'staff' | 'eraser', { authorization: string }>;

beforeAll(async () => {
  // Sign-in routes are fuzzed too: their per-IP limit would answer 429 before the body is read.
  t = await createTestApp({ config: testConfig({ AUTH_RATE_LIMIT_PER_MINUTE: '100000' }) });
  doc = inlineComponents((await t.app.inject({ url: '/docs/json' })).json());

  // Each route is called by the one it is for: the client, the provider, or staff who are no party.
  const client = await f.client('Айгуль Токтогулова');
  const provider = await f.provider('Бакыт Асанов');
  const staff = await f.user(ROLES.filter((role) => role !== 'client' && role !== 'provider'));
  const eraser = await f.user(['client']);
  const other = await f.user(['client']);
  callers = { client: client.auth, provider: provider.auth, staff: staff.auth, eraser: eraser.auth };

  const draft = await f.newOrder(client);
  const open = await f.orderIn(client, 'published');
  const bid = await f.placeBid(open, provider);
  const agreed = await f.orderIn(client, 'in_progress', provider);
  const disputed = await f.orderIn(client, 'in_progress', provider);
  const dispute = await f.call('POST', `/api/v1/orders/${disputed}/disputes`, client.auth, {
    dispute_type: 'quality_issue',
    description: 'Работа сделана не так, как договаривались',
  });
  expect(dispute.status, JSON.stringify(dispute.body)).toBe(201);
  const services = await f.call('GET', '/api/v1/me/services', provider.auth);
  const verification = await f.call('POST', '/api/v1/me/verifications', provider.auth, {
    verification_type: 'email',
  });
  expect(verification.status, JSON.stringify(verification.body)).toBe(201);
  ids = {
    draft: draft.id,
    open,
    bid,
    agreed,
    dispute: dispute.body.id,
    service: services.body.data[0].id,
    verification: verification.body.id,
    user: other.user.id,
  };
  const plumbing = await f.sub('plumbing');
  const addon = await f.addon(plumbing.id, 50_000);
  const area = await f.area('bishkek');
  known = {
    subcategory_id: plumbing.id,
    category_id: plumbing.categoryId,
    addon_id: addon.id,
    service_area_id: area,
    service_area_ids: area,
    amount: 500_000,
    base_price: 100_000,
  };
  for (const name of ['languages', 'categories', 'subcategories', 'addons', 'service-areas', 'settings']) {
    const rows = await f.call('GET', `/api/v1/admin/${name}?limit=1`, staff.auth);
    expect(rows.body.data, name).toHaveLength(1);
    ids[name] = rows.body.data[0].id;
  }
  const versions = await f.call('POST', '/api/v1/admin/app-versions', staff.auth, {
    platform: 'android',
    version: '1.0.0',
    build_number: 1,
  });
  expect(versions.status, JSON.stringify(versions.body)).toBe(201);
  ids['app-versions'] = versions.body.id;
}, 120_000);
afterAll(() => t.close());

/** The object a path's `{id}` stands for, chosen so the caller may act on it. */
function idFor(path: string): string {
  const rest = path.replace('/api/v1/', '');
  if (rest === 'orders/{id}/bids') return ids.open!;
  if (/^orders\/\{id\}\/(start|complete|confirm|assignment|disputes|reviews)/.test(rest)) return ids.agreed!;
  if (rest.startsWith('orders/{id}')) return ids.draft!;
  if (rest.startsWith('bids/{id}')) return ids.bid!;
  if (rest.startsWith('admin/disputes/{id}')) return ids.dispute!;
  if (rest.startsWith('admin/verifications/{id}')) return ids.verification!;
  if (rest.startsWith('me/services/{id}')) return ids.service!;
  if (rest.startsWith('admin/users/{id}')) return ids.user!;
  const catalog = /^admin\/([a-z-]+)\/\{id\}/.exec(rest)?.[1];
  return (catalog && ids[catalog]) || MISSING;
}

function callerFor(method: string, path: string) {
  // Their wrong passwords lock the eraser's sign-in, not the client's.
  if (/^\/api\/v1\/me\/(erase|close|export)$/.test(path)) return callers.eraser;
  if (path.startsWith('/api/v1/admin/')) return callers.staff;
  // Chat's staff routes: templates, reports and the support queue, and a room's slow mode.
  if (/^\/api\/v1\/(chat-templates|chat-reports|support-chats)|\/slow-mode$/.test(path)) return callers.staff;
  const providerSide =
    /^\/api\/v1\/(me\/provider-profile|me\/services|me\/verifications|bids\/\{id\}$|orders\/\{id\}\/(bids|start|complete|assignment))/;
  const clientSide = /^\/api\/v1\/bids\/\{id\}\/(accept|reject)$/;
  if (clientSide.test(path)) return callers.client;
  return providerSide.test(path) && method !== 'get' ? callers.provider : callers.client;
}

const nonNull = (schema: Schema): Schema =>
  schema.anyOf?.find((s) => s.type !== 'null') ?? {
    ...schema,
    type: [schema.type].flat().find((type) => type !== 'null'),
  };

let serial = 0;
/** A valid value of `schema`: the fewest fields an object needs, the smallest array. */
function sample(schema: Schema, name: string): unknown {
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  if (schema.default !== undefined) return schema.default;
  const s = nonNull(schema);
  switch ([s.type].flat()[0]) {
    case 'object': {
      const props = s.properties ?? {};
      const names = s.required?.length ? s.required : Object.keys(props).slice(0, s.minProperties ?? 0);
      return Object.fromEntries(names.map((n) => [n, sample(props[n] ?? {}, n)]));
    }
    case 'array':
      return Array.from({ length: s.minItems ?? 0 }, () => sample(s.items ?? {}, name));
    case 'integer':
    case 'number':
      if (typeof known[name] === 'number') return known[name];
      return Math.min(Math.max(s.minimum ?? 1, 1), s.maximum ?? Number.MAX_SAFE_INTEGER);
    case 'boolean':
      return false;
    case 'string': {
      if (s.format === 'uuid') return typeof known[name] === 'string' ? known[name] : MISSING;
      if (s.format === 'email') return `fuzz${++serial}.${Date.now()}@example.kg`;
      if (s.format === 'date') return bishkekDate(3);
      if (s.format === 'uri') return 'https://example.kg/app';
      if (name.includes('password')) return 'a-long-enough-password';
      const text = s.pattern ? PATTERN_SAMPLES[s.pattern] : 'Проверка ввода';
      if (text === undefined) throw new Error(`no sample for the pattern ${s.pattern} of ${name}`);
      return text.padEnd(s.minLength ?? 0, 'я');
    }
    default:
      return { any: 'value' };
  }
}

/** Every field of a body schema, nested ones and array items included, as paths. */
function fieldPaths(schema: Schema, prefix: (string | number)[] = []): (string | number)[][] {
  const s = nonNull(schema);
  const paths: (string | number)[][] = [];
  for (const [name, sub] of Object.entries(s.properties ?? {})) {
    paths.push([...prefix, name], ...fieldPaths(sub, [...prefix, name]));
  }
  if (s.items) paths.push([...prefix, 0], ...fieldPaths(s.items, [...prefix, 0]));
  return paths;
}

/** `body` with the value at `path` replaced, its missing parents made (arrays for numeric steps). */
function withValue(body: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [step, ...rest] = path;
  const copy = (
    typeof step === 'number' ? [...(Array.isArray(body) ? body : [])] : { ...(body as object) }
  ) as Record<string | number, unknown>;
  copy[step!] = withValue(copy[step!], rest, value);
  return copy;
}

const toJson = (body: unknown) =>
  Object.entries(RAW).reduce(
    (json, [stand, raw]) => json.replaceAll(`"${stand}"`, raw),
    JSON.stringify(body),
  );

describe('hostile bodies', () => {
  it('no body, in any field of any route, makes the API answer 5xx', async () => {
    const failures: string[] = [];
    let sent = 0;
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const schema = op.requestBody?.content?.['application/json']?.schema;
        if (!schema || !path.startsWith('/api/')) continue;
        const url = path.replace('{id}', idFor(path)).replace('{message_id}', MISSING);
        const headers = { ...callerFor(method, path), 'content-type': 'application/json' };
        const base = sample(schema, 'body');
        const bodies: [string, unknown][] = [['a valid body', base]];
        // Erasing the account would leave nothing for the other bodies to reach.
        if (path === '/api/v1/me/erase') bodies.length = 0;
        for (const [label, value] of HOSTILE) {
          bodies.push([`the body: ${label}`, value]);
          for (const field of fieldPaths(schema))
            bodies.push([`${field.join('.')}: ${label}`, withValue(base, field, value)]);
        }
        for (const [label, body] of bodies) {
          const response = await t.app.inject({
            method: method.toUpperCase() as 'POST',
            url,
            headers,
            payload: toJson(body),
          });
          sent++;
          if (response.statusCode >= 500) {
            failures.push(
              `${method.toUpperCase()} ${path} (${label}): ${response.statusCode} ${response.body.slice(0, 200)}`,
            );
          }
        }
      }
    }
    expect(sent).toBeGreaterThan(3_000);
    expect(failures).toEqual([]);

    // What the bodies stored can be read back by every list and detail.
    const reads: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      if (!item.get || !path.startsWith('/api/') || /\{(?!id\})/.test(path)) continue;
      const response = await t.app.inject({
        url: path.replace('{id}', idFor(path)).replace('{message_id}', MISSING),
        headers: callerFor('get', path),
      });
      if (response.statusCode >= 500) reads.push(`GET ${path}: ${response.statusCode}`);
    }
    expect(reads).toEqual([]);
  }, 600_000);
});

interface FieldError {
  field: string;
  message: string;
}

/** Each field of each route's body whose schema matches `wanted`: the table the tests below run over. */
function fieldsOf(wanted: (schema: Schema, name: string) => boolean) {
  const table: { method: string; path: string; body: Schema; field: (string | number)[] }[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const body = op.requestBody?.content?.['application/json']?.schema;
      if (!body || !path.startsWith('/api/')) continue;
      for (const field of fieldPaths(body)) {
        const schema = field.reduce<Schema | undefined>((s, step) => {
          const at = s && nonNull(s);
          return typeof step === 'number' ? at?.items : at?.properties?.[step];
        }, body);
        if (schema && wanted(nonNull(schema), String(field.at(-1))))
          table.push({ method, path, body, field });
      }
    }
  }
  return table;
}

async function send(method: string, path: string, payload: unknown) {
  const started = performance.now();
  const response = await t.app.inject({
    method: method.toUpperCase() as 'POST',
    url: path.replace('{id}', idFor(path)).replace('{message_id}', MISSING),
    headers: { ...callerFor(method, path), 'content-type': 'application/json' },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
  const body = response.json();
  return {
    status: response.statusCode,
    body,
    errors: (body.errors ?? []) as FieldError[],
    bytes: response.body.length,
    ms: performance.now() - started,
  };
}

describe('validation answers are bounded', () => {
  it('an array far over its maxItems is one error, answered fast, its items never looked at', async () => {
    const order = await f.orderBody();
    const photoIds = Array.from({ length: 50_000 }, (_, i) => `not-a-uuid-${i}`);
    const ranges = Array(50_000).fill(0);
    for (const [path, method, payload, field] of [
      ['/api/v1/orders', 'post', { ...order, photo_file_ids: photoIds }, 'photo_file_ids'],
      ['/api/v1/me/provider-profile', 'patch', { availability: { mon: ranges } }, 'availability.mon'],
    ] as const) {
      const answer = await send(method, path, payload);
      expect(answer.status).toBe(400);
      expect(answer.errors).toEqual([
        { in: 'body', field, message: expect.stringMatching(/^must NOT have more than \d+ items$/) },
      ]);
      expect(answer.bytes).toBeLessThan(2_000);
      expect(answer.ms).toBeLessThan(500);
    }
  });

  it('thousands of unknown fields name the first 20; a free map over its size is one error', async () => {
    const unknown = Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`field_${i}`, i]));
    const order = await send('post', '/api/v1/orders', { ...(await f.orderBody()), ...unknown });
    expect(order.status).toBe(400);
    expect(order.errors).toEqual(
      Array.from({ length: 20 }, (_, i) => ({
        in: 'body',
        field: `field_${i}`,
        message: 'is not a known field',
      })),
    );
    expect(order.bytes).toBeLessThan(3_000);

    const preferences = await send('patch', '/api/v1/me/profile', { preferences: unknown });
    expect(preferences.status).toBe(400);
    expect(preferences.errors).toEqual([
      { in: 'body', field: 'preferences', message: 'must NOT have more than 50 properties' },
    ]);
  });

  it('a body with more bad fields than 20 answers the first 20', async () => {
    const bad = { from: '25:00', to: '99:99' };
    const week = Object.fromEntries(
      ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((day) => [day, Array(6).fill(bad)]),
    );
    const answer = await send('patch', '/api/v1/me/provider-profile', {
      availability: week,
      business_name: '',
      experience_years: -1,
    });
    expect(answer.status).toBe(400);
    expect(answer.errors).toHaveLength(20);
    expect(answer.errors[0]).toMatchObject({ field: 'business_name' });
  });
});

/** `levels` objects nested in one another, as JSON: `{"a":{"a":1}}` is two. */
const nested = (levels: number): unknown => (levels === 0 ? 1 : { a: nested(levels - 1) });

describe('free-form JSON fields', () => {
  const routes = [
    ['patch', '/api/v1/me/profile', 'preferences', (v: unknown) => ({ preferences: { x: v } })],
    ['patch', '/api/v1/me/client-profile', 'preferences', (v: unknown) => ({ preferences: { x: v } })],
    ['post', '/api/v1/admin/settings', 'value', (v: unknown) => ({ key: `k${++serial}`, value: v })],
    ['patch', '/api/v1/admin/settings/{id}', 'value', (v: unknown) => ({ value: v })],
  ] as const;
  // Preferences are themselves the outer object: one level less inside.
  const inside = (field: string, levels: number) => nested(field === 'preferences' ? levels - 1 : levels);

  it.each(routes)(
    '%s %s: at most 20 levels deep and 16 KB; deeper, larger, NUL or null is a 400 naming the field',
    async (method, path, field, body) => {
      const refused: [string, unknown, string][] = [
        ['21 levels', inside(field, 21), 'must not be nested more than 20 levels deep'],
        ['17 KB', { text: 'я'.repeat(8_500) }, 'must not be larger than 16384 bytes as JSON'],
        ['NUL', { text: 'a\u0000b' }, 'must not contain NUL or unpaired surrogate characters'],
        ['NUL in a key', { 'a\u0000b': 1 }, 'must not contain NUL or unpaired surrogate characters'],
        ['lone surrogate', ['\udc00'], 'must not contain NUL or unpaired surrogate characters'],
      ];
      for (const [label, value, message] of refused) {
        const answer = await send(method, path, body(value));
        expect(answer.status, label).toBe(400);
        expect(answer.errors, label).toEqual([{ in: 'body', field, message }]);
      }
      for (const [label, value] of [
        ['20 levels', inside(field, 20)],
        ['15 KB', { text: 'я'.repeat(7_500) }],
        ['an array', [1, 'two', { three: [null] }]],
      ] as const) {
        const answer = await send(method, path, body(value));
        expect(answer.status, `${label}: ${JSON.stringify(answer.body).slice(0, 300)}`).toBeLessThan(300);
        // Answered as stored, not as fast-json-stringify would write it under a narrower schema.
        expect(field === 'preferences' ? answer.body.preferences.x : answer.body.value, label).toEqual(value);
      }
    },
  );

  it('a setting needs a value: null is a 400, not a 500', async () => {
    for (const [method, path, , body] of routes.slice(2)) {
      const answer = await send(method, path, { ...body(1), value: null });
      expect(answer.status).toBe(400);
      expect(answer.errors).toEqual([{ in: 'body', field: 'value', message: 'must not be null' }]);
    }
  });
});

/** Strings that are not text a person writes: secrets and tokens are taken exactly as sent. */
const SECRETS = /password|token/;
const isFreeText = (s: Schema, name: string) =>
  [s.type].flat().includes('string') &&
  !s.format &&
  !s.enum &&
  !s['x-json'] &&
  s.const === undefined &&
  (!s.pattern || s.pattern === '\\S') &&
  !SECRETS.test(name);
const isUrl = (s: Schema) => s.format === 'uri';

describe('text fields', () => {
  it('every free-text field of every body refuses blank text and NUL, naming the field', async () => {
    const table = fieldsOf(isFreeText);
    expect(table.length).toBeGreaterThan(40);
    const wrong: string[] = [];
    for (const { method, path, body, field } of table) {
      for (const [label, value, message] of [
        ['blank', ' \t\n\u00a0 ', 'must not be blank'],
        ['NUL', 'Текст\u0000', 'must not contain NUL or unpaired surrogate characters'],
        ['lone surrogate', 'Текст\ud800', 'must not contain NUL or unpaired surrogate characters'],
      ] as const) {
        const answer = await send(method, path, withValue(sample(body, 'body'), field, value));
        const named = answer.errors.some((e) => e.field === field.join('.') && e.message === message);
        if (answer.status !== 400 || !named) {
          wrong.push(
            `${method.toUpperCase()} ${path} ${field.join('.')} ${label}: ${answer.status} ${JSON.stringify(answer.errors)}`,
          );
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('every free-text field of every body is trimmed before it is checked and kept', () => {
    const untrimmed: string[] = [];
    for (const { method, path, body, field } of fieldsOf(isFreeText)) {
      const validate = validatorCompiler({ schema: body, method, url: path, httpPart: 'body' }) as (
        data: unknown,
      ) => boolean;
      const data = withValue(sample(body, 'body'), field, '  \n Проверка ввода\t ');
      validate(data);
      const kept = field.reduce<unknown>((at, step) => (at as Record<string | number, unknown>)[step], data);
      if (kept !== 'Проверка ввода')
        untrimmed.push(`${method.toUpperCase()} ${path} ${field.join('.')}: ${JSON.stringify(kept)}`);
    }
    expect(untrimmed).toEqual([]);
  });

  it('stores what it answers: trimmed, through the routes', async () => {
    const pad = (text: string) => `  ${text} \n`;
    const order = await send('post', '/api/v1/orders', {
      ...(await f.orderBody()),
      title: pad('Течёт кран'),
      description: pad('Нужно заменить смеситель на кухне'),
      address: pad('ул. Киевская 77'),
      publish: true,
    });
    expect(order.status).toBe(201);
    expect(order.body).toMatchObject({
      title: 'Течёт кран',
      description: 'Нужно заменить смеситель на кухне',
      address: 'ул. Киевская 77',
    });
    expect(await f.orderRow(order.body.id)).toMatchObject({
      title: 'Течёт кран',
      description: 'Нужно заменить смеситель на кухне',
    });

    const bid = await t.app.inject({
      method: 'POST',
      url: `/api/v1/orders/${order.body.id}/bids`,
      headers: callers.provider,
      payload: { amount: 300_000, message: pad('Сделаю завтра') },
    });
    expect(bid.statusCode).toBe(201);
    expect(bid.json().message).toBe('Сделаю завтра');

    const profile = await send('patch', '/api/v1/me/profile', {
      bio: pad('Люблю порядок'),
      address: pad('Бишкек'),
    });
    expect(profile.status).toBe(200);
    expect(profile.body).toMatchObject({ bio: 'Люблю порядок', address: 'Бишкек' });
    const again = await t.app.inject({ url: '/api/v1/me/profile', headers: callers.client });
    expect(again.json()).toMatchObject({ bio: 'Люблю порядок', address: 'Бишкек' });
  });
});

describe('URL fields', () => {
  it('every URL field of every body takes http and https only', async () => {
    const table = fieldsOf(isUrl);
    expect(table.map((r) => r.field.join('.'))).toEqual(
      expect.arrayContaining(['contact_info.website', 'store_url']),
    );
    const wrong: string[] = [];
    for (const { method, path, body, field } of table) {
      for (const url of [
        'javascript:alert(document.cookie)',
        'JavaScript://%0aalert(1)',
        'data:text/html,<script>alert(1)</script>',
        'ftp://example.kg/file',
        'file:///etc/passwd',
        'mailto:someone@example.kg',
        'http://',
        'https:///path',
      ]) {
        const answer = await send(method, path, withValue(sample(body, 'body'), field, url));
        const named = answer.errors.some((e) => e.field === field.join('.'));
        if (answer.status !== 400 || !named)
          wrong.push(`${method.toUpperCase()} ${path} ${field.join('.')} ${url}: ${answer.status}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('keeps an http or https URL', async () => {
    const profile = await send('patch', '/api/v1/me/profile', {
      contact_info: { website: 'HTTPS://Example.kg/master?x=1' },
    });
    expect(profile.status).toBe(200);
    expect(profile.body.contact_info).toEqual({ website: 'HTTPS://Example.kg/master?x=1' });
    const version = await send('post', '/api/v1/admin/app-versions', {
      platform: 'ios',
      version: '2.0.0',
      build_number: 20,
      store_url: 'http://apps.example.kg/kg-job-portal',
    });
    expect(version.status).toBe(201);
    expect(version.body.store_url).toBe('http://apps.example.kg/kg-job-portal');
  });
});
