import { createHash } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import fresh from 'fresh';
import { Type } from 'typebox';
import vary from 'vary';
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
      return done(null, payload);
    reply.code(304).removeHeader('content-type');
    // null, not '': Fastify then writes no Content-Length, which a 304 must not carry for an empty body.
    done(null, null);
  });
}
