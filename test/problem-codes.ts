import type { FastifyInstance } from 'fastify';
import { afterAll, expect } from 'vitest';
import { documentedCodes } from '../src/platform/documentation.ts';

/**
 * Every problem an app built in this test file answered, checked against what its route documents: a code
 * the route's document does not list for that status is a drift a generated client cannot switch on.
 */
const undeclared = new Set<string>();

/** Watches `app`'s problem answers; what `app` answers outside its routes (an unknown path) is not a route's. */
export function watchProblemCodes(app: FastifyInstance) {
  app.addHook('onSend', (request, reply, payload, done) => {
    const type = String(reply.getHeader('content-type') ?? '');
    const url = request.routeOptions.url;
    if (
      type.startsWith('application/problem+json') &&
      typeof payload === 'string' &&
      url?.startsWith('/api/')
    ) {
      const { code } = JSON.parse(payload) as { code: string };
      const declared = documentedCodes(request.routeOptions).get(reply.statusCode) ?? [];
      // A test's own extension (orders' accept, a test route) answers codes of its own: `test_…`.
      if (!declared.includes(code) && !code.startsWith('test_')) {
        undeclared.add(`${request.method} ${url} ${reply.statusCode} ${code}`);
      }
    }
    done(null, payload);
  });
}

afterAll(() => {
  expect([...undeclared].sort(), 'problem codes answered but not in the route’s document').toEqual([]);
});
