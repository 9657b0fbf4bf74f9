import { Redis } from 'ioredis';

/**
 * BullMQ's Redis connections. Workers block on Redis, so BullMQ wants `maxRetriesPerRequest: null`;
 * queues and workers each get their own connection. Keys live under `<prefix>:q` (BullMQ's own `prefix`
 * option, not ioredis keyPrefix, which BullMQ does not support).
 */

export function bullConnection(url: string, name: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, connectionName: `flightdeck-${name}` });
}

export function queuePrefix(redisPrefix: string): string {
  return `${redisPrefix}:q`;
}
