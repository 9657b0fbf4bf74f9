/**
 * A private redis-server for one benchmark run (test/support's, on a free loopback port, no persistence),
 * removed at cleanup, with a client for the orchestrator and the server's pid for CPU accounting.
 */
import { readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startRedisServer } from '../../src/sandbox/infra/redis-server.js';
import { onCleanup, withTimeout } from './lifecycle.js';

export interface PrivateRedis {
  url: string;
  pid: number;
  /** The orchestrator's own connection. */
  client: Redis;
}

export async function startPrivateRedis(connectionName: string): Promise<PrivateRedis> {
  // startRedisServer keeps its data dir to itself; note which one is new so Ctrl-C (which may stop the
  // server before its own stop() runs) cannot leave it behind.
  const redisDirs = () =>
    new Set(readdirSync(tmpdir()).filter((name) => name.startsWith('flightdeck-redis-')));
  const dirsBefore = redisDirs();
  const server = await startRedisServer();
  const dir = [...redisDirs()].find((name) => !dirsBefore.has(name));
  onCleanup(async () => {
    await withTimeout(server.stop(), 3_000);
    if (dir) await rm(join(tmpdir(), dir), { recursive: true, force: true });
  });
  const client = new Redis(server.url, { connectionName });
  onCleanup(() => client.disconnect());
  const pid = Number(/process_id:(\d+)/.exec(await client.info('server'))?.[1]);
  return { url: server.url, pid, client };
}

/**
 * Counts the commands Redis runs from now on (INFO commandstats, after CONFIG RESETSTAT): what a run asked
 * of Redis, by command. Resetting affects only the statistics, not the data. Scripts count once as
 * `evalsha` however many commands they run inside.
 */
export async function redisCommandMeter(client: Redis): Promise<() => Promise<Map<string, number>>> {
  await client.config('RESETSTAT');
  return async () => {
    const calls = new Map<string, number>();
    for (const line of (await client.info('commandstats')).split('\n')) {
      const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
      if (match?.[1] && match[2]) calls.set(match[1], Number(match[2]));
    }
    // The meter's own INFO call is not the run's.
    calls.set('info', (calls.get('info') ?? 1) - 1);
    return calls;
  };
}
