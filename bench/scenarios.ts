/**
 * What the bench loads. Add a scenario by appending to the list: everything else (ceiling server,
 * warm-up, table, results file, targets) follows from these fields.
 */
import type { HTTPMethods } from 'fastify';

export interface Scenario {
  name: string;
  method: HTTPMethods;
  path: string;
  headers?: Record<string, string>;
  /** Runs once against the real API before loading; returns extra request headers (e.g. a Bearer token). */
  setup?: (baseUrl: string) => Promise<Record<string, string>>;
  /** True when the real route serializes an object on every request; false when it sends a cached string. */
  serializePerRequest: boolean;
  /** What the bare server does: replay the real answer (the default), or do a signed-in read (bare-server.ts). */
  ceiling?: 'replay' | 'me';
  /** Minimum real/bare req/s ratio; scenarios without one are reported but not judged. */
  minRatio?: number;
}

async function postJson(baseUrl: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(new URL(path, baseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`POST ${path} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>;
}

async function registerUser(baseUrl: string): Promise<Record<string, string>> {
  const { access_token: token } = await postJson(baseUrl, '/api/v1/auth/register', {
    email: `bench-${Date.now()}@example.com`,
    password: 'bench-Passw0rd-long-enough',
    full_name: 'Bench User',
  });
  if (typeof token !== 'string') throw new Error('POST /api/v1/auth/register returned no access_token');
  return { authorization: `Bearer ${token}` };
}

export const scenarios: Scenario[] = [
  {
    // Framework, plugins and global hooks with no route work: the floor every other route pays.
    name: 'health live',
    method: 'GET',
    path: '/health/live',
    serializePerRequest: true,
  },
  {
    name: 'categories (ru)',
    method: 'GET',
    path: '/api/v1/categories',
    headers: { 'accept-language': 'ru' },
    serializePerRequest: false,
    minRatio: 0.6,
  },
  {
    // As a browser asks for it (Chromium's Accept-Encoding): br where the API compresses, else as above.
    name: 'categories (ru, br)',
    method: 'GET',
    path: '/api/v1/categories',
    headers: { 'accept-language': 'ru', 'accept-encoding': 'gzip, deflate, br, zstd' },
    serializePerRequest: false,
    minRatio: 0.75,
  },
  {
    // As curl and most HTTP libraries ask for it.
    name: 'categories (ru, gzip)',
    method: 'GET',
    path: '/api/v1/categories',
    headers: { 'accept-language': 'ru', 'accept-encoding': 'gzip' },
    serializePerRequest: false,
    minRatio: 0.75,
  },
  {
    name: 'me',
    method: 'GET',
    path: '/api/v1/me',
    setup: registerUser,
    serializePerRequest: true,
    // Against the same token, session and user checks done through `pg`: what any signed-in route must pay.
    ceiling: 'me',
    minRatio: 0.6,
  },
];
