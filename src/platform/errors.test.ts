import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleFrameworkError, NotFoundError, registerErrorHandling } from './errors.ts';

/**
 * The error handler on a bare Fastify: what the router refuses before any route runs, and what a route
 * throws that nobody expected. The full app's answers to bad requests are in test/http.test.ts.
 */
const app = Fastify({ frameworkErrors: handleFrameworkError, maxParamLength: 40 });

beforeAll(async () => {
  registerErrorHandling(app);
  app.get('/things/:id', async (request) => {
    const { id } = request.params as { id: string };
    if (id === 'missing') throw new NotFoundError('thing');
    if (id === 'boom') throw new Error('connection to postgres://kg:hunter2@db failed at /srv/app/db.ts:12');
    if (id === 'pg') throw Object.assign(new Error('insert failed'), { cause: { code: '22021' } });
    return { id };
  });
  await app.ready();
});
afterAll(() => app.close());

function expectProblem(res: Awaited<ReturnType<typeof app.inject>>, status: number, code: string) {
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
});

describe('errors a route throws', () => {
  it('answers a known error with its status and code', async () => {
    expectProblem(await app.inject({ url: '/things/missing' }), 404, 'thing_not_found');
  });

  it('answers an unexpected error with a 500 that says nothing internal', async () => {
    const res = await app.inject({ url: '/things/boom' });
    const body = expectProblem(res, 500, 'internal_error');
    expect(body.detail).toBe('something went wrong on our side');
    expect(res.body).not.toMatch(/hunter2|postgres|db\.ts/);
  });

  it('maps a database refusal of the input to 400, following the error cause', async () => {
    expectProblem(await app.inject({ url: '/things/pg' }), 400, 'invalid_text');
  });
});
