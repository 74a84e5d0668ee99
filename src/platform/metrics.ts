import { createHash, timingSafeEqual } from 'node:crypto';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { Type } from 'typebox';
import type { Database, PoolState } from './db.ts';
import { problems } from './documentation.ts';
import { UnauthorizedError } from './errors.ts';
import type { App } from './http.ts';
import { JOB_SCHEMA } from './jobs.ts';

/** Hashed first, so the comparison takes as long whatever the length or content of the guess. */
const digest = (text: string) => createHash('sha256').update(text).digest();

/** A scrape waits at most this long for the job queue's counts, so a stuck database does not hold it. */
const STATE_TIMEOUT_MS = 2_000;

const withTimeout = <T>(promise: Promise<T>) => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('no answer in time')), STATE_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
};

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * What a process tells Prometheus, the API and the worker alike: process metrics, HTTP requests, the jobs in
 * pg-boss's own table by name and state (read at each scrape) and how long the jobs this process ran took,
 * the database pool, cache look-ups and rate-limit refusals. One registry per app.
 */
export function createMetrics({ database }: { database: Pick<Database, 'sql' | 'pool'> }) {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  const requests = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  const jobDuration = new Histogram({
    name: 'job_duration_seconds',
    help: 'How long the jobs this process ran took, by job name and outcome (completed, failed)',
    labelNames: ['job', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
    registers,
  });
  // Read from the queue at each scrape (collect), not counted here.
  new Gauge({
    name: 'jobs',
    help:
      'Jobs in the queue by job name and pg-boss state (created and retry are queued; active; completed, ' +
      'failed, cancelled until pg-boss archives them), as the queue holds them at the scrape',
    labelNames: ['job', 'state'] as const,
    registers,
    async collect() {
      this.reset();
      const { rows } = await withTimeout(
        database.sql.query(
          `select name, state::text as state, count(*)::int as n from ${JOB_SCHEMA}.job group by name, state`,
        ),
      ).catch(() => ({ rows: [] }));
      for (const row of rows) this.set({ job: String(row.name), state: String(row.state) }, Number(row.n));
    },
  });
  const pool = database.pool;
  if (pool) {
    const poolGauge = (name: string, help: string, read: (state: PoolState) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read(pool()));
        },
      });
    poolGauge('db_pool_connections_total', 'Connections the database pool holds', (s) => s.total);
    poolGauge('db_pool_connections_idle', 'Connections of the pool not in use', (s) => s.idle);
    poolGauge('db_pool_waiting', 'Queries waiting for a connection of the pool', (s) => s.waiting);
  }
  const cacheLookups = new Counter({
    name: 'cache_lookups_total',
    help: 'Look-ups in the in-process cache by cache (the key up to its first colon) and result (hit, miss)',
    labelNames: ['cache', 'result'] as const,
    registers,
  });
  // The labelled children, kept: a look-up is on the path of every signed-in request.
  const lookupCounters = new Map<string, Counter.Internal>();
  const rateLimited = new Counter({
    name: 'rate_limit_refusals_total',
    help: 'Requests refused by a rate limit (429), by route',
    labelNames: ['route'] as const,
    registers,
  });

  return {
    registry,
    requests,
    observeJob(name: string, outcome: 'completed' | 'failed', seconds: number) {
      jobDuration.observe({ job: name, outcome }, seconds);
    },
    cacheLookup(key: string, hit: boolean) {
      const colon = key.indexOf(':');
      const name = colon === -1 ? key : key.slice(0, colon);
      const id = `${hit ? '1' : '0'}${name}`;
      let counter = lookupCounters.get(id);
      if (!counter) {
        counter = cacheLookups.labels({ cache: name, result: hit ? 'hit' : 'miss' });
        lookupCounters.set(id, counter);
      }
      counter.inc();
    },
    rateLimited(route: string) {
      rateLimited.inc({ route });
    },
  };
}

/**
 * Prometheus text at /metrics, with a request-duration histogram per route unless `observeRequests` is
 * false. With a token, only a scraper that sends `Authorization: Bearer <token>` gets them: route names and
 * timings tell an outsider what the API does and how busy it is.
 */
export function registerMetrics(
  app: App,
  metrics: Metrics,
  options: { token?: string; observeRequests?: boolean } = {},
) {
  const { registry, requests: duration } = metrics;
  if (options.observeRequests !== false) {
    // The labelled children, kept: finding one from its labels sorts and joins them on every request.
    const children = new Map<string, Histogram.Internal<'method' | 'route' | 'status'>>();
    app.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? 'unmatched';
      const id = `${request.method} ${reply.statusCode} ${route}`;
      let child = children.get(id);
      if (!child) {
        child = duration.labels({ method: request.method, route, status: String(reply.statusCode) });
        children.set(id, child);
      }
      child.observe(reply.elapsedTime / 1000);
      done();
    });
  }

  const expected = options.token === undefined ? undefined : digest(options.token);
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
        // The same in every deployment: the token where the server has one set, nothing where it has not.
        security: [{ metricsToken: [] }, {}],
        response: {
          200: {
            description: 'Prometheus text format 0.0.4',
            content: { 'text/plain': { schema: Type.String() } },
          },
          ...problems({ 401: ['unauthorized', 'invalid_token'] }),
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
