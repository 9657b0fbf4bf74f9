import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export interface RedisServer {
  url: string;
  port: number;
  /** The server's process (tests freeze it with SIGSTOP, or kill it, to play an outage). */
  pid: number;
  /** Where it keeps its files (with `persist`, the AOF a restart reads back). */
  dir: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * Starts a throw-away `redis-server` on a free loopback port (or `port`) and waits for PING. Without
 * `persist` it keeps nothing; with it, an AOF (fsync every second) in `dir`, so a server started again on
 * the same port and directory comes back with the data, as after a crash.
 */
export async function startRedisServer(
  options: { bin?: string; port?: number; dir?: string; persist?: boolean } = {},
): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'flightdeck-redis-')));
  const persistence = options.persist
    ? ['--appendonly', 'yes', '--appendfsync', 'everysec']
    : ['--appendonly', 'no'];
  const child: ChildProcess = spawn(
    options.bin ?? 'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', dir],
    { stdio: 'ignore' },
  );
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code) => reject(new Error(`redis-server exited early (code ${code})`)));
    // ENOENT (not installed) arrives as an error event, not an exit.
    child.once('error', (error) => reject(error));
  });
  exited.catch(() => {});
  const url = `redis://127.0.0.1:${port}`;
  try {
    await Promise.race([waitForPing(url), exited]);
  } catch (error) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url,
    port,
    pid: child.pid ?? 0,
    dir,
    async stop() {
      // It may be gone already (e.g. Ctrl-C reached its process group): then there is no exit to wait for.
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGCONT'); // a frozen server cannot hear SIGTERM
        child.kill('SIGTERM');
        await exited;
      }
      if (!options.dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPing(url: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {}); // refused while the server boots; we retry below
    try {
      await client.connect();
      await client.ping();
      return;
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`redis-server did not answer on ${url}: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      client.disconnect();
    }
  }
}

/** Does a Redis answer PING at `url` within `timeoutMs`? */
export async function redisAnswers(url: string, timeoutMs = 1_000): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
  });
  client.on('error', () => {}); // a refusal is the answer, not a crash
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export interface AvailableRedis {
  url: string;
  /** `existing`: someone else's server at the given URL; `started`: ours, stopped by `stop()`. */
  source: 'existing' | 'started';
  stop(): Promise<void>;
}

/**
 * The sandbox's Redis: the one at `url` if it answers, else a throw-away `redis-server` on a free port,
 * else an error that says how to get one.
 */
export async function ensureRedis(url: string, options: { bin?: string } = {}): Promise<AvailableRedis> {
  if (await redisAnswers(url)) return { url, source: 'existing', stop: async () => {} };
  try {
    const started = await startRedisServer(options);
    return { url: started.url, source: 'started', stop: () => started.stop() };
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? `${options.bin ?? 'redis-server'} is not installed`
        : `starting ${options.bin ?? 'redis-server'} failed: ${(error as Error).message}`;
    throw new Error(
      [
        `Flightdeck's sandbox needs Redis: nothing answered at ${url.replace(/\/\/[^@/]*@/, '//')}, and ${reason}.`,
        'Any one of these will do:',
        '  - install redis-server (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis)',
        '    and run `npm start` again: the sandbox starts its own on a free port;',
        '  - start one: docker run --rm -p 6379:6379 redis:7',
        '  - point REDIS_URL at a Redis you have (the sandbox uses its own key prefix and removes its keys).',
      ].join('\n'),
    );
  }
}
