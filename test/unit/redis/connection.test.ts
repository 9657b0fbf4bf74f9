import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { closeRedis, redisClient } from '../../../src/redis/connection.js';
import { testRedisUrl } from '../../support/redis.js';

/**
 * ioredis gives a connection up for good ('end') when a connect attempt is cut short — with Sentinel, a
 * failover announced (+switch-master) while the client is reconnecting does exactly that — and then every
 * command fails with "Connection is closed." until the process restarts. Flightdeck's connections start
 * again by themselves; only one closed on purpose (closeRedis) stays closed.
 */

/** What a cut-short connect does inside ioredis: its connector is disconnected mid-attempt. */
function cutShort(redis: Redis): void {
  (redis as unknown as { connector: { disconnect(): void } }).connector.disconnect();
}

async function until(probe: () => boolean, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (probe()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return probe();
}

const opened: Redis[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((redis) => closeRedis(redis)));
});

describe('redisClient', () => {
  it('starts again after ioredis gave up on a connect attempt that was cut short', async () => {
    const redis = redisClient({ url: testRedisUrl() }, 'cut-short', 'state');
    opened.push(redis);
    const connecting = redis.connect().catch((error: Error) => error.message);
    cutShort(redis);
    expect(await connecting).toBe('Connection is closed.');
    expect(await until(() => redis.status === 'ready')).toBe(true);
    expect(await redis.ping()).toBe('PONG');
  });

  it('stays closed when closed on purpose', async () => {
    const redis = redisClient({ url: testRedisUrl() }, 'closed', 'state');
    await redis.connect();
    await closeRedis(redis);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(redis.status).toBe('end');
  });
});
