import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject } from 'vitest';

/** The run's Redis URL and a key prefix unique to the caller, so test files never see each other's keys. */
export function testRedisUrl(): string {
  return inject('redisUrl');
}

export function uniquePrefix(label = 't'): string {
  return `fdtest-${label}-${randomUUID().slice(0, 8)}`;
}

export function connectTestRedis(): Redis {
  return new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
}

/**
 * Connections to the test Redis that a test file opens as it goes (a store, each queue and worker) and
 * closes together when it is done.
 */
export function testConnections(): { open(): Redis; closeAll(): Promise<void> } {
  const opened: Redis[] = [];
  return {
    open() {
      const redis = connectTestRedis();
      opened.push(redis);
      return redis;
    },
    async closeAll() {
      await Promise.all(opened.splice(0).map((redis) => redis.quit().catch(() => undefined)));
    },
  };
}
