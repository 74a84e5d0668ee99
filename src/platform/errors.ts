import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Static, Type } from 'typebox';
import { databaseRefusal, isDatabaseUnavailable } from './database-errors.ts';
import { Component } from './schemas.ts';
import { messageOf, reportableErrors } from './validation.ts';

/** What modules catch of the database's errors, where they import the rest of the errors from. */
export { isDatabaseUnavailable, isUniqueViolation, onUniqueViolation } from './database-errors.ts';

export const FieldError = Type.Object({
  in: Type.String({ description: 'body, query, params or headers' }),
  field: Type.String({ description: 'Path of the field, dot-separated; empty for the whole part' }),
  message: Type.String(),
});

export const Problem = Component(
  'Problem',
  Type.Object(
    {
      type: Type.String(),
      title: Type.String(),
      status: Type.Integer(),
      code: Type.String({ description: 'Stable machine-readable error code' }),
      detail: Type.Optional(Type.String()),
      instance: Type.Optional(Type.String()),
      request_id: Type.Optional(Type.String()),
      errors: Type.Optional(Type.Array(FieldError)),
    },
    { description: 'RFC 9457 problem details' },
  ),
);
export type ProblemBody = Static<typeof Problem>;
type FieldErrorItem = Static<typeof FieldError>;
type ProblemInput = Pick<ProblemBody, 'status' | 'code' | 'detail' | 'errors'>;

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly errors?: FieldErrorItem[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

/** Also what a stranger gets for an object that exists but is not theirs: no existence leak. */
export class NotFoundError extends AppError {
  constructor(entity: string, code = `${entity}_not_found`) {
    super(404, code, `${entity.replaceAll('_', ' ')} not found`);
  }
}
export class UnauthorizedError extends AppError {
  constructor(code = 'unauthorized', message = 'authentication required') {
    super(401, code, message, undefined, { 'www-authenticate': 'Bearer' });
  }
}
export class ForbiddenError extends AppError {
  constructor(code = 'forbidden', message = 'you may not do this') {
    super(403, code, message);
  }
}
export class ConflictError extends AppError {
  constructor(code: string, message: string) {
    super(409, code, message);
  }
}
/** A well-formed request that breaks a business rule. */
export class RuleViolationError extends AppError {
  constructor(code: string, message: string, errors?: FieldErrorItem[]) {
    super(422, code, message, errors);
  }
}
export class ValidationError extends AppError {
  constructor(errors: FieldErrorItem[], message = 'the request is not valid') {
    super(400, 'validation_failed', message, errors);
  }
}
export class TooManyRequestsError extends AppError {
  constructor(retryAfterSeconds: number, code = 'rate_limited', message = 'too many requests') {
    super(429, code, `${message}; retry in ${retryAfterSeconds} s`, undefined, {
      'retry-after': String(retryAfterSeconds),
    });
  }
}

/** How long a client should wait before retrying after the database went away: a failover takes seconds. */
const RETRY_AFTER_SECONDS = 2;

/**
 * The database, not the request, failed: a connection was cut (failover, `pg_terminate_backend`) or cannot be
 * made. Nothing was committed unless the answer was lost after the commit; the client may retry.
 */
export class DatabaseUnavailableError extends AppError {
  constructor() {
    super(503, 'database_unavailable', 'the database is not reachable; retry in a moment', undefined, {
      'retry-after': String(RETRY_AFTER_SECONDS),
    });
  }
}
/** The disk (or the database's disk) is full: nothing was stored. */
export class InsufficientStorageError extends AppError {
  constructor() {
    super(507, 'insufficient_storage', 'there is no room left to store this; retry later');
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  507: 'Insufficient Storage',
};

/** Fastify's own refusals of a request, by its error code. */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_BAD_URL: 'invalid_url',
  FST_ERR_MAX_PARAM_LENGTH: 'url_too_long',
};

const PARTS: Record<string, string> = {
  querystring: 'query',
  body: 'body',
  params: 'params',
  headers: 'headers',
};

function validationErrors(error: FastifyError): FieldErrorItem[] {
  return fieldErrors(PARTS[error.validationContext ?? 'body'] ?? 'body', error.validation ?? []);
}

/** Ajv's errors of one part of a request (`body`, `query`, a realtime `frame`) as the client reads them. */
export function fieldErrors(
  part: string,
  errors: readonly { keyword: string; instancePath: string; params: object; message?: string }[],
): FieldErrorItem[] {
  return reportableErrors(errors).map((v) => {
    const params = v.params as { missingProperty?: string; additionalProperty?: string };
    const base = v.instancePath.replace(/^\//, '').replaceAll('/', '.');
    const extra = params.missingProperty ?? params.additionalProperty;
    const field = extra ? (base ? `${base}.${extra}` : extra) : base;
    const message = params.additionalProperty ? 'is not a known field' : (messageOf(v) ?? 'is not valid');
    return { in: part, field, message };
  });
}

function toProblem(error: FastifyError | AppError | Error): {
  body: ProblemInput;
  headers?: Record<string, string>;
} {
  if (error instanceof AppError) {
    return {
      body: { status: error.status, code: error.code, detail: error.message, errors: error.errors },
      headers: error.headers,
    };
  }
  const fe = error as FastifyError;
  if (fe.validation) {
    return {
      body: {
        status: 400,
        code: 'validation_failed',
        detail: 'the request is not valid',
        errors: validationErrors(fe),
      },
    };
  }
  if (isDatabaseUnavailable(error)) return toProblem(new DatabaseUnavailableError());
  const refused = databaseRefusal(error);
  if (refused) return { body: refused };
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
    const code =
      (fe.code && FASTIFY_CODES[fe.code]) ??
      (fe.statusCode === 429
        ? 'rate_limited'
        : (fe.code?.toLowerCase().replace(/^fst_err_/, '') ?? 'bad_request'));
    return { body: { status: fe.statusCode, code, detail: fe.message } };
  }
  return {
    body: { status: 500, code: 'internal_error', detail: 'something went wrong on our side' },
  };
}

const INTERNAL: ProblemInput = {
  status: 500,
  code: 'internal_error',
  detail: 'something went wrong on our side',
};

function problemBody(request: FastifyRequest, problem: ProblemInput, extra?: object): ProblemBody {
  return {
    ...extra,
    ...problem,
    type: `urn:kg-job-portal:problem:${problem.code}`,
    title: TITLES[problem.status] ?? 'Error',
    instance: request.url,
    request_id: request.id,
  };
}

/**
 * Replies that have been given a problem answer once. An error on one of them came from sending that answer
 * (an onSend hook failing again): the next answer goes out without hooks.
 */
const answered = new WeakSet<FastifyReply>();

/** Sends a problem answer; `extra` adds fields a route documents besides the problem's own. */
export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  problem: ProblemInput,
  extra?: object,
) {
  answered.add(reply);
  return reply
    .status(problem.status)
    .type('application/problem+json')
    .serializer(JSON.stringify)
    .send(problemBody(request, problem, extra));
}

/** Headers of the answer that failed which describe its body, not the exchange: not for the problem that replaces it. */
const BODY_HEADER = /^(content-|etag$|last-modified$|transfer-encoding$|trailer$)/;

/**
 * The problem written to the socket past every hook and serializer. Fastify's own fallback, which a failed
 * answer would otherwise reach, answers plain JSON with the error's message: SQL text and row ids.
 */
function writeBareProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  problem: ProblemInput,
  headers: Record<string, string> = {},
) {
  const raw = reply.raw;
  if (!reply.sent) reply.hijack();
  if (raw.writableEnded) return;
  if (raw.headersSent || raw.destroyed) {
    raw.destroy();
    return;
  }
  const payload = JSON.stringify(problemBody(request, problem));
  const own = {
    'content-type': 'application/problem+json',
    'content-length': String(Buffer.byteLength(payload)),
    'x-request-id': request.id,
  };
  const kept = Object.entries(reply.getHeaders()).filter(([name]) => !BODY_HEADER.test(name));
  try {
    raw.writeHead(problem.status, { ...Object.fromEntries(kept), ...headers, ...own });
  } catch {
    // A header a hook set that Node refuses: the problem goes out with its own headers only.
    raw.writeHead(problem.status, own);
  }
  raw.end(payload);
}

function logProblem(request: FastifyRequest, error: unknown, problem: ProblemInput) {
  if (problem.status >= 500) request.log.error({ err: error }, 'request failed');
  else request.log.info({ code: problem.code, status: problem.status }, 'request refused');
}

/**
 * Every error of a request ends here, from a handler, a hook (onRequest to onSend), a plugin, a serializer or
 * the router. The first answer goes out the ordinary way (hooks run, so an idempotent retry can keep it); when
 * that answer fails in turn, or this handler does, the problem goes out bare. A 5xx never says what went wrong.
 */
function answerError(error: unknown, request: FastifyRequest, reply: FastifyReply) {
  if (reply.sent && !answered.has(reply)) {
    // Hijacked, or already on the wire: there is no answer left to give.
    request.log.error({ err: error }, 'request failed after its answer was sent');
    return;
  }
  let problem = INTERNAL;
  let headers: Record<string, string> | undefined;
  try {
    ({ body: problem, headers } = toProblem(error as Error));
  } catch (failure) {
    request.log.error({ err: failure }, 'error handler failed');
  }
  logProblem(request, error, problem);
  if (answered.has(reply)) {
    writeBareProblem(request, reply, problem, headers);
    return;
  }
  try {
    if (headers) reply.headers(headers);
    sendProblem(request, reply, problem);
  } catch (failure) {
    request.log.error({ err: failure }, 'error answer failed');
    writeBareProblem(request, reply, INTERNAL);
  }
}

/**
 * Fastify's `frameworkErrors` option: what the router refuses before any route or hook runs (a URL with a
 * broken %-escape, a path parameter over `maxParamLength`) gets the same problem+json as everything else.
 */
export function handleFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  reply.header('x-request-id', request.id);
  answerError(error, request, reply);
}

/** What Node's HTTP parser refuses before there is a request (Fastify's `clientErrorHandler` option). */
const CLIENT_ERRORS: Record<string, ProblemInput> = {
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    code: 'request_timeout',
    detail: 'the request took too long to arrive',
  },
  HPE_HEADER_OVERFLOW: {
    status: 431,
    code: 'request_headers_too_large',
    detail: 'the request headers are too large',
  },
};

/** A request the HTTP parser cannot read still gets problem+json, not Fastify's plain JSON. */
export function handleClientError(error: NodeJS.ErrnoException, socket: Socket) {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const problem = CLIENT_ERRORS[error.code ?? ''] ?? {
    status: 400,
    code: 'malformed_request',
    detail: 'the request is not valid HTTP',
  };
  if (socket.writable) {
    const body = JSON.stringify({
      ...problem,
      type: `urn:kg-job-portal:problem:${problem.code}`,
      title: TITLES[problem.status],
    });
    socket.write(
      `HTTP/1.1 ${problem.status} ${TITLES[problem.status]}\r\nContent-Type: application/problem+json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

export interface ErrorHandlingOptions {
  /** The methods a path has routes for (platform/contract.ts), to answer a wrong one 405 rather than 404. */
  allowedMethods?: (path: string) => string[];
}

export function registerErrorHandling(app: FastifyInstance, { allowedMethods }: ErrorHandlingOptions = {}) {
  app.setErrorHandler(answerError);
  // The route's own handler comes first and the app's second, so an error while answering an error (an
  // onSend hook that fails again) reaches this handler a second time, not Fastify's default one.
  app.addHook('onRoute', (route) => {
    route.errorHandler ??= answerError;
  });
  // The router's not-found, and what a route hands back to it (OPTIONS while CORS is off). Only the path
  // decides between 404 and 405, before anyone is authenticated and without looking at any object: the
  // answer is the same for every caller and every id (ARCHITECTURE.md, "Strict requests").
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?', 1)[0] ?? '';
    const allowed = allowedMethods?.(path) ?? [];
    if (allowed.length === 0 || allowed.includes(request.method)) {
      return sendProblem(request, reply, {
        status: 404,
        code: 'route_not_found',
        detail: `no route ${request.method} ${path}`,
      });
    }
    reply.header('allow', allowed.join(', '));
    return sendProblem(request, reply, {
      status: 405,
      code: 'method_not_allowed',
      detail: `${path} takes ${allowed.join(', ')}, not ${request.method}`,
    });
  });
}
