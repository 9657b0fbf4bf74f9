import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../observability/logger.js';
import { StartupError } from '../shared/errors.js';

/**
 * Every Redis connection Flightdeck opens, made in one place so they all behave the same under faults:
 *
 *   - `state`: the store's connection (deployments, audit, message ids, the inbox). It does not queue
 *     commands while Redis is away, gives up on a command (and on a server that stops answering) after
 *     `commandTimeoutMs`, and never re-sends a command after a reconnect: a click that could not be
 *     recorded is answered "not recorded" at once, and nothing is applied later behind a person's back.
 *     Background work retries through its jobs and the periodic sweep instead.
 *   - `queue`: BullMQ's connections (queues and workers). Workers block on Redis and may wait: BullMQ
 *     wants `maxRetriesPerRequest: null`, and they reconnect by themselves.
 *
 * Each connection reports to one RedisHealth, which says once that Redis went away, once that it came
 * back, and at most one line in between per `reportEveryMs` — no stack traces for an expected condition,
 * and never ioredis's "Unhandled error event".
 *
 * With REDIS_SENTINELS and REDIS_MASTER_NAME the connections find the master through Sentinel and follow
 * a failover: they move to the new master as soon as the sentinels name it, and when the master goes away
 * they ask the sentinels again (test/e2e/sentinel.test.ts).
 */

export interface RedisSettings {
  /** redis://[user:password@]host:port[/db] or rediss:// (TLS); with Sentinel, its password and TLS. */
  url: string;
  /** `host:port` of each sentinel; with `masterName`, the master is found through them. */
  sentinels?: Array<{ host: string; port: number }>;
  masterName?: string;
  /** A request-path command waits at most this long (default 1.5 s). */
  commandTimeoutMs?: number;
  /** Connecting at start gives up after this long (default 5 s). */
  connectTimeoutMs?: number;
}

/**
 * `state`: the store's connection (fail fast, auto-pipelined); `request`: the same, without pipelining,
 * for the one write a request waits on before its ack — so it never queues behind a busy pipeline;
 * `queue`: BullMQ's.
 */
export type ConnectionKind = 'state' | 'request' | 'queue';

export function redisClient(
  settings: RedisSettings,
  name: string,
  kind: ConnectionKind,
  health?: RedisHealth,
): Redis {
  const options: RedisOptions = {
    connectionName: `flightdeck-${name}`,
    lazyConnect: kind !== 'queue',
    ...(kind !== 'queue'
      ? {
          enableOfflineQueue: false,
          commandTimeout: settings.commandTimeoutMs ?? 1_500,
          // A server that stops answering (stalled, frozen) is left after as long, and the commands it
          // holds fail then (below): auto-pipelining queues new commands behind unanswered ones, so their
          // own timeouts alone would add up past Slack's 3 s.
          socketTimeout: settings.commandTimeoutMs ?? 1_500,
          // A command cut off by a lost connection fails at once and is never sent again after the
          // reconnect: its caller tells the person it was not recorded, so it must not happen after all.
          maxRetriesPerRequest: 0,
          // Auto-pipelining sends the commands of one event-loop turn in one write: when a phase's
          // checks finish together, their writes share a syscall instead of one each. Not for the ack
          // path, whose one write must not wait behind them.
          enableAutoPipelining: kind === 'state',
        }
      : { maxRetriesPerRequest: null }),
    connectTimeout: settings.connectTimeoutMs ?? 5_000,
    // Back off to at most 2 s between reconnects, for ever: Redis coming back is the normal end of an outage.
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  };
  const redis = settings.sentinels?.length
    ? new Redis({
        ...parseUrl(settings.url),
        ...options,
        sentinels: settings.sentinels,
        name: settings.masterName ?? 'mymaster',
        // Leave a master as soon as the sentinels name another (+switch-master), not when it is demoted:
        // a master that stalled and woke up takes writes until then, and its demotion throws them away.
        failoverDetector: true,
        // The sentinels share the master's password unless told otherwise (the common setup).
        ...(parseUrl(settings.url).password ? { sentinelPassword: parseUrl(settings.url).password } : {}),
      })
    : new Redis(settings.url, options);
  (health ?? SILENT_HEALTH).watch(redis, name);
  redis.on('end', () => restartUnlessClosed(redis));
  return redis;
}

/** Connections closed on purpose (closeRedis): their end is the end. */
const closedOnPurpose = new WeakSet<Redis>();

/** Closes a connection for good: waits for the replies under way (QUIT), else drops it. */
export async function closeRedis(redis: Redis): Promise<void> {
  closedOnPurpose.add(redis);
  await redis.quit().catch(() => redis.disconnect());
}

/**
 * ioredis gives a connection up for good ('end', every command then "Connection is closed.") when a connect
 * attempt is cut short, which is what a failover announced by the sentinels (+switch-master, see
 * failoverDetector) does to a client that is reconnecting at that moment. Its retryStrategy never gets a
 * say, so the connection starts again here, as that strategy would have.
 */
function restartUnlessClosed(redis: Redis): void {
  if (closedOnPurpose.has(redis)) return;
  const timer = setTimeout(() => {
    if (closedOnPurpose.has(redis) || redis.status !== 'end') return;
    redis.connect().catch(() => undefined); // a failure ends it again, and comes back here
  }, 500);
  timer.unref();
}

/** REDIS_SENTINELS (`host:port,host:port`) and REDIS_MASTER_NAME, as settings; undefined without them. */
export function parseSentinels(list: string | undefined): Array<{ host: string; port: number }> | undefined {
  if (!list) return undefined;
  return list
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const colon = entry.lastIndexOf(':');
      return { host: entry.slice(0, colon), port: Number(entry.slice(colon + 1)) };
    });
}

function parseUrl(url: string): Pick<RedisOptions, 'username' | 'password' | 'db' | 'tls'> {
  const parsed = new URL(url);
  return {
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.pathname.length > 1 ? { db: Number(parsed.pathname.slice(1)) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/**
 * Connects a `state` connection at start, or says exactly why not: refused, no answer within the
 * timeout (something listens but does not speak Redis, or a firewall drops), authentication
 * (WRONGPASS/NOAUTH), TLS; with Sentinel, no sentinel answering or none knowing the master's name.
 * Throws a StartupError (`redis_unreachable`); the caller exits non-zero with the message.
 */
export async function connectOrExplain(redis: Redis, where: string, timeoutMs = 5_000): Promise<void> {
  let lastError: Error | undefined;
  const remember = (error: Error) => {
    lastError = error;
  };
  redis.on('error', remember);
  // ioredis tells what each sentinel said apart from its errors, which only say "all unreachable".
  let sentinelError: Error | undefined;
  const rememberSentinel = (error: Error) => {
    sentinelError = error;
  };
  redis.on('sentinelError', rememberSentinel);
  let timer: NodeJS.Timeout | undefined;
  const started = performance.now();
  try {
    await Promise.race([
      redis.connect().then(() => redis.ping()),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      }),
    ]);
  } catch (error) {
    closedOnPurpose.add(redis);
    redis.disconnect();
    // No master found: the sentinels say why. Otherwise a timed-out command says more than the
    // connection's last error (there may be none).
    const cause =
      lastError && /All sentinels are unreachable/.test(lastError.message)
        ? (sentinelError ?? lastError)
        : /timed out|^timeout$/i.test((error as Error).message)
          ? (error as Error)
          : (lastError ?? (error as Error));
    throw new StartupError(
      'redis_unreachable',
      `cannot reach Redis at ${where}: ${explain(cause, performance.now() - started)}`,
      { cause },
    );
  } finally {
    clearTimeout(timer);
    redis.off('error', remember);
    redis.off('sentinelError', rememberSentinel);
  }
}

/** One line a person can act on, from what ioredis or the socket said (`waitedMs`: how long we waited). */
export function explain(error: Error, waitedMs: number): string {
  const text = `${(error as { code?: string }).code ?? ''} ${error.message}`;
  // What ioredis says of a sentinel: it knows no master by that name, or could not be reached.
  if (/No such master with that name/.test(text))
    return 'the sentinels know no master by that name (REDIS_MASTER_NAME)';
  const sentinel = /failed to connect to sentinel \S+ because (.*)/.exec(error.message);
  if (sentinel)
    // A refused connection reaches us as "Connection is closed" (ioredis tries each sentinel once).
    return /ECONNREFUSED|Connection is closed/.test(sentinel[1] ?? '')
      ? 'no sentinel answers: is Redis Sentinel running there?'
      : `no sentinel answers (${sentinel[1]})`;
  if (/WRONGPASS|invalid username-password/i.test(text))
    return 'authentication failed (WRONGPASS): check the user and password in REDIS_URL';
  if (/NOAUTH/i.test(text))
    return 'Redis wants a password (NOAUTH): put it in REDIS_URL (redis://:password@host:port)';
  if (/ECONNREFUSED/.test(text)) return 'connection refused: nothing listens there (is Redis running?)';
  if (/ENOTFOUND|EAI_AGAIN/.test(text)) return `the host name does not resolve (${error.message})`;
  if (/SSL|TLS|certificate|wrong version number|EPROTO/i.test(text))
    return `TLS handshake failed (${error.message}): rediss:// needs a TLS port, redis:// a plain one`;
  if (/timeout|timed out|ETIMEDOUT/i.test(text))
    return `no answer within ${Math.max(1, Math.round(waitedMs / 1000))} s: something accepts connections there but does not answer as Redis (wrong port?), or a firewall drops them`;
  return error.message;
}

/**
 * Whether Redis is reachable, across all of this process's connections, told to the log the way an
 * operator wants it: one warning when it goes away (with the cause), a reminder at most every
 * `reportEveryMs` while it stays away, one line when it is back (and how long it was away).
 */
export class RedisHealth {
  private downSince: number | undefined;
  private lastReport = 0;
  private readonly broken = new Set<string>();
  /** When Redis was last seen come back (or this process started). */
  private upSince: number;

  constructor(
    private readonly logger: Logger | undefined,
    private readonly reportEveryMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    this.upSince = now();
  }

  /** Redis has been reachable, without a break, for at least `ms`. */
  steadyFor(ms: number): boolean {
    return this.available && this.now() - this.upSince >= ms;
  }

  /** Whether some connection is away right now (the request path answers "not recorded" meanwhile). */
  get available(): boolean {
    return this.broken.size === 0;
  }

  watch(redis: Redis, name: string): void {
    redis.on('error', (error: Error) => this.failed(name, error));
    redis.on('ready', () => this.recovered(name));
  }

  /**
   * Asks Redis every `everyMs` whether it answers: a server that accepts connections but does not answer
   * (frozen, overloaded, a proxy with no backend) emits no connection error, only commands that time out.
   */
  probe(redis: Redis, everyMs = 1_000): () => void {
    const timer = setInterval(() => {
      redis.ping().then(
        () => this.recovered('probe'),
        (error: Error) => this.failed('probe', error),
      );
    }, everyMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** For errors BullMQ reports (its own 'error' events): connection trouble counts, the rest is logged. */
  report(name: string, error: Error): boolean {
    if (!isConnectionError(error)) return false;
    this.failed(name, error);
    return true;
  }

  private failed(name: string, error: Error): void {
    this.broken.add(name);
    const now = this.now();
    if (this.downSince === undefined) {
      this.downSince = now;
      this.lastReport = now;
      this.logger?.warn({ connection: name, cause: describeCause(error) }, 'Redis unavailable');
      return;
    }
    if (now - this.lastReport >= this.reportEveryMs) {
      this.lastReport = now;
      this.logger?.warn(
        { downForMs: now - this.downSince, cause: describeCause(error) },
        'Redis still unavailable',
      );
    }
  }

  private recovered(name: string): void {
    this.broken.delete(name);
    if (this.broken.size > 0 || this.downSince === undefined) return;
    this.logger?.warn({ downForMs: this.now() - this.downSince }, 'Redis available again');
    this.downSince = undefined;
    this.upSince = this.now();
  }
}

const SILENT_HEALTH = new RedisHealth(undefined);

function describeCause(error: Error): string {
  const code = (error as { code?: string }).code;
  return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
}

/** Errors that mean "Redis is not reachable", as opposed to a command that failed on its own. */
export function isConnectionError(error: unknown): boolean {
  const text = `${(error as { code?: string }).code ?? ''} ${(error as Error)?.message ?? ''}`;
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH|Connection is closed|Stream isn't writeable|enableOfflineQueue|Command timed out|MaxRetriesPerRequest|All sentinels are unreachable|Failed to refresh slots/i.test(
    text,
  );
}
