import cors from '@fastify/cors';
import { publicRoutes } from './auth.ts';
import type { App } from './http.ts';

/** Every method a route of the API may use; a route with another does not start (a browser could not call it). */
export const CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** The request headers a web app sends besides the safelisted ones. */
const ALLOWED_HEADERS = [
  'Authorization',
  'Content-Type',
  'Accept-Language',
  'Idempotency-Key',
  'If-None-Match',
  'X-Request-Id',
  'traceparent',
  'tracestate',
];

/** The answer headers a web app needs to read; a browser hides any other but the safelisted few from its script. */
export const EXPOSED_HEADERS = ['ETag', 'Location', 'Retry-After', 'X-Request-Id', 'Idempotent-Replayed'];

/** How long a browser may keep a preflight's answer: Chromium keeps one at most 2 hours, whatever is asked. */
const PREFLIGHT_MAX_AGE_SECONDS = 7200;

/**
 * CORS for the web apps on `origins` (none: no CORS headers at all, and OPTIONS is a method no path takes). The answer to an
 * allowed origin names that origin, so every answer varies on `Origin` (@fastify/cors adds it to `Vary` in
 * onRequest; whatever adds to `Vary` later appends to it). No credentials: the API takes bearer tokens, not cookies.
 */
export async function registerCors(app: App, origins: string[]) {
  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat();
    const refused = methods.filter(
      (m) => m !== 'OPTIONS' && !(CORS_METHODS as readonly string[]).includes(m),
    );
    if (refused.length > 0) {
      throw new Error(
        `${refused.join(', ')} ${route.url}: not in CORS_METHODS, so a browser's preflight would refuse it`,
      );
    }
  });
  // Off, the plugin would still run its hooks on every request only to add nothing.
  if (origins.length === 0) return;
  // Its preflight route (OPTIONS *) answers anyone.
  publicRoutes(app, (route) => route.method === 'OPTIONS' && route.url === '*');
  await app.register(cors, {
    origin: origins,
    methods: [...CORS_METHODS],
    allowedHeaders: ALLOWED_HEADERS,
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: PREFLIGHT_MAX_AGE_SECONDS,
  });
}
