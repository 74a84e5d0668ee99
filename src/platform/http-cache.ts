import { createHash } from 'node:crypto';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { Negotiator } from '@fastify/accept-negotiator';
import type { FastifyReply } from 'fastify';
import fresh from 'fresh';
import { LRUCache } from 'lru-cache';
import { Type } from 'typebox';
import vary from 'vary';
import { documentRequestHeader, documentResponseHeader } from './documentation.ts';
import type { App } from './http.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The answer is the same for every caller (the catalog, the provider directory, public profiles and
     * reviews), so any cache may keep it: for `maxAgeSeconds` (0: it must ask again each time, with the
     * ETag, and a 304 costs the client no body).
     */
    shared?: { maxAgeSeconds: number };
  }
}

/**
 * A weak validator of an answer's bytes. Weak, because the same JSON compressed (br or gzip) carries the same
 * tag, and RFC 9110 gives a strong tag to one exact sequence of bytes only; If-None-Match compares weakly.
 */
export function entityTag(body: string | Buffer): string {
  return `W/"${createHash('sha1').update(body).digest('base64url')}"`;
}

/** Answers smaller than this go out as they are: a few hundred bytes fit in the packet the headers take anyway (bench/README.md, "Where compression pays"). */
export const COMPRESSION_THRESHOLD_BYTES = 1024;

/** The codings the API sends, in the order it prefers them; the same as the compression plugin's (app.ts). */
const ENCODINGS = ['br', 'gzip'] as const;
const encodings = new Negotiator({ supportedValues: [...ENCODINGS] });
/** @fastify/compress's settings: brotli at quality 4 (11 costs far more for little), gzip at zlib's default. */
const compressors = {
  br: (body: Buffer) => brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } }),
  gzip: (body: Buffer) => gzipSync(body),
};
/**
 * Compressed shared answers by coding and ETag. The tag is a hash of the bytes, so an entry never goes stale;
 * the catalog, sent thousands of times between changes, is compressed once per language and coding instead
 * of on every request (which cost several times the uncompressed answer's CPU).
 */
const compressed = new LRUCache<string, Buffer>({
  maxSize: 32 * 1024 * 1024,
  sizeCalculation: (buffer) => buffer.length,
});

/** `Vary` with `field` added to whatever an earlier hook put there (CORS's `Origin`). */
export function addVary(reply: FastifyReply, field: string) {
  const current = reply.getHeader('vary');
  reply.header('vary', vary.append(current === undefined ? '' : String(current), field));
}

/**
 * Conditional requests on the routes that declare `config.shared` (RFC 9110, section 13): each 200 answer
 * gets an ETag (the route's own, or a tag of its bytes), `Cache-Control: public`, and `Vary: Accept-Language`
 * (and Accept-Encoding);
 * `If-None-Match` is evaluated by `fresh` (a list of tags, `*`, weak comparison), and a match answers 304
 * with the same validators and no body. Registered before the compression plugin, whose per-route hook then
 * runs after this one, so a 304 is never compressed and the tag is that of the uncompressed JSON.
 */
export function registerHttpCache(app: App) {
  app.addHook('onRoute', (route) => {
    if (!route.config?.shared) return;
    route.schema ??= {};
    const schema = route.schema as { response?: Record<string, unknown> };
    schema.response ??= {};
    schema.response['304'] ??= Type.Null({
      description: 'Not modified: a tag in If-None-Match (or `*`) matches the current ETag; no body',
    });
    const answered = (status: string) => status === '200' || status === '304';
    documentRequestHeader(route, 'If-None-Match', {
      type: 'string',
      description: 'ETags of answers the client holds (or `*`): 304 without a body while one is current',
    });
    documentResponseHeader(
      route,
      'ETag',
      { type: 'string', description: 'A weak tag of the answer' },
      answered,
    );
    documentResponseHeader(
      route,
      'Cache-Control',
      { type: 'string', description: 'How long any cache may keep the answer without asking again' },
      answered,
    );
  });

  app.addHook('onSend', (request, reply, payload, done) => {
    const shared = request.routeOptions.config.shared;
    if (!shared || reply.statusCode !== 200) return done(null, payload);
    reply.header(
      'cache-control',
      shared.maxAgeSeconds > 0 ? `public, max-age=${shared.maxAgeSeconds}` : 'public, no-cache',
    );
    // Accept-Encoding too, though compression adds it only to what it compresses: a 304 must carry the Vary
    // its 200 would have (RFC 9110, 15.4.5), and it is never compressed. Lower case, as the compression
    // plugin looks for it.
    addVary(reply, 'accept-language');
    addVary(reply, 'accept-encoding');
    let etag = reply.getHeader('etag') as string | undefined;
    if (etag === undefined) {
      if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return done(null, payload);
      etag = entityTag(payload);
      reply.header('etag', etag);
    }
    // Only If-None-Match goes in: `fresh` would take a request's `Cache-Control: no-cache` (which a browser
    // adds to a fetch that bypasses its cache) as a reason to answer 200, and RFC 9110 has the origin server
    // evaluate the condition whatever the request's cache directives say.
    const condition = request.headers['if-none-match'];
    if (condition === undefined || !fresh({ 'if-none-match': condition }, { etag }))
      return done(null, compress(reply, request.headers['accept-encoding'], etag, payload));
    reply.code(304).removeHeader('content-type');
    // null, not '': Fastify then writes no Content-Length, which a 304 must not carry for an empty body.
    done(null, null);
  });
}

/**
 * Whether `payload` is shorter than `bytes` in UTF-8. A string never has more characters than bytes, so a long
 * one is decided without counting them (a scan of the whole text for every request of a cached answer).
 */
function byteLengthBelow(payload: string | Buffer, bytes: number): boolean {
  if (payload.length >= bytes) return false;
  return typeof payload !== 'string' || Buffer.byteLength(payload) < bytes;
}

/**
 * A shared answer in the coding Accept-Encoding prefers, from the cache of compressed answers; the compression
 * plugin passes an answer that has a Content-Encoding through as it is.
 */
function compress(reply: FastifyReply, accept: string | undefined, etag: string, payload: unknown) {
  if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return payload;
  if (accept === undefined || byteLengthBelow(payload, COMPRESSION_THRESHOLD_BYTES)) return payload;
  const encoding = encodings.negotiate(accept.toLowerCase());
  if (encoding !== 'br' && encoding !== 'gzip') return payload;
  const key = `${encoding} ${etag}`;
  let body = compressed.get(key);
  if (body === undefined) {
    body = compressors[encoding](Buffer.from(payload));
    compressed.set(key, body);
  }
  reply.header('content-encoding', encoding);
  return body;
}
