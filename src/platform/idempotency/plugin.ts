import { and, eq, lt } from 'drizzle-orm';
import type { onSendHookHandler, preHandlerAsyncHookHandler } from 'fastify';
import { sha256 } from '../crypto.ts';
import type { Db } from '../db.ts';
import { AppError, ConflictError } from '../errors.ts';
import type { App } from '../http.ts';
import { defineJob } from '../jobs.ts';
import { idempotencyKeys } from './schema.ts';

const KEY = /^[A-Za-z0-9_.:-]{8,128}$/;
const TTL_HOURS = 24;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `required` where money moves: a POST without the header is refused. */
    /** `off` for answers that carry credentials: they must never be stored or replayed. */
    idempotency?: 'optional' | 'required' | 'off';
  }
  interface FastifyRequest {
    idempotencyRecordId?: string;
  }
}

/**
 * Honours `Idempotency-Key` on every POST under /api: the first request runs and its answer is kept
 * for a day; a retry with the same key and body gets that answer again, a different body is refused,
 * and a retry while the first still runs gets 409.
 */
export function registerIdempotency(app: App, db: Db) {
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
    const path = request.routeOptions.url ?? request.url;
    const requestHash = sha256(JSON.stringify([request.method, request.url, request.body ?? null]));
    const [created] = await db
      .insert(idempotencyKeys)
      .values({
        scope,
        key,
        method: request.method,
        path,
        requestHash,
        expiresAt: new Date(Date.now() + TTL_HOURS * 3_600_000),
      })
      .onConflictDoNothing()
      .returning({ id: idempotencyKeys.id });
    if (created) {
      request.idempotencyRecordId = created.id;
      return;
    }
    const [first] = await db
      .select()
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key)));
    if (!first) throw new ConflictError('idempotency_request_in_progress', 'retry in a moment');
    if (first.requestHash !== requestHash) {
      throw new AppError(
        422,
        'idempotency_key_reused',
        'this Idempotency-Key was used for a different request',
      );
    }
    if (first.statusCode === null) {
      throw new ConflictError(
        'idempotency_request_in_progress',
        'the first request with this key is still running',
      );
    }
    reply.header('idempotent-replayed', 'true');
    // Every error answer of this API is problem+json; a replayed one keeps that type.
    return reply
      .code(first.statusCode)
      .type(first.statusCode >= 400 ? 'application/problem+json' : 'application/json')
      .serializer(JSON.stringify)
      .send(first.responseBody);
  };

  const onSend: onSendHookHandler = async (request, reply, payload) => {
    const id = request.idempotencyRecordId;
    if (!id) return payload;
    request.idempotencyRecordId = undefined;
    if (reply.statusCode >= 500) {
      // A failure on our side is not an answer worth keeping: the retry should run again.
      await db.delete(idempotencyKeys).where(eq(idempotencyKeys.id, id));
      return payload;
    }
    const body = typeof payload === 'string' && payload.length > 0 ? JSON.parse(payload) : null;
    await db
      .update(idempotencyKeys)
      .set({ statusCode: reply.statusCode, responseBody: body })
      .where(eq(idempotencyKeys.id, id));
    return payload;
  };

  // Only POST routes under /api get the hooks, so every other request skips them without a promise. They go
  // first among the route's own hooks, as when they were global: a replay answers before a rate limit counts it.
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!methods.includes('POST') || !route.url.startsWith('/api/')) return;
    route.preHandler = [preHandler, ...toArray(route.preHandler)];
    route.onSend = [onSend, ...toArray(route.onSend)];
  });
}

const toArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

export const purgeIdempotencyKeys = (db: Db) =>
  defineJob<Record<string, never>>({
    name: 'platform.purge-idempotency-keys',
    cron: '17 * * * *',
    async handle() {
      await db.delete(idempotencyKeys).where(lt(idempotencyKeys.expiresAt, new Date()));
    },
  });
