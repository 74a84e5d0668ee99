import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helper.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const get = (url: string, headers: Record<string, string> = {}) => t.app.inject({ url, headers });
const decode = { br: brotliDecompressSync, gzip: gunzipSync } as const;

describe('compression', () => {
  it('compresses the OpenAPI document and the docs’ assets by Accept-Encoding: br first, then gzip', async () => {
    for (const url of ['/docs/json', '/docs/static/swagger-ui.css', '/docs/static/swagger-ui-bundle.js']) {
      const plain = await get(url);
      expect(plain.statusCode, url).toBe(200);
      expect(plain.headers['content-encoding'], url).toBeUndefined();
      for (const [accept, encoding] of [
        ['gzip, deflate, br, zstd', 'br'],
        ['gzip', 'gzip'],
        ['br;q=0.5, gzip', 'gzip'],
      ] as const) {
        const packed = await get(url, { 'accept-encoding': accept });
        expect(packed.headers['content-encoding'], `${url} ${accept}`).toBe(encoding);
        expect(String(packed.headers.vary).toLowerCase()).toContain('accept-encoding');
        expect(packed.rawPayload.length).toBeLessThan(plain.rawPayload.length / 2);
        expect(decode[encoding](packed.rawPayload).equals(plain.rawPayload), url).toBe(true);
      }
    }
  });

  it('a compressed catalog answer keeps the ETag of its JSON, and a 304 has nothing to compress', async () => {
    const plain = await get('/api/v1/categories');
    const packed = await get('/api/v1/categories', { 'accept-encoding': 'br' });
    expect(packed.headers['content-encoding']).toBe('br');
    expect(packed.headers.etag).toBe(plain.headers.etag);
    expect(brotliDecompressSync(packed.rawPayload).toString()).toBe(plain.body);
    const unchanged = await get('/api/v1/categories', {
      'accept-encoding': 'br',
      'if-none-match': plain.headers.etag as string,
    });
    expect([unchanged.statusCode, unchanged.rawPayload.length]).toEqual([304, 0]);
    expect(unchanged.headers['content-encoding']).toBeUndefined();
    // The Vary the 200 had, Accept-Encoding included (RFC 9110, 15.4.5), and it only once.
    expect(unchanged.headers.vary).toBe(packed.headers.vary);
    expect(String(packed.headers.vary).match(/accept-encoding/gi)).toHaveLength(1);
  });

  it('leaves small answers, unknown encodings and problem answers under the threshold as they are', async () => {
    const small = await get('/health/live', { 'accept-encoding': 'br, gzip' });
    expect(small.headers['content-encoding']).toBeUndefined();
    expect(small.json()).toMatchObject({ status: 'ok' });
    const unknown = await get('/docs/json', { 'accept-encoding': 'compress' });
    expect(unknown.headers['content-encoding']).toBeUndefined();
    expect(unknown.json()).toHaveProperty('openapi');
    const refused = await get('/api/v1/me', { 'accept-encoding': 'gzip' });
    expect([refused.statusCode, refused.headers['content-encoding']]).toEqual([401, undefined]);
  });
});
