import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ensureRedis, freePort, redisAnswers } from '../../src/sandbox/infra/redis-server.js';
import { testRedisUrl } from '../support/redis.js';

/** Where the sandbox's Redis comes from: the one at REDIS_URL, else its own redis-server, else a clear no. */

describe("the sandbox's Redis", () => {
  it('uses the Redis at REDIS_URL when it answers, and leaves it running', async () => {
    const redis = await ensureRedis(testRedisUrl());
    expect(redis).toMatchObject({ url: testRedisUrl(), source: 'existing' });
    await redis.stop();
    expect(await redisAnswers(testRedisUrl())).toBe(true);
  });

  it('starts a private redis-server on a free port when nothing answers, and stops it', async () => {
    const nobody = `redis://127.0.0.1:${await freePort()}`;
    expect(await redisAnswers(nobody)).toBe(false);
    const redis = await ensureRedis(nobody);
    expect(redis.source).toBe('started');
    expect(redis.url).not.toBe(nobody);
    const client = new Redis(redis.url);
    expect(await client.set('sandbox:probe', 'ok')).toBe('OK');
    client.disconnect();
    await redis.stop();
    expect(await redisAnswers(redis.url)).toBe(false);
  });

  it('says how to get one when nothing answers and redis-server is not installed', async () => {
    const nobody = `redis://127.0.0.1:${await freePort()}`;
    const failure = ensureRedis(nobody, { bin: '/nonexistent/redis-server' });
    await expect(failure).rejects.toThrow(`nothing answered at ${nobody}`);
    await expect(failure).rejects.toThrow('/nonexistent/redis-server is not installed');
    await expect(failure).rejects.toThrow('sudo apt-get install redis-server');
    await expect(failure).rejects.toThrow('docker run --rm -p 6379:6379 redis:7');
  });
});
