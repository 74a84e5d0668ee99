/**
 * The ceiling: plain Fastify, no plugins or hooks. A `replay` route answers with the status line, headers
 * and body the real API gave: its req/s is what the machine can do for that response, so real/bare isolates
 * the app's own cost. A `me` route does the least any signed-in read must (bareMe below).
 *
 * Started by run.ts with an IPC channel: the setup arrives as the first message and the listening port
 * goes back the same way, so no port has to be guessed and no body or secret is squeezed through argv or env.
 */
import { createDecipheriv } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { createVerifier } from 'fast-jwt';
import Fastify, { type FastifyReply, type FastifyRequest, type HTTPMethods } from 'fastify';
import { LRUCache } from 'lru-cache';
import pg from 'pg';

export interface BareRoute {
  /** `replay` unless said: `me` answers GET /api/v1/me from the database as bareMe does. */
  ceiling: 'replay' | 'me';
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

/** What a `me` ceiling needs of the API's settings: its database, pool size and secrets. */
export interface BareDatabase {
  databaseUrl: string;
  poolSize: number;
  jwtSecret: string;
  /** ENCRYPTION_KEYS as the API reads it: `<version>:<base64 key>`, comma-separated. */
  encryptionKeys: string;
}

export interface BareSetup {
  routes: BareRoute[];
  database?: BareDatabase;
}

// As src/platform/auth.ts and the users module's session check: the same caches, so the same work per call.
const VERIFIED_TOKENS_CACHED = 20_000;
const SESSION_CACHE_SECONDS = 30;
const CACHED_SESSIONS = 10_000;

const SESSION_LIVE = `select 1 from user_sessions s join users u on u.id = s.user_id
  where s.id = $1 and s.revoked_at is null and s.expires_at > now() and u.status = 'active' and not u.is_deleted
  limit 1`;
const USER_BY_ID = `select id, email_encrypted, phone_encrypted, full_name, roles, status, email_verified_at,
  phone_verified_at, password_hash is not null as has_password, created_at
  from users where id = $1 and not is_deleted limit 1`;

/**
 * GET /api/v1/me with nothing but fast-jwt, lru-cache, pg and node:crypto: the token verified (cached as
 * auth.ts caches it), the session checked live (cached for 30 s as the users module caches it), the user row
 * read by id with named statements, email and phone decrypted (AES-256-GCM, `v<version>.<iv>.<tag>.<body>`
 * as src/platform/crypto.ts stores them) and the same JSON sent with the real answer's headers.
 */
function bareMe(settings: BareDatabase, headers: Record<string, string>) {
  const pool = new pg.Pool({
    connectionString: settings.databaseUrl,
    max: settings.poolSize,
    idleTimeoutMillis: 10 * 60_000,
  });
  pool.on('error', () => {});
  const keys = new Map<string, Buffer>(
    settings.encryptionKeys.split(',').map((entry) => {
      const [version, key] = entry.split(':');
      return [`v${version}`, Buffer.from(key!, 'base64')];
    }),
  );
  const decrypt = (stored: string | null) => {
    if (stored === null) return null;
    const [version, iv, tag, body] = stored.split('.');
    const decipher = createDecipheriv('aes-256-gcm', keys.get(version!)!, Buffer.from(iv!, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag!, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body!, 'base64url')), decipher.final()]).toString();
  };
  const verify = createVerifier({
    key: settings.jwtSecret,
    algorithms: ['HS256'],
    allowedIss: 'kg-job-portal',
  });
  const tokens = new LRUCache<string, { sub: string; sid: string }>({ max: VERIFIED_TOKENS_CACHED });
  const sessions = new Map<string, { live: boolean; expiresAt: number }>();

  async function sessionLive(sessionId: string) {
    const cached = sessions.get(sessionId);
    if (cached && cached.expiresAt >= Date.now()) return cached.live;
    const { rowCount } = await pool.query({ name: 'session_live', text: SESSION_LIVE, values: [sessionId] });
    if (sessions.size >= CACHED_SESSIONS) sessions.delete(sessions.keys().next().value!);
    sessions.set(sessionId, { live: rowCount === 1, expiresAt: Date.now() + SESSION_CACHE_SECONDS * 1000 });
    return rowCount === 1;
  }

  return async (request: FastifyRequest, reply: FastifyReply) => {
    const token = request.headers.authorization?.slice('Bearer '.length) ?? '';
    let claims = tokens.get(token);
    if (!claims) {
      const payload = verify(token) as { sub: string; sid: string; exp: number };
      claims = { sub: payload.sub, sid: payload.sid };
      tokens.set(token, claims, { ttl: Math.max(1, payload.exp * 1000 - Date.now()) });
    }
    if (!(await sessionLive(claims.sid))) return reply.code(401).send({ code: 'session_revoked' });
    const { rows } = await pool.query({ name: 'user_by_id', text: USER_BY_ID, values: [claims.sub] });
    const user = rows[0];
    if (!user) return reply.code(404).send({ code: 'not_found' });
    return reply.headers(headers).send({
      id: user.id,
      email: decrypt(user.email_encrypted),
      phone: decrypt(user.phone_encrypted),
      full_name: user.full_name,
      roles: user.roles,
      status: user.status,
      email_verified: user.email_verified_at !== null,
      phone_verified: user.phone_verified_at !== null,
      has_password: user.has_password,
      created_at: user.created_at.toISOString(),
    });
  };
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

process.once('message', async ({ routes, database }: BareSetup) => {
  const app = Fastify({ logger: false });
  /** The answers of each method and path, by the Accept-Encoding their scenario sends ('' for none). */
  const answers = new Map<string, Map<string, { headers: Record<string, string>; body: () => unknown }>>();
  for (const route of routes) {
    if (route.ceiling === 'me') {
      if (!database) throw new Error(`${route.path}: a me ceiling needs the database settings`);
      app.route({ method: route.method, url: route.path, handler: bareMe(database, route.headers) });
      continue;
    }
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
