import { createSigner, createVerifier, TokenError } from 'fast-jwt';
import type { FastifyError, FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
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
  /** Synchronous, so that a signed-in request whose token and session are cached waits on no promise. */
  verify(token: string): AccessClaims;
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
    verify(token) {
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

/**
 * Sessions belong to the users module; the platform only asks whether one is still live. A boolean when the
 * answer is at hand (cached), so that the request goes on without waiting on a promise.
 */
export type SessionCheck = (sessionId: string) => boolean | Promise<boolean>;

/** The claims of the request's bearer token; null without an Authorization header. */
function claimsFrom(request: FastifyRequest, signer: TokenSigner): AccessClaims | null {
  const header = request.headers.authorization;
  if (!header) return null;
  const [scheme, token] = header.split(' ');
  if (scheme?.toLowerCase() !== 'bearer' || !token) {
    throw new UnauthorizedError('invalid_token', 'the Authorization header must be "Bearer <access token>"');
  }
  try {
    return signer.verify(token);
  } catch (error) {
    if (error instanceof TokenError && error.code === TokenError.codes.expired)
      throw new UnauthorizedError('token_expired', 'the access token has expired');
    throw new UnauthorizedError('invalid_token', 'the access token is not valid');
  }
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

  /** Sets the actor when the session is live and the route admits it; else the refusal, for `done`. */
  function admit(request: FastifyRequest, access: Access, claims: AccessClaims, live: boolean) {
    if (!live)
      return refusal(
        access,
        new UnauthorizedError('session_revoked', 'this session has ended; sign in again'),
      );
    if (access !== 'public' && access !== 'user' && !claims.roles.some((r) => access.includes(r))) {
      return new ForbiddenError('forbidden', `this needs one of the roles: ${access.join(', ')}`);
    }
    request.actor = { ...claims, requestId: request.id };
    return undefined;
  }

  // Without a promise unless the session check has to ask the database: a signed-in request whose token and
  // session are cached, as most are, is admitted in the hook's own turn.
  app.addHook('onRequest', (request, _reply, done) => {
    let access: Access | undefined;
    let claims: AccessClaims | null;
    let live: boolean | Promise<boolean>;
    try {
      access = accessOf(request);
      // Most public calls carry no token.
      if (!request.headers.authorization && access === 'public') return done();
      claims = claimsFrom(request, signer);
      if (!claims) return done(refusal(access, new UnauthorizedError()));
      live = isSessionLive(claims.sessionId);
    } catch (error) {
      return done(refusal(access, error));
    }
    const known = { access, claims };
    if (typeof live === 'boolean') return done(admit(request, known.access, known.claims, live));
    live.then(
      (answer) => done(admit(request, known.access, known.claims, answer)),
      (error: unknown) => done(refusal(known.access, error)),
    );
  });
}

/**
 * What `done` gets for a request that cannot be signed in: nothing on a public route, which still knows who
 * calls it when a token comes along but is not blocked by a bad one; the error on every other.
 */
const refusal = (access: Access | undefined, error: unknown) =>
  access === 'public' ? undefined : (error as FastifyError);

/** The actor of a route whose access is not public. */
export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw new UnauthorizedError();
  return request.actor;
}
