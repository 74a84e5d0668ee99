import { createHash, timingSafeEqual } from 'node:crypto';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { Type } from 'typebox';
import { UnauthorizedError } from './errors.ts';
import type { App } from './http.ts';

/** Hashed first, so the comparison takes as long whatever the length or content of the guess. */
const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Prometheus text at /metrics: process metrics and a request-duration histogram per route. With a token,
 * only a scraper that sends `Authorization: Bearer <token>` gets them: route names and timings tell an
 * outsider what the API does and how busy it is.
 */
export function registerMetrics(app: App, options: { token?: string } = {}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  app.addHook('onResponse', (request, reply, done) => {
    duration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
    done();
  });

  const expected = options.token === undefined ? undefined : digest(options.token);
  const problem = {
    description: 'RFC 9457 problem details',
    content: { 'application/problem+json': { schema: Type.Ref('Problem') } },
  };
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['system'],
        operationId: 'getMetrics',
        summary: 'Prometheus metrics (text exposition format)',
        description:
          'Open to anyone unless the server has `METRICS_TOKEN` set; then it needs `Authorization: Bearer <METRICS_TOKEN>` ' +
          '(401 `unauthorized` without it, 401 `invalid_token` with another).',
        security: options.token === undefined ? [] : [{ metricsToken: [] }],
        response: {
          200: {
            description: 'Prometheus text format 0.0.4',
            content: { 'text/plain': { schema: Type.String() } },
          },
          ...(options.token === undefined ? {} : { 401: problem }),
        },
      },
      config: { access: 'public' },
    },
    async (request, reply) => {
      if (expected) {
        const header = request.headers.authorization;
        if (!header)
          throw new UnauthorizedError('unauthorized', 'metrics need Authorization: Bearer <token>');
        const [scheme, token] = header.split(' ');
        const given = digest(scheme?.toLowerCase() === 'bearer' && token ? token : '');
        if (!timingSafeEqual(given, expected)) {
          throw new UnauthorizedError('invalid_token', 'the metrics token is not valid');
        }
      }
      reply.type(registry.contentType);
      return registry.metrics();
    },
  );
}
