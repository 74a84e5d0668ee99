import createFetchClient, { type Client, type FetchResponse, type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema.js';

export type { components, paths };

/** An RFC 9457 problem, as every error of the API answers it (`application/problem+json`). */
export type Problem = components['schemas']['Problem'];

type Method = 'get' | 'put' | 'post' | 'delete' | 'patch';

/**
 * The problems one operation documents, a union over its error statuses: where the document lists the codes
 * a route answers, `code` is their union, and a `switch` on a code the route cannot answer does not compile.
 */
export type ProblemOf<Path extends keyof paths, M extends Method & keyof paths[Path]> = NonNullable<
  FetchResponse<NonNullable<paths[Path][M]>, object, `${string}/${string}`>['error']
>;

/** The access token to send, or a function that gives the current one (an app refreshes it). */
export type TokenSource = string | (() => string | undefined | Promise<string | undefined>);

export interface ClientOptions {
  /** Where the API is served, without `/api/v1` (the paths carry it): `https://api.example.kg`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <token>` on every request that does not set its own. */
  token?: TokenSource;
  /**
   * Sent as `Accept-Language` on every request that does not set its own: `ky`, `ru` or `en` (or a list,
   * `ky, ru;q=0.8`), which picks the language of catalog names and notification texts.
   */
  language?: string;
  /** The fetch to call; the platform's by default. */
  fetch?: (request: Request) => Promise<Response>;
}

export type ApiClient = Client<paths>;

/**
 * A client of the API whose every path, parameter, body and answer is typed from the OpenAPI document. Each
 * call answers `{ data }` on success or `{ error }`, the problem the route documents for that status, so
 * `error.code` can be switched on:
 *
 * ```ts
 * const api = createClient({ baseUrl: 'https://api.example.kg', token: () => session.accessToken });
 * const { data, error } = await api.POST('/api/v1/orders/{id}/bids', {
 *   params: { path: { id: orderId } },
 *   body: { amount: 200_000 },
 *   headers: idempotencyKey(key),
 * });
 * ```
 */
export function createClient(options: ClientOptions): ApiClient {
  const client = createFetchClient<paths>({
    baseUrl: options.baseUrl,
    ...(options.fetch && { fetch: options.fetch }),
  });
  client.use(conventions(options));
  return client;
}

function conventions({ token, language }: ClientOptions): Middleware {
  return {
    async onRequest({ request }) {
      if (token !== undefined && !request.headers.has('authorization')) {
        const current = typeof token === 'function' ? await token() : token;
        if (current) request.headers.set('authorization', `Bearer ${current}`);
      }
      if (language && !request.headers.has('accept-language'))
        request.headers.set('accept-language', language);
      return request;
    },
  };
}

/**
 * The `Idempotency-Key` header of a POST that creates something or moves money. Make the key once per
 * intended action and send the same one on every retry of it: the server answers a retry with the first
 * answer (`Idempotent-Replayed: true`) instead of doing the thing twice.
 */
export function idempotencyKey(key: string = crypto.randomUUID()): { 'Idempotency-Key': string } {
  return { 'Idempotency-Key': key };
}
