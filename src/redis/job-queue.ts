import type { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.js';
import { serializeError } from '../observability/logger.js';
import { isConnectionError, type RedisHealth, type RedisSettings, redisClient } from './connection.js';

/**
 * BullMQ's Redis connections. Workers block on Redis, so BullMQ wants `maxRetriesPerRequest: null`;
 * queues and workers each get their own connection. Keys live under `<prefix>:q` (BullMQ's own `prefix`
 * option, not ioredis keyPrefix, which BullMQ does not support).
 */

export function bullConnection(settings: RedisSettings, name: string, health?: RedisHealth): Redis {
  return redisClient(settings, name, 'queue', health);
}

export function queuePrefix(redisPrefix: string): string {
  return `${redisPrefix}:q`;
}

/**
 * The 'error' listener of a BullMQ queue or worker: Redis being away is already told by the connection's
 * RedisHealth (once, not per reconnect attempt), so only other errors are logged here.
 */
export function queueErrorListener(logger: Logger, what: string): (error: Error) => void {
  return (error) => {
    if (!isConnectionError(error)) logger.error({ err: serializeError(error) }, what);
  };
}
