import { parse as parseForm } from 'node:querystring';
import type {
  FastifyInstance,
  HTTPMethods,
  preSerializationHookHandler,
  preValidationHookHandler,
  RouteOptions,
} from 'fastify';
import { documentResponseHeader } from './documentation.ts';
import { AppError } from './errors.ts';
import { componentNamed, withOptionalDefaults } from './schemas.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Where the resource a 201 answer made lives, relative to the routes' prefix: `/orders/{id}`. Each
     * `{name}` is the answer's field of that name, else the path parameter. Every route that answers 201
     * declares one, and only such a route.
     */
    location?: string;
    /**
     * The route also takes an `application/x-www-form-urlencoded` body, as a payment processor's callback
     * comes: its fields arrive as text (a repeated one as a list of text), and its body schema says so.
     * Every other route takes JSON only.
     */
    formBody?: boolean;
    /**
     * The body may be left out, and the route then takes it as `{}`: for a body whose fields are all
     * optional. (A body schema that admits null may be left out too, and arrives as null.)
     */
    optionalBody?: boolean;
  }
}

const FORM = 'application/x-www-form-urlencoded';

/**
 * The methods a resource may have, in the order `Allow` lists them. Not OPTIONS: its one route, the CORS
 * preflight's `OPTIONS *`, matches every path and is no method of any.
 */
const METHODS: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** What a route without query parameters takes: none. */
const NO_QUERY = { type: 'object', properties: {}, additionalProperties: false };

type Schema = Record<string, unknown>;

/**
 * The querystring of each of our routes takes only the parameters it declares: a misspelt or unsupported
 * one (`status[]=draft`, `?sort=price` where there is no such order) is a 400 naming it, never ignored so
 * that the client gets an answer to a question it did not ask. A route without a querystring schema takes
 * no parameters. A plugin's routes, which declare no access of ours when they are registered (the docs, the
 * CORS preflight), take what their plugin takes.
 */
function strictQuery(route: RouteOptions) {
  if (route.config?.access === undefined) return;
  route.schema ??= {};
  const schema = route.schema as Schema;
  const query = schema.querystring as Schema | undefined;
  if (query === undefined) {
    schema.querystring = NO_QUERY;
    return;
  }
  if (query.type !== 'object' || (query.additionalProperties ?? false) !== false) {
    throw new Error(
      `${route.method} ${route.url}: a querystring schema is an object of the parameters it takes, nothing more`,
    );
  }
  schema.querystring = withOptionalDefaults({ ...query, additionalProperties: false });
}

/** The answer's field, else the path parameter, of each `{name}` of the template; each one escaped. */
function fillLocation(template: string, answer: unknown, params: unknown): string {
  const fields = (answer ?? {}) as Record<string, unknown>;
  const parts = (params ?? {}) as Record<string, unknown>;
  return template.replace(/\{(\w+)\}/g, (_all, name: string) => {
    const value = fields[name] ?? parts[name];
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new Error(`the answer has no ${name} for its Location (${template})`);
    }
    return encodeURIComponent(String(value));
  });
}

/**
 * A created resource answers 201 with `Location`, the resource's path, made in one place from the route's
 * `config.location`. It is set before serialization, where the answer is still an object, so a replayed
 * idempotent answer (platform/idempotency) gets it the same way.
 */
function createdLocation(route: RouteOptions & { prefix: string }) {
  const creates = (route.schema?.response as Schema | undefined)?.['201'] !== undefined;
  const template = route.config?.location;
  if (creates !== (template !== undefined)) {
    throw new Error(
      `${route.method} ${route.url}: a route that answers 201 states config.location, where the created resource lives, and only such a route`,
    );
  }
  if (template === undefined) return;
  const path = `${route.prefix}${template}`;
  documentResponseHeader(
    route,
    'Location',
    { type: 'string', description: `The created resource’s path: \`${path}\`` },
    (status) => status === '201',
  );
  const setLocation: preSerializationHookHandler<unknown> = (request, reply, payload, done) => {
    if (reply.statusCode === 201) reply.header('location', fillLocation(path, payload, request.params));
    done(null, payload);
  };
  route.preSerialization = [route.preSerialization ?? []].flat().concat(setLocation);
}

const fillBody: preValidationHookHandler = (request, _reply, done) => {
  request.body ??= {};
  done();
};

/**
 * A body the route does not require is documented so (`x-optional-body`, which the document's
 * `requestBody.required` follows: app.ts): one the route fills in when it is left out (`config.optionalBody`),
 * or one whose schema admits null, as Fastify validates a missing body as null.
 */
function optionalBody(route: RouteOptions) {
  const body = (route.schema as Schema | undefined)?.body as Schema | undefined;
  if (body === undefined) return;
  const component = typeof body.$ref === 'string' ? (componentNamed(body.$ref) as Schema | undefined) : body;
  const admitsNull =
    [component?.type].flat().includes('null') ||
    ((component?.anyOf as Schema[] | undefined) ?? []).some((member) => member.type === 'null');
  if (route.config?.optionalBody) {
    route.preValidation = [fillBody, ...[route.preValidation ?? []].flat()];
  } else if (!admitsNull) return;
  (route.schema as Schema)['x-optional-body'] = true;
}

/**
 * How our routes hold clients to the contract (ARCHITECTURE.md, "Strict requests"):
 * - unknown query parameters are a 400 naming them;
 * - a known path asked with a method it has no route for is a 405 with `Allow`; an unknown path a 404;
 * - a body that is not JSON is a 415, except the form bodies of routes that take them (`formBody`);
 * - a 201 carries `Location` (`config.location`).
 * Called before any route is registered, so it sees them all.
 */
export function registerContract(app: FastifyInstance) {
  app.addHook('onRoute', (route) => {
    strictQuery(route);
    createdLocation(route);
    optionalBody(route);
  });

  // Fastify parses text/plain as a string by default, which a JSON route then refuses as "must be object";
  // it is a body of the wrong type, 415 like any other.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(FORM, { parseAs: 'string' }, (request, body, done) => {
    if (request.routeOptions.config.formBody !== true) {
      done(new AppError(415, 'unsupported_media_type', 'send the body as application/json'), undefined);
      return;
    }
    done(null, { ...parseForm(body as string) });
  });

  /**
   * The methods the path has routes for, whatever the caller may do with them: for the not-found handler
   * to tell a wrong method (405) from an unknown path (404).
   */
  return (path: string) => METHODS.filter((method) => app.findRoute({ method, url: path }) !== null);
}
