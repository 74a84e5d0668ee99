import type { Redis } from 'ioredis';

/**
 * An in-process cache of ready answers. With Redis configured, every invalidation is published
 * so that every API process drops the same keys; nothing here is the only copy of anything.
 */
export interface Cache {
  get<T>(key: string): T | undefined;
  set<T>(key: string, value: T, ttlSeconds: number): void;
  /** Drops every key that starts with `prefix`, here and in every other process. */
  invalidate(prefix: string): Promise<void>;
  close(): Promise<void>;
}

export function createCache(
  options: {
    maxEntries?: number;
    redis?: { publisher: Redis; subscriber: Redis };
    keyPrefix?: string;
    /** Told of every look-up, for the metrics. */
    onLookup?: (key: string, hit: boolean) => void;
  } = {},
): Cache {
  const onLookup = options.onLookup ?? (() => {});
  const invalidationChannel = `${options.keyPrefix ?? 'kg:'}cache:invalidate`;
  const maxEntries = options.maxEntries ?? 10_000;
  const entries = new Map<string, { value: unknown; expiresAt: number }>();

  const dropPrefix = (prefix: string) => {
    for (const key of entries.keys()) if (key.startsWith(prefix)) entries.delete(key);
  };

  if (options.redis) {
    options.redis.subscriber.subscribe(invalidationChannel).catch(() => {});
    options.redis.subscriber.on('message', (channel, prefix) => {
      if (channel === invalidationChannel) dropPrefix(prefix);
    });
  }

  return {
    get<T>(key: string) {
      const entry = entries.get(key);
      if (!entry) {
        onLookup(key, false);
        return undefined;
      }
      if (entry.expiresAt < Date.now()) {
        entries.delete(key);
        onLookup(key, false);
        return undefined;
      }
      onLookup(key, true);
      return entry.value as T;
    },
    set(key, value, ttlSeconds) {
      if (entries.size >= maxEntries) {
        const oldest = entries.keys().next().value;
        if (oldest !== undefined) entries.delete(oldest);
      }
      entries.set(key, { value, expiresAt: Date.now() + ttlSeconds * 1000 });
    },
    async invalidate(prefix) {
      dropPrefix(prefix);
      if (options.redis) await options.redis.publisher.publish(invalidationChannel, prefix);
    },
    async close() {
      entries.clear();
    },
  };
}
