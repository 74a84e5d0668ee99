import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyInstance } from 'fastify';

/** A W3C trace context (https://www.w3.org/TR/trace-context/): the trace a request or job belongs to. */
export interface TraceContext {
  traceId: string;
  /** The id of the caller's span: what a job's work hangs under. */
  parentId: string;
  flags: string;
}

/** version 00: `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`, lower case. */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ALL_ZEROS = /^0+$/;

/** A valid `traceparent`, or undefined: an id of all zeros is invalid, as the specification says. */
export function parseTraceparent(value: unknown): TraceContext | undefined {
  if (typeof value !== 'string') return undefined;
  const match = TRACEPARENT.exec(value.trim());
  if (!match) return undefined;
  const [, traceId, parentId, flags] = match as unknown as [string, string, string, string];
  if (ALL_ZEROS.test(traceId) || ALL_ZEROS.test(parentId)) return undefined;
  return { traceId, parentId, flags };
}

export const formatTraceparent = (trace: TraceContext) =>
  `00-${trace.traceId}-${trace.parentId}-${trace.flags}`;

/** The key under which a job's data carries the trace context of what enqueued it. */
export const TRACE_KEY = 'traceparent';

const currentTrace = new AsyncLocalStorage<TraceContext>();

/** Runs `fn` in `trace`: every job it enqueues, however deep, carries it. */
export function runInTrace<T>(trace: TraceContext | undefined, fn: () => T): T {
  return trace ? currentTrace.run(trace, fn) : fn();
}

/** The `traceparent` to store with a job enqueued now, if the work that enqueues it has one. */
export function currentTraceparent(): string | null {
  const trace = currentTrace.getStore();
  return trace ? formatTraceparent(trace) : null;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The trace context the client sent in `traceparent`, if a valid one. */
    trace?: TraceContext;
  }
}

/**
 * Takes the `traceparent` header of a request: its log lines carry the trace id, and so do those of every job
 * its handler enqueues (the context travels with the job's data). The handler is run inside the context
 * rather than a hook entering it, because a request's body arrives on the socket's own async context, which
 * would lose it. A request without the header costs one property read.
 */
export function registerTracing(app: FastifyInstance) {
  app.addHook('onRequest', (request, reply, done) => {
    const header = request.headers.traceparent;
    if (header !== undefined) {
      const trace = parseTraceparent(header);
      if (trace) {
        request.trace = trace;
        // The reply's logger writes "request completed": it gets the trace id too.
        request.log = request.log.child({ traceId: trace.traceId });
        reply.log = request.log;
      }
    }
    done();
  });
  app.addHook('onRoute', (route) => {
    const handler = route.handler;
    route.handler = function tracedHandler(request, reply) {
      if (!request.trace) return handler.call(this, request, reply);
      return currentTrace.run(request.trace, () => handler.call(this, request, reply));
    };
  });
}
