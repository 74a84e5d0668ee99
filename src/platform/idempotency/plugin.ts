import { and, eq } from 'drizzle-orm';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { sha256 } from '../crypto.ts';
import { type Db, outsideTransaction } from '../db.ts';
import { documentRequestHeader, documentResponseHeader } from '../documentation.ts';
import { AppError } from '../errors.ts';
import type { App } from '../http.ts';
import { idempotencyKeys } from './schema.ts';

const KEY = /^[A-Za-z0-9_.:-]{8,128}$/;
const TTL_HOURS = 24;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `required` where money moves: a POST without the header is refused. */
    /** `off` for requests or answers that carry credentials: they must never be stored or replayed. */
    idempotency?: 'optional' | 'required' | 'off';
  }
  interface FastifyRequest {
    idempotency?: KeyedRequest;
  }
}

type StoredKey = typeof idempotencyKeys.$inferSelect;

interface Answer {
  status: number;
  body: unknown;
}

/** A POST that carries a key no earlier request has answered: it runs in one transaction with its answer. */
interface KeyedRequest {
  scope: string;
  key: string;
  path: string;
  requestHash: string;
  /** The handler ran: its refusal is an answer worth keeping, unlike one from a hook before it. */
  handled?: boolean;
  /** While the transaction is open: the answer, handed over by onSend, and the outcome of the commit. */
  running?: { answer: Deferred<Answer>; committed: Deferred<void>; answered: boolean };
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // The commit's failure reaches the client through onSend; a request that never got there has no reader.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/**
 * What the handler answers, once onSend has it. Not by awaiting the handler: a handler that sends returns the
 * reply, a thenable that settles only when the answer has gone out, and that waits for this commit.
 */
function answerOf(
  handler: () => unknown,
  reply: FastifyReply,
  running: { answer: Deferred<Answer>; answered: boolean },
) {
  return new Promise<Answer>((resolve, reject) => {
    running.answer.promise.then(resolve);
    // An answer sent past onSend (a hook failed on the error answer too, and it was written bare) never
    // reaches it: the transaction must not wait for it beyond the response.
    const gone = () => {
      if (!running.answered) reject(new Error('the answer was sent without passing onSend'));
    };
    reply.raw.once('finish', gone).once('close', gone);
    Promise.resolve(handler()).then((result) => {
      if (result !== reply && result !== undefined && !running.answered) reply.send(result);
    }, reject);
  });
}

/** The key was answered by a request that committed while this one waited for it. */
class KeyAnswered extends Error {}
/** The answer is a failure on our side: the change is rolled back and the key left free for a retry. */
class ServerFailure extends Error {}

const parsedBody = (payload: unknown) =>
  typeof payload === 'string' && payload.length > 0 ? JSON.parse(payload) : null;

/**
 * Honours `Idempotency-Key` on every POST under /api. The first request with a key runs in one database
 * transaction that also stores its answer under the key: the services it calls join that transaction
 * (platform/db.ts), so the change and its stored answer commit together or not at all. A process that dies
 * mid-request leaves nothing behind, and the retry runs as new; a retry after the commit gets the stored
 * answer. A second request with the same key while the first runs waits for it at the key's row, then
 * replays its answer (or runs, if the first rolled back). A different body under a used key is refused.
 * The handler's refusals (4xx) are stored too, after their rollback; a hook's refusal before the handler ran
 * (a missing role), a rate limit and failures on our side (5xx) are not, so a retry runs again.
 */
export function registerIdempotency(app: App, db: Db) {
  function replay(request: FastifyRequest, reply: FastifyReply, first: StoredKey, requestHash: string) {
    if (first.requestHash !== requestHash) {
      throw new AppError(
        422,
        'idempotency_key_reused',
        'this Idempotency-Key was used for a different request',
      );
    }
    request.idempotency = undefined;
    reply.header('idempotent-replayed', 'true');
    // Every error answer of this API is problem+json; a replayed one keeps that type.
    return reply
      .code(first.statusCode as number)
      .type((first.statusCode as number) >= 400 ? 'application/problem+json' : 'application/json')
      .serializer(JSON.stringify)
      .send(first.responseBody);
  }

  const findAnswered = async (scope: string, key: string) => {
    const [row] = await db
      .select()
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key)));
    return row?.statusCode != null ? row : undefined;
  };

  const keyRow = (keyed: KeyedRequest, method: string, answer?: Answer) => ({
    scope: keyed.scope,
    key: keyed.key,
    method,
    path: keyed.path,
    requestHash: keyed.requestHash,
    statusCode: answer?.status,
    responseBody: answer?.body,
    expiresAt: new Date(Date.now() + TTL_HOURS * 3_600_000),
  });

  const preHandler: preHandlerAsyncHookHandler = async (request, reply) => {
    if (request.method !== 'POST') return;
    if (request.routeOptions.config.idempotency === 'off') return;
    const key = request.headers['idempotency-key'];
    if (key === undefined) {
      if (request.routeOptions.config.idempotency === 'required') {
        throw new AppError(428, 'idempotency_key_required', 'this request needs an Idempotency-Key header');
      }
      return;
    }
    if (typeof key !== 'string' || !KEY.test(key)) {
      throw new AppError(
        400,
        'invalid_idempotency_key',
        'Idempotency-Key must be 8 to 128 letters, digits or ._:-',
      );
    }
    const scope = request.actor?.userId ?? 'anonymous';
    const requestHash = sha256(JSON.stringify([request.method, request.url, request.body ?? null]));
    const first = await findAnswered(scope, key);
    if (first) return replay(request, reply, first, requestHash);
    request.idempotency = { scope, key, path: request.routeOptions.url ?? request.url, requestHash };
  };

  /** The route's handler, run in the transaction that stores its answer under the key. */
  async function runKeyed(
    keyed: KeyedRequest,
    handler: () => unknown,
    request: FastifyRequest,
    reply: FastifyReply,
  ) {
    const running = { answer: deferred<Answer>(), committed: deferred<void>(), answered: false };
    keyed.running = running;
    try {
      await db.transaction(async (tx) => {
        // On PostgreSQL this waits while another transaction holds the same key, and finds it taken if
        // that one committed.
        const [reserved] = await tx
          .insert(idempotencyKeys)
          .values(keyRow(keyed, request.method))
          .onConflictDoNothing()
          .returning({ id: idempotencyKeys.id });
        if (!reserved) throw new KeyAnswered();
        keyed.handled = true;
        const answer = await answerOf(handler, reply, running);
        if (answer.status >= 500) throw new ServerFailure();
        await tx
          .update(idempotencyKeys)
          .set({ statusCode: answer.status, responseBody: answer.body })
          .where(eq(idempotencyKeys.id, reserved.id));
      });
      running.committed.resolve();
    } catch (error) {
      keyed.running = undefined;
      if (error instanceof ServerFailure) {
        // Rolled back; the failure's own answer goes out as it is.
        running.committed.resolve();
      } else if (running.answered) {
        // The answer waits in onSend for the commit that failed: onSend hands the failure to the error handler.
        running.committed.reject(error);
      } else if (error instanceof KeyAnswered) {
        const first = await findAnswered(keyed.scope, keyed.key);
        if (first) return replay(request, reply, first, keyed.requestHash);
        throw new AppError(503, 'idempotency_key_unavailable', 'retry the request with the same key');
      } else {
        throw error;
      }
    }
    return reply;
  }

  const onSend = async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const keyed = request.idempotency as KeyedRequest;
    const { running } = keyed;
    if (running) {
      // The answer of the handler run in the key's transaction: it is sent only once that commits.
      keyed.running = undefined;
      running.answered = true;
      running.answer.resolve({ status: reply.statusCode, body: parsedBody(payload) });
      await running.committed.promise;
      request.idempotency = undefined;
      return payload;
    }
    request.idempotency = undefined;
    if (keyed.handled && reply.statusCode < 500 && reply.statusCode !== 429) {
      // A refusal, its transaction rolled back: kept so the retry hears the same, unless a request with the
      // same key has meanwhile committed an answer.
      await outsideTransaction(() =>
        db
          .insert(idempotencyKeys)
          .values(keyRow(keyed, request.method, { status: reply.statusCode, body: parsedBody(payload) }))
          .onConflictDoNothing(),
      );
    }
    return payload;
  };

  // An app-wide onSend, so it runs before the hooks of the plugins that hold the routes: one of those failing
  // on the answer must not keep the answer from the key's transaction. It costs other requests one check.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (!request.idempotency) return done(null, payload);
    onSend(request, reply, payload).then((sent) => done(null, sent), done);
  });
  // Only POST routes under /api get the rest. The preHandler goes first among the route's own hooks, as when it
  // was global: a replay answers before a rate limit counts it.
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!methods.includes('POST') || !route.url.startsWith('/api/')) return;
    if (route.config?.idempotency !== 'off') {
      documentRequestHeader(route, 'Idempotency-Key', {
        type: 'string',
        description:
          '8 to 128 letters, digits or `._:-`, new for each change meant to happen once: a retry with the same key and body within 24 hours gets the first answer instead of making the change again',
      });
      documentResponseHeader(route, 'Idempotent-Replayed', {
        type: 'string',
        enum: ['true'],
        description: 'Present on an answer replayed for a repeated Idempotency-Key',
      });
    }
    route.preHandler = [preHandler, ...toArray(route.preHandler)];
    const handler = route.handler;
    route.handler = function keyedHandler(request, reply) {
      const keyed = request.idempotency;
      if (!keyed) return handler.call(this, request, reply);
      return runKeyed(keyed, () => handler.call(this, request, reply), request, reply);
    };
  });
}

const toArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
