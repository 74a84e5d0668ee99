import { connect } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testConfig } from '../../test/helper.ts';
import { buildApp } from '../app.ts';
import type { Database } from './db.ts';
import {
  ConflictError,
  handleClientError,
  handleFrameworkError,
  NotFoundError,
  onUniqueViolation,
  registerErrorHandling,
} from './errors.ts';

/** What a failing statement says about itself: nothing of it may reach a client. */
const SQL_TEXT =
  'Failed query: update "idempotency_keys" set "status_code" = $1 where "id" = $2\nparams: 201,0193f1c2';
const INTERNALS = /idempotency_keys|Failed query|params|0193f1c2|hunter2|postgres:|\.ts:\d/;
const pgError = () => Object.assign(new Error(SQL_TEXT), { code: '42P01', severity: 'ERROR' });

type Injected = Awaited<ReturnType<FastifyInstance['inject']>>;

const HOOKS = [
  'onRequest',
  'preParsing',
  'preValidation',
  'preHandler',
  'preSerialization',
  'onSend',
] as const;

function expectProblem(res: Injected, status: number, code: string) {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json();
  expect(body).toMatchObject({
    status,
    code,
    type: `urn:kg-job-portal:problem:${code}`,
    title: expect.any(String),
  });
  expect(body.request_id).toEqual(expect.any(String));
  return body;
}

/** A 500 that says nothing internal, whatever failed and however often. */
function expectInternalError(res: Injected) {
  const body = expectProblem(res, 500, 'internal_error');
  expect(body.detail).toBe('something went wrong on our side');
  expect(res.body).not.toMatch(INTERNALS);
  return body;
}

/**
 * The error handler on a bare Fastify: what the router refuses before any route runs, what a route throws that
 * nobody expected, and failures in each place a request passes through. The full app's answers to bad requests
 * are in test/http.test.ts.
 */
const app = Fastify({
  frameworkErrors: handleFrameworkError,
  clientErrorHandler: handleClientError,
  maxParamLength: 40,
});

beforeAll(async () => {
  registerErrorHandling(app);
  app.get('/things/:id', async (request) => {
    const { id } = request.params as { id: string };
    if (id === 'missing') throw new NotFoundError('thing');
    if (id === 'boom') throw new Error('connection to postgres://kg:hunter2@db failed at /srv/app/db.ts:12');
    if (id === 'pg') throw Object.assign(new Error('insert failed'), { cause: { code: '22021' } });
    if (id === 'cut') throw Object.assign(new Error('Failed query: begin'), { cause: pgTerminated() });
    if (id === 'gone') throw Object.assign(new Error('Connection terminated unexpectedly'));
    if (id === 'refused')
      throw Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' });
    if (id === 'full') throw Object.assign(new Error('could not extend file'), { code: '53100' });
    return { id };
  });

  // One failure in each place: every hook of the lifecycle, the serializer, and the error handler itself.
  for (const place of HOOKS) {
    app.get(`/fails-in/${place}`, { [place]: async () => Promise.reject(pgError()) }, async () => ({
      ok: true,
    }));
  }
  app.get(
    '/fails-in/serializer',
    {
      schema: {
        response: { 200: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } },
      },
    },
    async () => ({ other: SQL_TEXT }),
  );
  app.get('/fails-in/to-json', async () => ({
    toJSON() {
      throw pgError();
    },
  }));
  // An error whose every read fails: the handler's own work on it throws.
  app.get('/fails-in/error-handler', async () => {
    throw new Proxy(pgError(), {
      get() {
        throw pgError();
      },
    });
  });

  // onSend hooks that fail again when the error answer passes them: once more, or on every answer.
  let failures = 0;
  app.get('/fails-twice-in/onSend', {
    onSend: async (_request, _reply, payload) => {
      if (failures++ % 3 < 2) throw pgError();
      return payload;
    },
    handler: async () => ({ ok: true }),
  });
  app.get('/fails-always-in/onSend', { onSend: async () => Promise.reject(pgError()) }, async () => ({
    ok: true,
  }));
  app.get(
    '/fails-on-errors-in/onSend',
    {
      onSend: async (_request, reply, payload) => {
        if (reply.statusCode >= 400) throw pgError();
        return payload;
      },
    },
    async () => {
      throw new NotFoundError('thing');
    },
  );

  // A plugin's hook, registered as plugins do: unencapsulated, for every route after it.
  await app.register(
    Object.assign(
      async (scope: FastifyInstance) => {
        scope.addHook('onRequest', async (request) => {
          if (request.headers['x-plugin-fails']) throw pgError();
        });
      },
      { [Symbol.for('skip-override')]: true },
    ),
  );
  app.get('/after-plugin', async () => ({ ok: true }));

  // A hook that fails on the not-found answer too.
  app.addHook('onSend', async (request, _reply, payload) => {
    if (request.url.startsWith('/nowhere/failing')) throw pgError();
    return payload;
  });
  await app.ready();
});
afterAll(() => app.close());

const pgTerminated = () =>
  Object.assign(new Error('terminating connection due to administrator command'), {
    code: '57P01',
    severity: 'FATAL',
  });

describe('errors before routing', () => {
  it('answers a URL with a broken %-escape with 400 invalid_url as problem+json', async () => {
    const res = await app.inject({ url: '/things/%zz' });
    expectProblem(res, 400, 'invalid_url');
    expect(res.headers['x-request-id']).toBe(res.json().request_id);
  });

  it('answers a path parameter over maxParamLength with 414 url_too_long as problem+json', async () => {
    const res = await app.inject({ url: `/things/${'a'.repeat(41)}` });
    expect(expectProblem(res, 414, 'url_too_long').title).toBe('URI Too Long');
  });

  it('answers bytes that are not HTTP with 400 malformed_request as problem+json, not plain JSON', async () => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    const answer = await new Promise<string>((resolve, reject) => {
      let data = '';
      const socket = connect(port, '127.0.0.1', () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
      socket.on('data', (chunk) => (data += chunk));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(answer).toMatch(/\r\nContent-Type: application\/problem\+json\r\n/i);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
    expect(body).toMatchObject({
      status: 400,
      code: 'malformed_request',
      type: 'urn:kg-job-portal:problem:malformed_request',
    });
  });
});

describe('errors a route throws', () => {
  it('answers a known error with its status and code', async () => {
    expectProblem(await app.inject({ url: '/things/missing' }), 404, 'thing_not_found');
  });

  it('answers an unexpected error with a 500 that says nothing internal', async () => {
    expectInternalError(await app.inject({ url: '/things/boom' }));
  });

  it('maps a database refusal of the input to 400, following the error cause', async () => {
    expectProblem(await app.inject({ url: '/things/pg' }), 400, 'invalid_text');
  });

  it('answers a cut, lost or refused database connection with 503 database_unavailable and Retry-After', async () => {
    for (const id of ['cut', 'gone', 'refused']) {
      const res = await app.inject({ url: `/things/${id}` });
      const body = expectProblem(res, 503, 'database_unavailable');
      expect(res.headers['retry-after']).toMatch(/^\d+$/);
      expect(body.detail).not.toMatch(/terminat|ECONNREFUSED|10\.0\.0\.5/);
    }
  });

  it('answers a full database disk with 507 insufficient_storage', async () => {
    expect(expectProblem(await app.inject({ url: '/things/full' }), 507, 'insufficient_storage').title).toBe(
      'Insufficient Storage',
    );
  });
});

describe('failures outside the handler', () => {
  it.each([...HOOKS, 'serializer', 'to-json', 'error-handler'])(
    'answers a failure in %s with a 500 problem that says nothing internal',
    async (place) => {
      expectInternalError(await app.inject({ url: `/fails-in/${place}` }));
    },
  );

  it('answers problem+json when an onSend hook fails again on the error answer, or on every answer', async () => {
    expectInternalError(await app.inject({ url: '/fails-twice-in/onSend' }));
    expectInternalError(await app.inject({ url: '/fails-always-in/onSend' }));
    expectInternalError(await app.inject({ url: '/fails-on-errors-in/onSend' }));
  });

  it('answers a failure in a plugin’s hook, and a failing hook on the not-found answer, the same way', async () => {
    expectInternalError(await app.inject({ url: '/after-plugin', headers: { 'x-plugin-fails': '1' } }));
    expect((await app.inject({ url: '/after-plugin' })).statusCode).toBe(200);
    expectInternalError(await app.inject({ url: '/nowhere/failing' }));
    expectProblem(await app.inject({ url: '/nowhere/else' }), 404, 'route_not_found');
  });
});

describe('failures in the whole app', () => {
  let database: Database;
  let full: Awaited<ReturnType<typeof buildApp>>;

  beforeAll(async () => {
    database = await createTestDatabase();
    full = await buildApp({ config: testConfig(), database, work: false, logger: false });
    // Routes under /api pass the app's own hooks too (idempotency, rate limits, auth), which answer again.
    await full.register(
      async (scope) => {
        scope.addHook('onSend', async (request, _reply, payload) => {
          if (request.headers['x-fail-on-send']) throw pgError();
          return payload;
        });
        scope.post('/boom', { config: { access: 'public' } }, async (request) => {
          if (request.headers['x-cut'])
            throw Object.assign(new Error('Failed query: commit'), { cause: pgTerminated() });
          throw pgError();
        });
        scope.post('/ok', { config: { access: 'public' } }, async () => ({ ok: true }));
      },
      { prefix: '/api/v1/test' },
    );
    await full.ready();
  });
  afterAll(async () => {
    await full.close();
    await database.close();
  });

  it('answers a handler’s SQL error, and an onSend failure on it, with a generic 500 problem', async () => {
    const answers = [
      await full.inject({ method: 'POST', url: '/api/v1/test/boom' }),
      await full.inject({ method: 'POST', url: '/api/v1/test/boom', headers: { 'x-fail-on-send': '1' } }),
      await full.inject({
        method: 'POST',
        url: '/api/v1/test/ok',
        headers: { 'x-fail-on-send': '1', 'idempotency-key': 'key-fails-on-send-1' },
      }),
    ];
    for (const res of answers) {
      // The app's headers are on every answer, the bare one included.
      expect(res.headers['x-request-id']).toBe(expectInternalError(res).request_id);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('answers a connection cut with 503 database_unavailable, documented on every API route', async () => {
    const res = await full.inject({ method: 'POST', url: '/api/v1/test/boom', headers: { 'x-cut': '1' } });
    expectProblem(res, 503, 'database_unavailable');
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    const spec = full.swagger() as unknown as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    expect(spec.paths['/api/v1/orders']?.post?.responses['503']).toBeDefined();
  });
});

describe('onUniqueViolation', () => {
  /** How drizzle hands on the driver's error: its own, with the driver's as the cause. */
  const violation = (constraint: string) =>
    Object.assign(new Error('Failed query: insert ...'), {
      cause: Object.assign(new Error('duplicate key value'), { code: '23505', constraint }),
    });
  const taken = () => new ConflictError('email_taken', 'taken');
  const answers = { users_email_hash_live_uq: taken };

  it('answers what the work answers', async () => {
    await expect(onUniqueViolation(Promise.resolve(7), answers)).resolves.toBe(7);
  });

  it('turns a violation of a named constraint into its error', async () => {
    await expect(
      onUniqueViolation(Promise.reject(violation('users_email_hash_live_uq')), answers),
    ).rejects.toMatchObject({ status: 409, code: 'email_taken' });
  });

  it('lets through a violation of another constraint, and any other error, as they are', async () => {
    const other = violation('users_phone_hash_live_uq');
    await expect(onUniqueViolation(Promise.reject(other), answers)).rejects.toBe(other);
    const inherited = violation('toString');
    await expect(onUniqueViolation(Promise.reject(inherited), answers)).rejects.toBe(inherited);
    const failed = pgError();
    await expect(onUniqueViolation(Promise.reject(failed), answers)).rejects.toBe(failed);
  });
});
