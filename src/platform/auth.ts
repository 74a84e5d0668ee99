import { createSigner, createVerifier, TokenError } from 'fast-jwt';
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { LRUCache } from 'lru-cache';
import { type Actor, ROLES, type Role } from './actor.ts';
import { ForbiddenError, UnauthorizedError } from './errors.ts';

/** Who may call a route: anyone, any signed-in user, or a signed-in user with one of these roles. */
export type Access = 'public' | 'user' | readonly Role[];

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    /** Set on every route that is not public, and on public ones when a valid token came along. */
    actor: Actor | null;
  }
}

export interface AccessClaims {
  userId: string;
  sessionId: string;
  roles: Role[];
}

export interface TokenSigner {
  sign(claims: AccessClaims): Promise<string>;
  verify(token: string): Promise<AccessClaims>;
  ttlSeconds: number;
}

const ISSUER = 'kg-job-portal';

/**
 * Verified tokens kept (least recently used out), each until it expires: more than the users active in a
 * token's lifetime, else the cache thrashes and every call pays the HMAC again, as fast-jwt's own cache of
 * 1,000 did under 1,125 bidders taking turns (bench `bid create`). Keyed by the token itself: fast-jwt's
 * cache keys on a SHA-2 of the token, which cost as much as the look-up saved.
 */
const VERIFIED_TOKENS_CACHED = 20_000;

/**
 * HS256 access tokens, verified synchronously by fast-jwt; a client's repeated calls with one token cost a
 * map look-up rather than an HMAC. Revocation is not the token's business but the session check's.
 */
export function createTokenSigner(secret: string, ttlSeconds: number): TokenSigner {
  const signToken = createSigner({
    key: secret,
    algorithm: 'HS256',
    iss: ISSUER,
    expiresIn: ttlSeconds * 1000,
  });
  const verifyToken = createVerifier({ key: secret, algorithms: ['HS256'], allowedIss: ISSUER });
  const verified = new LRUCache<string, AccessClaims>({ max: VERIFIED_TOKENS_CACHED });
  return {
    ttlSeconds,
    sign: async ({ userId, sessionId, roles }) => signToken({ sub: userId, sid: sessionId, roles }),
    async verify(token) {
      const known = verified.get(token);
      if (known) return known;
      const payload = verifyToken(token) as { sub?: unknown; sid?: unknown; roles?: unknown; exp?: unknown };
      const roles = Array.isArray(payload.roles)
        ? payload.roles.filter((r): r is Role => ROLES.includes(r))
        : [];
      if (
        typeof payload.sub !== 'string' ||
        typeof payload.sid !== 'string' ||
        typeof payload.exp !== 'number'
      )
        throw new UnauthorizedError('invalid_token');
      const claims = { userId: payload.sub, sessionId: payload.sid, roles };
      verified.set(token, claims, { ttl: Math.max(1, payload.exp * 1000 - Date.now()) });
      return claims;
    },
  };
}

/** Sessions belong to the users module; the platform only asks whether one is still live. */
export type SessionCheck = (sessionId: string) => Promise<boolean>;

async function actorFrom(request: FastifyRequest, signer: TokenSigner, isSessionLive: SessionCheck) {
  const header = request.headers.authorization;
  if (!header) return null;
  const [scheme, token] = header.split(' ');
  if (scheme?.toLowerCase() !== 'bearer' || !token) {
    throw new UnauthorizedError('invalid_token', 'the Authorization header must be "Bearer <access token>"');
  }
  let claims: AccessClaims;
  try {
    claims = await signer.verify(token);
  } catch (error) {
    if (error instanceof TokenError && error.code === TokenError.codes.expired)
      throw new UnauthorizedError('token_expired', 'the access token has expired');
    throw new UnauthorizedError('invalid_token', 'the access token is not valid');
  }
  if (!(await isSessionLive(claims.sessionId))) {
    throw new UnauthorizedError('session_revoked', 'this session has ended; sign in again');
  }
  return { userId: claims.userId, sessionId: claims.sessionId, roles: claims.roles, requestId: request.id };
}

/**
 * Access fails closed: every route states who may call it, and the app does not start while one does not,
 * wherever it was registered (a module's routes, the platform's, a plugin's, a test's). Called first in
 * buildApp, so that it sees every route. Checked once all are registered, since a plugin's routes get
 * theirs from the scope they are registered in (`publicRoutes`), after this hook has seen them.
 */
export function requireAccess(app: FastifyInstance) {
  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (route) => {
    routes.push(route);
  });
  app.addHook('onReady', async () => {
    const undeclared = routes.filter((route) => route.config?.access === undefined);
    if (undeclared.length > 0) {
      const names = undeclared.map((route) => `${route.method} ${route.url}`).join(', ');
      throw new Error(`routes must declare config.access ('public', 'user' or roles): ${names}`);
    }
  });
}

/**
 * Declares public the routes registered in `scope` from here on that state no access (all of them, or those
 * `only` picks): for a plugin's, which take no config of ours (the docs, the CORS preflight).
 */
export function publicRoutes(scope: FastifyInstance, only: (route: RouteOptions) => boolean = () => true) {
  scope.addHook('onRoute', (route) => {
    if (route.config?.access === undefined && only(route))
      route.config = { ...route.config, access: 'public' };
  });
}

/**
 * The access a request's route declared. Every route declares one (requireAccess); what the router answers
 * itself, an unknown URL, is public, so that it is a 404 and not a 401.
 */
const accessOf = (request: FastifyRequest): Access => {
  const access = request.routeOptions.config.access;
  if (access) return access;
  if (request.is404) return 'public';
  throw new ForbiddenError('forbidden', 'this route states no access');
};

export function registerAuth(app: FastifyInstance, signer: TokenSigner, isSessionLive: SessionCheck) {
  app.decorateRequest('actor', null);
  app.addHook('onRequest', (request, _reply, done) => {
    // Most public calls carry no token: answer them without a promise.
    if (!request.headers.authorization && accessOf(request) === 'public') return done();
    authenticate(request).then(() => done(), done);
  });

  async function authenticate(request: FastifyRequest) {
    const access = accessOf(request);
    if (access === 'public') {
      // A public route still knows who calls it when a token comes along, but a bad token does not block it.
      request.actor = await actorFrom(request, signer, isSessionLive).catch(() => null);
      return;
    }
    const actor = await actorFrom(request, signer, isSessionLive);
    if (!actor) throw new UnauthorizedError();
    if (access !== 'user' && !actor.roles.some((r) => access.includes(r))) {
      throw new ForbiddenError('forbidden', `this needs one of the roles: ${access.join(', ')}`);
    }
    request.actor = actor;
  }
}

/** The actor of a route whose access is not public. */
export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw new UnauthorizedError();
  return request.actor;
}
