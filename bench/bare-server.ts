/**
 * The ceiling: plain Fastify, no plugins or hooks, answering each scenario with the status line, headers
 * and body the real API gave. Its req/s is what the machine can do for that response, so real/bare
 * isolates the app's own cost.
 *
 * Started by run.ts with an IPC channel: the routes arrive as the first message and the listening port
 * goes back the same way, so no port has to be guessed and no body is squeezed through argv or env.
 */
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import Fastify, { type HTTPMethods } from 'fastify';

export interface BareRoute {
  method: HTTPMethods;
  path: string;
  /**
   * The real answer's headers, minus the ones Node writes itself (date, connection, keep-alive,
   * content-length): replayed so both servers put the same bytes on the wire.
   */
  headers: Record<string, string>;
  body: string;
  /** Mirror how the real route builds its body: a cached string sent as is, or an object serialized per request. */
  serializePerRequest: boolean;
  /** The scenario's Accept-Encoding: scenarios on one path are told apart by it. */
  acceptEncoding?: string;
}

/**
 * An answer the real API compressed (its `content-encoding`) is compressed here too, once, with
 * @fastify/compress's settings (brotli at quality 4, gzip at zlib's default level): the same bytes on the wire.
 * Once and not per request, because the API keeps its compressed shared answers (platform/http-cache.ts); an
 * answer it compresses on each request has `serializePerRequest`, and so is compressed here on each too.
 */
const compressors: Record<string, (body: Buffer) => Buffer> = {
  br: (body) => brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } }),
  gzip: (body) => gzipSync(body),
};

// Exit with the orchestrator, even when it is killed without a chance to stop us.
process.once('disconnect', () => process.exit(0));

process.once('message', async (routes: BareRoute[]) => {
  const app = Fastify({ logger: false });
  /** The answers of each method and path, by the Accept-Encoding their scenario sends ('' for none). */
  const answers = new Map<string, Map<string, { headers: Record<string, string>; body: () => unknown }>>();
  for (const route of routes) {
    const payload: unknown = route.serializePerRequest ? JSON.parse(route.body) : route.body;
    const compress = compressors[route.headers['content-encoding'] ?? ''];
    const bytes = Buffer.from(route.body);
    const once = compress && !route.serializePerRequest ? compress(bytes) : undefined;
    const body = once
      ? () => once
      : compress
        ? () => compress(Buffer.from(JSON.stringify(payload)))
        : () => payload;
    const key = `${route.method} ${route.path}`;
    const variants = answers.get(key) ?? new Map();
    variants.set(route.acceptEncoding ?? '', { headers: route.headers, body });
    if (answers.has(key)) continue;
    answers.set(key, variants);
    app.route({
      method: route.method,
      url: route.path,
      handler: async (request, reply) => {
        const answer = variants.get(request.headers['accept-encoding'] ?? '')!;
        return reply.headers(answer.headers).send(answer.body());
      },
    });
  }
  await app.listen({ port: 0, host: '127.0.0.1' });
  process.send?.({ port: (app.server.address() as AddressInfo).port });
});
