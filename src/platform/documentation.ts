import type { RouteOptions } from 'fastify';
import type { App } from './http.ts';

/** The problem codes a route answers, by status: what a client can switch on. */
export type ProblemCodes = Partial<Record<number, readonly string[]>>;

/** A documented problem answer: problem+json whose `code` is one of `codes`. */
interface ProblemEntry {
  description: string;
  headers?: Record<string, Header>;
  content: { 'application/problem+json': { schema: object } };
  'x-problem-codes': string[];
}

interface Header {
  description: string;
  type: 'string' | 'integer';
  [keyword: string]: unknown;
}

const isProblemEntry = (value: unknown): value is ProblemEntry =>
  typeof value === 'object' && value !== null && Array.isArray((value as ProblemEntry)['x-problem-codes']);

function problemEntry(status: number, codes: readonly string[]): ProblemEntry {
  const sorted = [...new Set(codes)].sort();
  if (sorted.length === 0) throw new Error(`a ${status} problem answer names the codes it can have`);
  return {
    description: `RFC 9457 problem details; \`code\` is one of: ${sorted.join(', ')}`,
    content: {
      'application/problem+json': {
        schema: {
          allOf: [
            { $ref: 'Problem' },
            {
              type: 'object',
              properties: { status: { const: status }, code: { type: 'string', enum: sorted } },
            },
          ],
        },
      },
    },
    'x-problem-codes': sorted,
  };
}

/**
 * The problem answers a route gives besides those the platform gives every route (`documentRoutes`), for
 * its `schema.response`: `...problems({ 404: ['order_not_found'], 409: ['order_not_open'] })`.
 */
export function problems(codes: ProblemCodes): Record<number, ProblemEntry> {
  return Object.fromEntries(
    Object.entries(codes).map(([status, list]) => [Number(status), problemEntry(Number(status), list ?? [])]),
  );
}

/** The codes each documented problem answer of the route lists, by status; for the tests' drift check. */
export function documentedCodes(route: { schema?: unknown }): Map<number, string[]> {
  const response = ((route.schema ?? {}) as { response?: Record<string, unknown> }).response ?? {};
  const found = new Map<number, string[]>();
  for (const [status, entry] of Object.entries(response)) {
    if (isProblemEntry(entry)) found.set(Number(status), entry['x-problem-codes']);
  }
  return found;
}

type Schema = Record<string, unknown>;

/** Adds a header the server sends with the answers of `statuses` (every documented one when left out). */
export function documentResponseHeader(
  route: RouteOptions,
  name: string,
  header: Header,
  statuses?: (status: string) => boolean,
) {
  const response = (route.schema as Schema | undefined)?.response as Record<string, Schema> | undefined;
  for (const [status, entry] of Object.entries(response ?? {})) {
    if (statuses && !statuses(status)) continue;
    const headers = (entry.headers ?? {}) as Record<string, Header>;
    response![status] = { ...entry, headers: { ...headers, [name]: header } };
  }
}

/** Adds a request header the route reads, optional, to its documented (and validated) headers. */
export function documentRequestHeader(route: RouteOptions, name: string, schema: Header) {
  route.schema ??= {};
  const routeSchema = route.schema as Schema;
  const headers = (routeSchema.headers ?? { type: 'object', properties: {} }) as Schema;
  routeSchema.headers = {
    ...headers,
    properties: { ...(headers.properties as Schema), [name.toLowerCase()]: schema },
  };
}

/** What the platform answers on any route, by what the route has: the codes and the statuses they come with. */
function platformCodes(route: RouteOptions): ProblemCodes {
  const config = route.config ?? {};
  const access = config.access;
  const methods = [route.method].flat();
  const takesBody = methods.some((m) => m === 'POST' || m === 'PUT' || m === 'PATCH');
  const writes = takesBody || methods.includes('DELETE');
  const query = ((route.schema as Schema | undefined)?.querystring ?? {}) as { properties?: Schema };
  const keyed = methods.includes('POST') && config.idempotency !== 'off';
  const codes: Record<number, string[]> = {
    400: ['validation_failed'],
    500: ['internal_error'],
    503: ['database_unavailable'],
  };
  const add = (status: number, ...list: string[]) => {
    codes[status] = [...(codes[status] ?? []), ...list];
  };
  if (query.properties?.cursor) add(400, 'invalid_cursor');
  if (takesBody) {
    add(400, 'malformed_json');
    add(413, 'body_too_large');
    add(415, 'unsupported_media_type');
  }
  // A full disk (the database's, or file storage's) refuses any write.
  if (writes) add(507, 'insufficient_storage');
  if (keyed) {
    add(400, 'invalid_idempotency_key');
    add(422, 'idempotency_key_reused');
    add(503, 'idempotency_key_unavailable');
    if (config.idempotency === 'required') add(428, 'idempotency_key_required');
  }
  if (access !== 'public') add(401, 'unauthorized', 'invalid_token', 'token_expired', 'session_revoked');
  if (Array.isArray(access)) add(403, 'forbidden');
  if (config.rateLimit) add(429, 'rate_limited');
  return codes;
}

const RETRY_AFTER: Header = { type: 'integer', description: 'Seconds to wait before retrying' };
const REQUEST_ID: Header = {
  type: 'string',
  description: 'The request’s id (the client’s `X-Request-Id` when it sent one that fits), for support',
};

/**
 * Every route under /api is documented the same way: its security (`[]` when public, the bearer scheme
 * otherwise), the problems the platform answers on it merged with the route's own (`problems()`), each a
 * problem+json answer whose `code` is an enum, `Retry-After` where the answer carries it, and `X-Request-Id`
 * on every answer. Registered after the mechanisms that add their own answers and headers, before any route.
 */
export function documentRoutes(app: App) {
  app.addHook('onRoute', (route) => {
    const access = route.config?.access;
    // A route without access does not start (requireAccess): nothing to document.
    if (!access) return;
    route.schema ??= {};
    const schema = route.schema as Schema;
    schema.security ??= access === 'public' ? [] : [{ bearerAuth: [] }];
    schema.response ??= {};
    const response = schema.response as Record<string, unknown>;
    // Outside the API (health, metrics) a route only refuses query parameters it does not take.
    const platform: ProblemCodes = route.url.startsWith('/api/')
      ? platformCodes(route)
      : { 400: ['validation_failed'], 500: ['internal_error'] };
    for (const [status, own] of Object.entries(response)) {
      if (!/^[45]\d\d$/.test(status) || isProblemEntry(own) || (own as Schema).$ref !== 'Problem') continue;
      throw new Error(`${route.method} ${route.url}: its ${status} answer is documented with problems()`);
    }
    for (const [status, codes] of Object.entries(platform)) {
      const own = response[status];
      const ownCodes = isProblemEntry(own) ? own['x-problem-codes'] : [];
      response[status] = problemEntry(Number(status), [...ownCodes, ...(codes ?? [])]);
    }
    documentResponseHeader(
      route,
      'Retry-After',
      RETRY_AFTER,
      (status) => status === '429' || status === '503',
    );
    documentResponseHeader(route, 'X-Request-Id', REQUEST_ID);
  });
}
