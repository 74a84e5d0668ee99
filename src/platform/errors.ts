import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Static, Type } from 'typebox';
import { messageOf, reportableErrors } from './validation.ts';

export const FieldError = Type.Object({
  in: Type.String({ description: 'body, query, params or headers' }),
  field: Type.String({ description: 'Path of the field, dot-separated; empty for the whole part' }),
  message: Type.String(),
});

export const Problem = Type.Object(
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
  { $id: 'Problem', description: 'RFC 9457 problem details' },
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
  constructor(retryAfterSeconds: number, code = 'rate_limited') {
    super(429, code, `too many requests; retry in ${retryAfterSeconds} s`, undefined, {
      'retry-after': String(retryAfterSeconds),
    });
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** PostgreSQL error codes that mean the input was wrong, not the server. */
const PG_ERRORS: Record<string, [number, string, string]> = {
  '23505': [409, 'already_exists', 'a record with these values already exists'],
  '23503': [409, 'referenced_record_missing', 'a referenced record does not exist or is still in use'],
  '23514': [422, 'constraint_violated', 'the values break a rule of the data'],
  '22P02': [400, 'invalid_value', 'a value has the wrong format'],
  '22003': [400, 'value_out_of_range', 'a number is out of range'],
  '22001': [400, 'value_too_long', 'a value is too long'],
  '22007': [400, 'invalid_value', 'a date or time has the wrong format'],
  '22008': [400, 'value_out_of_range', 'a date or time is out of range'],
  '22021': [400, 'invalid_text', 'a text contains a character that is not allowed (such as NUL)'],
  '22P05': [400, 'invalid_text', 'a text contains a character that is not allowed (such as NUL)'],
  '40001': [409, 'concurrent_update', 'the record changed while you were updating it; retry'],
  '40P01': [409, 'concurrent_update', 'the record changed while you were updating it; retry'],
};

function pgErrorCode(error: unknown): string | undefined {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; depth++) {
    if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
}

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
  const part = PARTS[error.validationContext ?? 'body'] ?? 'body';
  return reportableErrors(error.validation ?? []).map((v) => {
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
  const pgCode = pgErrorCode(error);
  if (pgCode && PG_ERRORS[pgCode]) {
    const [status, code, detail] = PG_ERRORS[pgCode];
    return { body: { status, code, detail } };
  }
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

export function sendProblem(request: FastifyRequest, reply: FastifyReply, problem: ProblemInput) {
  const body: ProblemBody = {
    ...problem,
    type: `urn:kg-job-portal:problem:${problem.code}`,
    title: TITLES[problem.status] ?? 'Error',
    instance: request.url,
    request_id: request.id,
  };
  return reply.status(problem.status).type('application/problem+json').serializer(JSON.stringify).send(body);
}

/**
 * Fastify's `frameworkErrors` option: what the router refuses before any route or hook runs (a URL with a
 * broken %-escape, a path parameter over `maxParamLength`) gets the same problem+json as everything else.
 */
export function handleFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const { body } = toProblem(error);
  if (body.status >= 500) request.log.error({ err: error }, 'request failed');
  else request.log.info({ code: body.code, status: body.status }, 'request refused');
  reply.header('x-request-id', request.id);
  return sendProblem(request, reply, body);
}

export function registerErrorHandling(app: FastifyInstance) {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { body, headers } = toProblem(error);
    if (body.status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: body.code, status: body.status }, 'request refused');
    if (headers) reply.headers(headers);
    return sendProblem(request, reply, body);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(request, reply, {
      status: 404,
      code: 'route_not_found',
      detail: `no route ${request.method} ${request.url.split('?')[0]}`,
    }),
  );
}

/** True when `error` is PostgreSQL's unique violation, of the named constraint when one is given. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  for (
    let e = error as { code?: unknown; constraint?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 4;
    depth++
  ) {
    if (e.code === '23505') return constraint === undefined || e.constraint === constraint;
    e = e.cause as typeof e;
  }
  return false;
}
