import type { TestApp } from './helper.ts';

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface Answer {
  status: number;
  /** The parsed JSON body; undefined when there is none or it is not JSON. */
  // biome-ignore lint/suspicious/noExplicitAny: test answers are read field by field
  body: any;
  headers: Record<string, unknown>;
  /** The whole injected response, for bodies that are not JSON. */
  raw: Awaited<ReturnType<TestApp['app']['inject']>>;
}

/**
 * `call(method, url, headers?, payload?)` against the app of a test file. The app is made in `beforeAll`,
 * so it is passed as a getter.
 */
export function caller(app: () => TestApp) {
  return async function call(
    method: Method,
    url: string,
    headers?: Record<string, string>,
    payload?: object,
  ): Promise<Answer> {
    const response = await app().app.inject({ method, url, headers: { ...headers }, payload });
    const json = String(response.headers['content-type'] ?? '').includes('json');
    return {
      status: response.statusCode,
      body: response.body && json ? response.json() : undefined,
      headers: response.headers,
      raw: response,
    };
  };
}
