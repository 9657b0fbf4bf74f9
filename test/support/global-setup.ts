import type { TestProject } from 'vitest/node';
import { startRedisServer } from '../../src/sandbox/infra/redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/**
 * One real Redis for the whole run: a private `redis-server` on a free port, so tests never depend on
 * (or disturb) the shared Redis at 6379. TEST_REDIS_URL points the run at another server instead.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.TEST_REDIS_URL) {
    project.provide('redisUrl', process.env.TEST_REDIS_URL);
    return async () => {};
  }
  const redis = await startRedisServer();
  project.provide('redisUrl', redis.url);
  return () => redis.stop();
}
