import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInUser } from './factories.ts';
import { createTestApp, type TestApp } from './helper.ts';

/** The OpenAPI document is what app developers build against: complete, consistent, and valid. */
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

interface Schema {
  $ref?: string;
  [keyword: string]: unknown;
}
interface MediaType {
  schema?: Schema;
}
interface Parameter {
  in: string;
  name: string;
  required?: boolean;
  description?: string;
  style?: string;
  explode?: boolean;
  schema?: Schema;
}
interface Operation {
  operationId?: string;
  tags?: string[];
  description?: string;
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, MediaType> };
  responses?: Record<string, { description?: string; content?: Record<string, MediaType> }>;
  security?: Record<string, string[]>[];
  deprecated?: boolean;
}
interface Document {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas?: Record<string, Schema>; securitySchemes?: Record<string, unknown> };
  tags?: { name: string }[];
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
/**
 * Actions that take no input beyond the ids in their path (or the caller's session): a POST or PUT without
 * a body must be one of these. Add an operation here only when sending it a body would mean nothing.
 */
const BODYLESS =
  /^(adminRestore[A-Za-z]+|adminUserBlock|adminUserUnblock|adminReviewDispute|withdrawBid|logout|addFavorite|markMyNotificationsSeen|markAllMyNotificationsRead|markMyNotificationRead|archiveMyNotification|adminTestNotificationTemplate|takeSupportChat|closeSupportChat|openDirectChat|blockChat|unblockChat|reviewChatReport|leaveChat)$/;

/**
 * Operations kept only to tell the apps built against them where they went: each answers one problem naming
 * its successor and never succeeds; documented as deprecated for as long as the README's policy promises.
 */
const MOVED = [
  { method: 'DELETE', url: '/api/v1/me', to: 'POST /api/v1/me/close' },
  { method: 'GET', url: '/api/v1/me/export', to: 'POST /api/v1/me/export' },
] as const;

let t: TestApp;
let doc: Document;
let operations: { method: string; path: string; op: Operation }[];

beforeAll(async () => {
  t = await createTestApp();
  const res = await t.app.inject({ url: '/docs/json' });
  expect(res.statusCode).toBe(200);
  doc = res.json<Document>();
  operations = Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({ method, path, op })),
  );
});
afterAll(() => t.close());

const api = () => operations.filter((o) => o.path.startsWith('/api/'));
const label = (o: { method: string; path: string }) => `${o.method.toUpperCase()} ${o.path}`;

/** Each failing operation with what is wrong with it, so one run lists every gap. */
function gaps(check: (o: { method: string; path: string; op: Operation }) => string | undefined) {
  return api().flatMap((o) => {
    const problem = check(o);
    return problem ? [`${label(o)}: ${problem}`] : [];
  });
}

describe('serving the docs', () => {
  it('serves Swagger UI at /docs', async () => {
    let res = await t.app.inject({ url: '/docs' });
    if (res.statusCode === 302) res = await t.app.inject({ url: res.headers.location as string });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toMatch(/swagger-ui/i);
  });

  it('serves an OpenAPI 3.1 document at /docs/json', () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.info.title).toBeTruthy();
    expect(doc.info.version).toBeTruthy();
    expect(api().length).toBeGreaterThan(20);
  });
});

describe('every operation under /api', () => {
  it('has an operationId, unique in the whole document', () => {
    expect(gaps(({ op }) => (op.operationId ? undefined : 'no operationId'))).toEqual([]);
    const ids = operations.map((o) => o.op.operationId).filter(Boolean);
    const repeated = ids.filter((id, i) => ids.indexOf(id) !== i);
    expect(repeated).toEqual([]);
  });

  it('has tags, each declared with a description at the top of the document', () => {
    expect(gaps(({ op }) => (op.tags && op.tags.length > 0 ? undefined : 'no tags'))).toEqual([]);
    const declared = (doc.tags ?? []).map((tag) => tag.name);
    expect(
      gaps(({ op }) => {
        const undeclared = (op.tags ?? []).filter((tag) => !declared.includes(tag));
        return undeclared.length > 0 ? `undeclared tags: ${undeclared.join(', ')}` : undefined;
      }),
    ).toEqual([]);
  });

  it('documents a success response with a schema (204 has no body)', () => {
    expect(
      gaps((o) => {
        const { op } = o;
        if (MOVED.some((m) => m.url === o.path && m.method.toLowerCase() === o.method)) return undefined;
        const success = Object.entries(op.responses ?? {}).filter(([status]) => /^2\d\d$/.test(status));
        if (success.length === 0) return 'no 2xx response';
        for (const [status, response] of success) {
          if (status === '204') {
            if (response.content) return '204 documents a body';
            continue;
          }
          const media = Object.values(response.content ?? {});
          if (media.length === 0 || media.some((m) => !m.schema)) return `${status} has no schema`;
        }
        return undefined;
      }),
    ).toEqual([]);
  });

  it('keeps the moved operations, deprecated, and they tell old apps where they went', async () => {
    const user = await signedInUser(t);
    for (const moved of MOVED) {
      const op = doc.paths[moved.url]?.[moved.method.toLowerCase()];
      expect(op?.deprecated).toBe(true);
      expect(Object.keys(op?.responses ?? {}).filter((status) => /^2/.test(status))).toEqual([]);
      const res = await t.app.inject({ method: moved.method, url: moved.url, headers: user.auth });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ code: 'reauthentication_required' });
      expect(res.json().detail).toContain(moved.to);
    }
  });

  it('documents the request body of every POST, PUT and PATCH that takes one', () => {
    expect(
      gaps(({ method, op }) => {
        if (!['post', 'put', 'patch'].includes(method)) {
          return op.requestBody ? `${method} documents a body` : undefined;
        }
        if (!op.requestBody) {
          return method !== 'patch' && BODYLESS.test(op.operationId ?? '') ? undefined : 'no request body';
        }
        const media = Object.values(op.requestBody.content ?? {});
        return media.length > 0 && media.every((m) => m.schema) ? undefined : 'request body without a schema';
      }),
    ).toEqual([]);
  });

  it('documents its client errors as Problem responses', () => {
    const isProblem = (response: { content?: Record<string, MediaType> }) => {
      const media = Object.values(response.content ?? {});
      return (
        media.length > 0 &&
        media.every(
          (m) => (m.schema?.allOf as Schema[] | undefined)?.[0]?.$ref === '#/components/schemas/Problem',
        )
      );
    };
    expect(
      gaps(({ op }) => {
        const errors = Object.entries(op.responses ?? {}).filter(([status]) => /^[45]\d\d$/.test(status));
        if (!errors.some(([status]) => status === '400')) return 'no 400 response';
        const other = errors.filter(([, response]) => !isProblem(response)).map(([status]) => status);
        return other.length > 0 ? `${other.join(', ')} not a Problem` : undefined;
      }),
    ).toEqual([]);
  });

  it('says whether it asks for a token: `security: []` when public, else a declared scheme and its 401', () => {
    const schemes = Object.keys(doc.components.securitySchemes ?? {});
    expect(
      gaps(({ op }) => {
        if (!op.security) return 'no security';
        if (op.security.length === 0) return undefined;
        const unknown = op.security.flatMap(Object.keys).filter((name) => !schemes.includes(name));
        if (unknown.length > 0) return `unknown security scheme ${unknown.join(', ')}`;
        return op.responses?.['401'] ? undefined : 'asks for a token but documents no 401';
      }),
    ).toEqual([]);
  });

  it('lists, for each problem answer, the codes it can carry, so a client can switch on `code`', () => {
    expect(
      gaps(({ op }) => {
        const unlisted = Object.entries(op.responses ?? {}).filter(([status, response]) => {
          if (!/^[45]\d\d$/.test(status)) return false;
          const schema = response.content?.['application/problem+json']?.schema;
          const code = ((schema?.allOf as Schema[] | undefined)?.[1]?.properties as Record<string, Schema>)
            ?.code;
          const codes = code?.enum as string[] | undefined;
          return !codes || codes.length === 0 || codes.some((c) => !/^[a-z]+(_[a-z]+)*$/.test(c));
        });
        return unlisted.length > 0 ? `no code enum for ${unlisted.map(([s]) => s).join(', ')}` : undefined;
      }),
    ).toEqual([]);
  });

  it('documents the headers the platform sends and reads where they apply', () => {
    const headersOf = (op: Operation, status: string) =>
      Object.keys((op.responses?.[status] as { headers?: object } | undefined)?.headers ?? {});
    const requestHeaders = (op: Operation) =>
      (op.parameters ?? []).filter((p) => p.in === 'header').map((p) => p.name.toLowerCase());
    expect(
      gaps((o) => {
        const { method, op } = o;
        const missing: string[] = [];
        for (const status of Object.keys(op.responses ?? {})) {
          if (!headersOf(op, status).includes('X-Request-Id')) missing.push(`${status} X-Request-Id`);
        }
        if (op.responses?.['201'] && !headersOf(op, '201').includes('Location')) missing.push('201 Location');
        if (op.responses?.['429'] && !headersOf(op, '429').includes('Retry-After'))
          missing.push('429 Retry-After');
        if (op.responses?.['304']) {
          if (!headersOf(op, '200').includes('ETag')) missing.push('200 ETag');
          if (!requestHeaders(op).includes('if-none-match')) missing.push('If-None-Match');
        }
        const keyed = method === 'post' && requestHeaders(op).includes('idempotency-key');
        if (keyed && !headersOf(op, Object.keys(op.responses ?? {})[0]!).includes('Idempotent-Replayed')) {
          missing.push('Idempotent-Replayed');
        }
        return missing.length > 0 ? `missing ${missing.join(', ')}` : undefined;
      }),
    ).toEqual([]);
    const keyed = api().filter(
      (o) => o.method === 'post' && (o.op.parameters ?? []).some((p) => p.name === 'idempotency-key'),
    );
    expect(keyed.map(label)).toContain('POST /api/v1/orders');
    expect(keyed.map(label)).not.toContain('POST /api/v1/auth/login');
  });

  // Besides the per-IP and per-user limits, the routes that check a password count wrong ones (login_throttled).
  it('lists 429 only where the route limits its rate', () => {
    const limited = api()
      .filter((o) => o.op.responses?.['429'])
      .map(label)
      .sort();
    expect(limited).toEqual(
      [
        'POST /api/v1/auth/login',
        'POST /api/v1/auth/otp/request',
        'POST /api/v1/auth/otp/verify',
        'POST /api/v1/auth/register',
        'POST /api/v1/chats/{id}/messages',
        'POST /api/v1/files',
        'POST /api/v1/me/close',
        'POST /api/v1/me/erase',
        'POST /api/v1/me/export',
        'POST /api/v1/orders/{id}/bids',
        'PUT /api/v1/me/password',
      ].sort(),
    );
  });

  it('declares every path parameter, as required', () => {
    expect(
      gaps(({ path, op }) => {
        const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
        const declared = (op.parameters ?? []).filter((p) => p.in === 'path');
        const missing = inPath.filter((name) => !declared.some((p) => p.name === name && p.required));
        const extra = declared.filter((p) => !inPath.includes(p.name)).map((p) => p.name);
        if (missing.length > 0) return `path parameters not declared: ${missing.join(', ')}`;
        return extra.length > 0 ? `declares parameters not in the path: ${extra.join(', ')}` : undefined;
      }),
    ).toEqual([]);
  });
});

/**
 * Lists that answer a bare array: each is small by construction, and says why in its description. Every
 * other list is a page.
 */
const FIXED_LISTS = ['GET /api/v1/languages', 'GET /api/v1/settings'];

describe('every list under /api', () => {
  const schemaOf = (schema: Schema | undefined): Schema | undefined => {
    const name = schema?.$ref?.replace('#/components/schemas/', '');
    return name ? doc.components.schemas?.[name] : schema;
  };
  const answer = (op: Operation) => schemaOf(op.responses?.['200']?.content?.['application/json']?.schema);
  const query = (op: Operation) => (op.parameters ?? []).filter((p) => p.in === 'query');
  const isPage = (schema: Schema | undefined) =>
    (schema?.properties as Record<string, Schema> | undefined)?.data?.type === 'array';
  const lists = () =>
    api().filter(
      ({ method, op }) => method === 'get' && (answer(op)?.type === 'array' || isPage(answer(op))),
    );

  it('answers a page (data, next_cursor) and takes limit and cursor, or is a documented fixed list', () => {
    expect(lists().length).toBeGreaterThan(20);
    expect(
      lists().flatMap((o) => {
        const schema = answer(o.op);
        if (schema?.type === 'array') {
          if (!FIXED_LISTS.includes(label(o))) return [`${label(o)}: a bare array, not on FIXED_LISTS`];
          return o.op.description?.startsWith('A fixed list, not paged: ')
            ? []
            : [`${label(o)}: a fixed list that does not say why it stays small`];
        }
        const props = schema?.properties as Record<string, Schema>;
        const names = query(o.op).map((p) => p.name);
        const problems = [
          props.next_cursor ? undefined : 'no next_cursor',
          names.includes('limit') ? undefined : 'no limit',
          names.includes('cursor') ? undefined : 'no cursor',
        ].filter(Boolean);
        return problems.length > 0 ? [`${label(o)}: ${problems.join(', ')}`] : [];
      }),
    ).toEqual([]);
    expect(FIXED_LISTS.filter((name) => !lists().some((o) => label(o) === name))).toEqual([]);
  });

  it('is ordered by `sort`, whose values are words, never a direction or a column', () => {
    expect(
      api().flatMap((o) =>
        query(o.op).flatMap((p) => {
          if (p.name === 'order') return [`${label(o)}: a parameter named order`];
          if (p.name !== 'sort') return [];
          const values = (p.schema?.enum ?? []) as string[];
          const odd = values.filter((v) => !/^[a-z]+(_[a-z]+)*$/.test(v) || ['asc', 'desc'].includes(v));
          if (values.length < 2) return [`${label(o)}: sort offers ${values.length} values`];
          return odd.length > 0 ? [`${label(o)}: sort values ${odd.join(', ')}`] : [];
        }),
      ),
    ).toEqual([]);
  });

  it('takes a multi-valued filter as a repeated parameter, on every route the same way', () => {
    const multi = api().flatMap((o) => query(o.op).filter((p) => p.schema?.type === 'array'));
    expect(multi.length).toBeGreaterThan(5);
    expect(
      api().flatMap((o) =>
        query(o.op).flatMap((p) => {
          const repeated = (p.style ?? 'form') === 'form' && p.explode !== false;
          if (p.schema?.type === 'array') {
            return repeated &&
              p.description?.endsWith('One or more: repeat the parameter, once for each value')
              ? []
              : [`${label(o)}: ${p.name} does not take repeated values the common way`];
          }
          return /comma/i.test(p.description ?? '')
            ? [`${label(o)}: ${p.name} takes a comma-separated list`]
            : [];
        }),
      ),
    ).toEqual([]);
  });
});

/** How many properties an object schema written out in place may have before it must be a named component. */
const MAX_INLINE_PROPERTIES = 3;

describe('every shape has a name', () => {
  const refsIn = (node: unknown, found = new Set<string>()): Set<string> => {
    if (Array.isArray(node)) for (const item of node) refsIn(item, found);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === '$ref' && typeof value === 'string')
          found.add(value.replace('#/components/schemas/', ''));
        else refsIn(value, found);
      }
    }
    return found;
  };

  it('references every component, from an operation or from another component', () => {
    const used = refsIn(doc.paths);
    // What the components an operation uses refer to, and what those refer to, until nothing new turns up.
    for (let added = true; added; ) {
      added = false;
      for (const name of [...used]) {
        for (const ref of refsIn(doc.components.schemas?.[name])) {
          if (!used.has(ref)) {
            used.add(ref);
            added = true;
          }
        }
      }
    }
    const unused = Object.keys(doc.components.schemas ?? {}).filter((name) => !used.has(name));
    expect(unused).toEqual([]);
    expect(Object.keys(doc.components.schemas ?? {}).length).toBeGreaterThan(60);
  });

  it('names every resource, input and page: request and response bodies are references', () => {
    expect(
      gaps(({ op }) => {
        const bodies = [
          ...Object.entries(op.requestBody?.content ?? {}).map(([type, m]) => ['request', type, m] as const),
          ...Object.entries(op.responses ?? {}).flatMap(([status, r]) =>
            Object.entries(r.content ?? {}).map(([type, m]) => [status, type, m] as const),
          ),
        ];
        const inline = bodies.filter(([, , media]) => {
          const schema = media.schema ?? {};
          const described = schema.type === 'object' || schema.properties !== undefined;
          return described || (schema.type === 'array' && !(schema.items as Schema | undefined)?.$ref);
        });
        return inline.length > 0 ? `inline ${inline.map(([where]) => where).join(', ')}` : undefined;
      }),
    ).toEqual([]);
  });

  it(`writes out no object of more than ${MAX_INLINE_PROPERTIES} properties in place, anywhere in a response`, () => {
    const inlined: string[] = [];
    const walk = (node: unknown, where: string) => {
      if (Array.isArray(node)) {
        for (const [i, item] of node.entries()) walk(item, `${where}[${i}]`);
      } else if (node && typeof node === 'object') {
        const properties = (node as Schema).properties as Record<string, unknown> | undefined;
        if (
          properties &&
          typeof properties === 'object' &&
          Object.keys(properties).length > MAX_INLINE_PROPERTIES
        ) {
          inlined.push(where);
        }
        for (const [key, value] of Object.entries(node)) walk(value, `${where}.${key}`);
      }
    };
    for (const o of api()) {
      for (const [status, response] of Object.entries(o.op.responses ?? {})) {
        walk(response.content, `${label(o)} ${status}`);
      }
    }
    for (const [name, schema] of Object.entries(doc.components.schemas ?? {})) {
      walk((schema as Schema).properties, `components.schemas.${name}`);
    }
    expect(inlined).toEqual([]);
  });
});

describe('the document is valid', () => {
  it('resolves every $ref to an entry of components.schemas', () => {
    const refs = new Set<string>();
    const walk = (node: unknown) => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        for (const [key, value] of Object.entries(node)) {
          if (key === '$ref' && typeof value === 'string') refs.add(value);
          else walk(value);
        }
      }
    };
    walk(doc);
    expect(refs.size).toBeGreaterThan(0);
    const schemas = doc.components.schemas ?? {};
    const unresolved = [...refs].filter((ref) => {
      const match = /^#\/components\/schemas\/([^/]+)$/.exec(ref);
      return !match || !(match[1]! in schemas);
    });
    expect(unresolved).toEqual([]);
  });

  it('has only schemas that compile as JSON Schema 2020-12, the dialect of OpenAPI 3.1', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
    addFormats(ajv);
    ajv.addKeyword({ keyword: 'example' });
    const broken: string[] = [];
    // The components once, under an id every reference to them then names: each is compiled once.
    const DOCUMENT = 'urn:kg-job-portal:openapi';
    ajv.addSchema({ $id: DOCUMENT, components: doc.components });
    const compile = (where: string, schema: Schema | undefined) => {
      if (!schema) return;
      try {
        ajv.compile(
          JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', `"${DOCUMENT}#/components/`)),
        );
      } catch (error) {
        broken.push(`${where}: ${(error as Error).message}`);
      }
    };
    for (const [name, schema] of Object.entries(doc.components.schemas ?? {})) {
      compile(`components.schemas.${name}`, schema);
    }
    for (const { method, path, op } of operations) {
      const where = `${method.toUpperCase()} ${path}`;
      for (const p of op.parameters ?? []) compile(`${where} ${p.in} ${p.name}`, p.schema);
      for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) {
        compile(`${where} body ${type}`, media.schema);
      }
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        for (const [type, media] of Object.entries(response.content ?? {})) {
          compile(`${where} ${status} ${type}`, media.schema);
        }
      }
    }
    expect(broken).toEqual([]);
    // Some 150 components and every operation's schemas: seconds on a quiet machine, far more on a busy one.
  }, 180_000);

  it('describes the Problem the API actually sends', async () => {
    const ajv = new Ajv2020({ strict: false });
    addFormats(ajv);
    const validate = ajv.compile({ ...doc.components.schemas!.Problem, components: doc.components });
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { nonsense: true },
    });
    expect(res.statusCode).toBe(400);
    expect(validate(res.json()), JSON.stringify(validate.errors)).toBe(true);
  });
});
