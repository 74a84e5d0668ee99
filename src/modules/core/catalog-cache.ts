import type { Cache } from '../../platform/cache.ts';
import { entityTag } from '../../platform/http-cache.ts';
import type { PageRequest } from '../../platform/pagination.ts';

/** Public catalog answers change only when staff edit the catalog, so they are kept ready between edits. */
const CACHE_PREFIX = 'catalog:';
const CACHE_TTL_SECONDS = 600;

export interface CachedAnswer {
  etag: string;
  /** Bytes, not text: sending text would count its UTF-8 length again on every request. */
  body: Buffer;
}

const answerOf = (serialized: string | Buffer): CachedAnswer => {
  const body = Buffer.from(serialized);
  return { etag: entityTag(body), body };
};

export type CatalogCache = ReturnType<typeof createCatalogCache>;

export function createCatalogCache(cache: Cache) {
  /**
   * A public answer, built once per language and kept until the catalog changes.
   * `serialize` is the route's response serializer, so the cached text is exactly what the schema allows.
   */
  async function cachedAnswer(
    key: string,
    build: () => Promise<unknown>,
    serialize: (body: unknown) => string | Buffer,
  ) {
    const cacheKey = `${CACHE_PREFIX}${key}`;
    const hit = cache.get<CachedAnswer>(cacheKey);
    if (hit) return hit;
    const answer = answerOf(serialize(await build()));
    cache.set(cacheKey, answer, CACHE_TTL_SECONDS);
    return answer;
  }

  return {
    cachedAnswer,

    /**
     * A page of a public list, as cachedAnswer. Only first pages are kept (one per page size): later pages
     * are built on each call, so cursors made up by a client cannot crowd the cache.
     */
    async pageAnswer(
      key: string,
      request: PageRequest,
      build: () => Promise<unknown>,
      serialize: (body: unknown) => string | Buffer,
    ) {
      if (request.cursor === undefined) return cachedAnswer(`${key}:${request.limit}`, build, serialize);
      return answerOf(serialize(await build()));
    },

    /** A value read from the catalog, kept until the catalog changes. */
    async remember<T>(key: string, read: () => Promise<T>): Promise<T> {
      const cacheKey = `${CACHE_PREFIX}${key}`;
      const hit = cache.get<{ value: T }>(cacheKey);
      if (hit) return hit.value;
      const value = await read();
      cache.set(cacheKey, { value }, CACHE_TTL_SECONDS);
      return value;
    },

    async invalidate() {
      await cache.invalidate(CACHE_PREFIX);
    },
  };
}
