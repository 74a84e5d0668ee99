import type { AppError } from './errors.ts';

// What PostgreSQL's errors mean to a client: a refusal of the input (errors.ts answers it as a problem), the
// database out of reach, or the violation of a unique constraint that a module words itself.

/** PostgreSQL error codes that mean the input was wrong, or that there is no room for it; not a failure of ours. */
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
  // The database's disk is full (PGlite's is DATA_DIR): nothing was written.
  '53100': [507, 'insufficient_storage', 'there is no room left to store this; retry later'],
};

/** SQLSTATEs of a connection that failed, not a statement: class 08, the server shutting down or starting, too many clients. */
const CONNECTION_SQLSTATE = /^(08[0-9A-Z]{3}|57P0[1-3]|53300)$/;
/** Socket errors on the way to the database server. */
const CONNECTION_ERRNOS = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** node-postgres says these in words only, without a code. */
const CONNECTION_MESSAGES =
  /^(Connection terminated|Client has encountered a connection error|Client was closed and is not queryable|timeout exceeded when trying to connect)/;

/**
 * True when `error` (or what caused it: Drizzle wraps the driver's error) means the database could not be
 * reached or dropped the connection, rather than refusing the statement.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  let e = error as { code?: unknown; message?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    if (typeof e.code === 'string' && (CONNECTION_SQLSTATE.test(e.code) || CONNECTION_ERRNOS.has(e.code))) {
      return true;
    }
    if (typeof e.message === 'string' && CONNECTION_MESSAGES.test(e.message)) return true;
    e = e.cause as typeof e;
  }
  return false;
}

function sqlState(error: unknown): string | undefined {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; depth++) {
    if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
}

/** The problem a statement's refusal is for the client, when it is one of PG_ERRORS; undefined otherwise. */
export function databaseRefusal(
  error: unknown,
): { status: number; code: string; detail: string } | undefined {
  const state = sqlState(error);
  const known = state ? PG_ERRORS[state] : undefined;
  if (!known) return undefined;
  const [status, code, detail] = known;
  return { status, code, detail };
}

/** The constraint a PostgreSQL unique violation names, looked for along `cause`; undefined for any other error. */
function violatedUniqueConstraint(error: unknown): string | undefined {
  for (
    let e = error as { code?: unknown; constraint?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 4;
    depth++
  ) {
    if (e.code === '23505') return typeof e.constraint === 'string' ? e.constraint : '';
    e = e.cause as typeof e;
  }
  return undefined;
}

/** True when `error` is PostgreSQL's unique violation, of the named constraint when one is given. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const violated = violatedUniqueConstraint(error);
  return violated !== undefined && (constraint === undefined || violated === constraint);
}

/**
 * What `work` answers, or the error `answers` makes for the unique constraint it violated: a partial unique
 * index is how a rule like "one live profile" holds under concurrent requests, and the module words the 409.
 * Any other error goes through as it is.
 */
export async function onUniqueViolation<T>(
  work: Promise<T>,
  answers: Record<string, () => AppError>,
): Promise<T> {
  try {
    return await work;
  } catch (error) {
    const violated = violatedUniqueConstraint(error);
    if (violated !== undefined && Object.hasOwn(answers, violated))
      throw (answers[violated] as () => AppError)();
    throw error;
  }
}
