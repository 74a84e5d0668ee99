import compress from '@fastify/compress';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import type { Redis } from 'ioredis';
import { publicRoutes, requireAccess } from './auth.ts';
import { newId } from './columns.ts';
import type { Config } from './config.ts';
import { registerContract } from './contract.ts';
import { registerCors } from './cors.ts';
import { documentRoutes } from './documentation.ts';
import {
  handleClientError,
  handleFrameworkError,
  registerErrorHandling,
  TooManyRequestsError,
} from './errors.ts';
import { type ReadinessProbes, registerHealth } from './health.ts';
import type { App } from './http.ts';
import { COMPRESSION_THRESHOLD_BYTES, registerHttpCache } from './http-cache.ts';
import { type Metrics, registerMetrics } from './metrics.ts';
import type { FrameRegistry } from './realtime/frames.ts';
import { registerRealtimeDocs } from './realtime/routes.ts';
import { componentSchemas } from './schemas.ts';
import { registerTracing } from './trace.ts';
import { lazySerializers, validatorCompiler } from './validation.ts';

// The HTTP server the modules' routes are registered on: Fastify with the platform's plugins, in the order
// they must come (before any route), the API's document, and the worker's own small server.

/** The version of both documents, OpenAPI and AsyncAPI: what `/api/v1` promises. */
const API_VERSION = '1.0.0';

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * helmet's default headers (CSP off: this is a JSON API), fixed once. @fastify/helmet rebuilds helmet's
 * middleware chain on every request, a measurable share of a cached GET. Set in onRequest, so a route
 * can still override one.
 */
const SECURITY_HEADERS = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'SAMEORIGIN',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
};

/** Fastify as the API runs it: request ids, tracing, validation, the contract and problem+json errors. */
export function createServer(config: Config, { logger }: { logger?: boolean }): App {
  const app = Fastify({
    logger:
      logger === false
        ? false
        : {
            level: config.logLevel,
            redact: ['req.headers.authorization', 'req.headers.cookie'],
          },
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    // A request id from the client or proxy is kept when it looks like one, so logs join up across hops.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : newId();
    },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    forceCloseConnections: 'idle',
    // A URL the router cannot even parse, or a request that is not HTTP, still gets problem+json.
    frameworkErrors: handleFrameworkError,
    clientErrorHandler: handleClientError,
    schemaController: { compilersFactory: { buildSerializer: lazySerializers } },
  }).withTypeProvider<TypeBoxTypeProvider>() as App;

  requireAccess(app);
  // Before any route, so that every handler runs in the trace context its request came with.
  registerTracing(app);
  app.setValidatorCompiler(validatorCompiler);
  const allowedMethods = registerContract(app);
  registerErrorHandling(app, { allowedMethods });
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    done(null, payload);
  });
  return app;
}

/**
 * The platform's plugins every route runs through, registered before any route: security headers, CORS, HTTP
 * caching, compression (its hook is added to each route as it is registered) and rate limits.
 */
export async function registerPlatformPlugins(
  app: App,
  { config, redis, metrics }: { config: Config; redis: Redis | undefined; metrics: Metrics },
) {
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(SECURITY_HEADERS);
    done();
  });
  await registerCors(app, config.corsOrigins);
  registerHttpCache(app);
  // Before any route: the plugin adds its hook to each route as it is registered, the docs' included.
  await app.register(compress, {
    encodings: ['br', 'gzip'],
    threshold: COMPRESSION_THRESHOLD_BYTES,
    // Request bodies stay uncompressed: nothing sends big ones, and each would be one more way to a bomb.
    globalDecompression: false,
  });
  await app.register(rateLimit, {
    global: false,
    redis,
    nameSpace: `${config.redisKeyPrefix}rate:`,
    errorResponseBuilder: (request, context) => {
      metrics.rateLimited(request.routeOptions.url ?? 'unmatched');
      return new TooManyRequestsError(Math.max(1, Math.ceil(context.ttl / 1000)));
    },
  });
}

/** The OpenAPI document, and the routes that serve it and the realtime protocol's when docs are on. */
export async function registerApiDocument(
  app: App,
  { config, frames }: { config: Config; frames: FrameRegistry },
) {
  for (const schema of componentSchemas()) app.addSchema(schema);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'kg-job-portal API',
        version: API_VERSION,
        contact: { name: 'kg-job-portal API' },
        license: { name: 'Proprietary', identifier: 'LicenseRef-kg-job-portal' },
        description:
          'Local-services marketplace for Kyrgyzstan. Money is in tyiyn (1 KGS = 100 tyiyn); errors are RFC 9457 problem+json with a stable `code`.',
      },
      // Relative, so the document is the same in every deployment: the API is where the document is served.
      servers: [{ url: '/' }],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          metricsToken: { type: 'http', scheme: 'bearer', description: 'The `METRICS_TOKEN` of the server' },
        },
      },
      tags: [
        { name: 'system', description: 'Health and metrics' },
        { name: 'auth', description: 'Sign-up, sign-in and sessions' },
        { name: 'catalog', description: 'Languages, categories, service areas, settings and app versions' },
        { name: 'profiles', description: 'My profile, and becoming a client or a provider' },
        { name: 'provider services', description: 'What a provider offers, per subcategory' },
        { name: 'favorites', description: 'A client’s favorite providers' },
        { name: 'directory', description: 'The public provider directory' },
        { name: 'files', description: 'Uploads (profile photos, verification evidence) and downloads' },
        { name: 'verification', description: 'Identity, business and other verifications, and their review' },
        { name: 'privacy', description: 'Closing an account, exporting and erasing personal data' },
        { name: 'users', description: 'Accounts as staff manage them' },
        { name: 'admin', description: 'Staff-only operations' },
        { name: 'reviews', description: 'Ratings the two parties of an order give each other' },
        { name: 'disputes', description: 'Disputes over agreed work, and how staff resolve them' },
        { name: 'orders', description: 'Service orders, their lifecycle, the provider feed and search' },
        { name: 'bids', description: 'Providers’ bids on orders; the client accepts or rejects them' },
        { name: 'assignments', description: 'Agreed work: the accepted bid, progress, completion' },
        { name: 'notifications', description: 'My in-app inbox and what I hear about, where' },
        { name: 'chat', description: 'Order, support and direct chats: rooms, messages, read state' },
      ],
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (json.$id as string) || `def-${i}` },
    transformObject: (document) =>
      'openapiObject' in document ? withOptionalBodies(document.openapiObject) : document.swaggerObject,
  });
  // The document is still built (app.swagger()) when the routes that serve it are off.
  if (config.docsEnabled) {
    await app.register(async (docs) => {
      publicRoutes(docs);
      await docs.register(swaggerUi, { routePrefix: '/docs' });
    });
    registerRealtimeDocs(app, frames, API_VERSION);
  }
  documentRoutes(app);
}

/**
 * What a worker process serves on its own port (WORKER_PORT): liveness, readiness (the checks of `app`, the
 * job queue among them) and the metrics, under the same METRICS_TOKEN; none of the API.
 */
export async function buildWorkerOperations(
  app: {
    ready(): PromiseLike<unknown>;
    log: App['log'];
    operations: { metrics: Metrics; readiness: ReadinessProbes };
  },
  config: Config,
) {
  // The app's onReady starts its job queue.
  await app.ready();
  const ops = Fastify({
    loggerInstance: app.log.child({ server: 'worker-operations' }),
    forceCloseConnections: true,
    frameworkErrors: handleFrameworkError,
    clientErrorHandler: handleClientError,
  }).withTypeProvider<TypeBoxTypeProvider>() as App;
  // A probe or a scrape every few seconds is not news: only warnings (a failed check) are logged.
  ops.addHook('onRoute', (route) => {
    route.logLevel = 'warn';
  });
  registerErrorHandling(ops);
  for (const schema of componentSchemas()) ops.addSchema(schema);
  registerHealth(ops, app.operations.readiness);
  registerMetrics(ops, app.operations.metrics, { token: config.metricsToken, observeRequests: false });
  await ops.ready();
  return ops;
}

/**
 * @fastify/swagger marks every request body required; a route whose body may be left out says so in its
 * schema (`x-optional-body`, platform/contract.ts), and the operation's `requestBody.required` follows it.
 */
function withOptionalBodies<D extends { paths?: object }>(document: D): D {
  for (const item of Object.values(document.paths ?? {}) as object[]) {
    for (const operation of Object.values(item ?? {}) as Record<string, unknown>[]) {
      if (typeof operation !== 'object' || operation === null || !('x-optional-body' in operation)) continue;
      delete operation['x-optional-body'];
      (operation.requestBody as { required?: boolean }).required = false;
    }
  }
  return document;
}
