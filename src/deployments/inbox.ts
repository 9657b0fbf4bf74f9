import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.js';
import { serializeError } from '../observability/logger.js';
import { luaScript } from './lua.js';

/**
 * Requests people made, kept in Redis from before they are acknowledged until they have been carried out:
 * an acknowledged click is never lost, and never applied late.
 *
 *   - A request is written here (one HSET on the fail-fast connection) before Slack gets its ack; when that
 *     write fails, the person is told at once that it was not recorded, and nothing happens later.
 *   - The transition a request causes removes its entry in the same Lua script that commits the state
 *     (see store.ts), so a request is carried out once: after a crash either both happened or neither.
 *     Whatever else a request does (a refusal, a dialog) removes the entry when it is done.
 *   - Each process keeps a heartbeat. Entries of a process whose heartbeat ran out (killed, or its host
 *     lost) are taken over by another: carried out if they are recent (`freshMs`), or, if not, the person
 *     is told privately that it was not applied — never applied minutes later behind their back.
 *
 * Keys, under `<prefix>:`:
 *   inbox            hash  request id -> {"body", "receivedAt", "process"} (JSON)
 *   process:<id>     a process's heartbeat (expires after `heartbeatTtlMs` without renewal)
 */

export interface InboxEntry {
  id: string;
  /** The request as the receiver parsed it (a slash command, block action or view submission). */
  body: Record<string, unknown>;
  receivedAt: number;
  process: string;
}

/** The request this code runs for, if any: its inbox id travels with it into the store's commit. */
const current = new AsyncLocalStorage<{ inboxId: string }>();

export function runForRequest<T>(inboxId: string, work: () => Promise<T>): Promise<T> {
  return current.run({ inboxId }, work);
}

/** The inbox id of the request being carried out here (undefined for timers, workers, the sweep). */
export function currentRequest(): string | undefined {
  return current.getStore()?.inboxId;
}

/** Takes over an entry of a dead process: only if it is still there, unchanged. */
const TAKE_OVER_SCRIPT = luaScript('inbox-take-over');

interface ScriptedRedis extends Redis {
  fdTakeOver(inbox: string, heartbeat: string, id: string, was: string, now: string): Promise<number>;
}

export interface InboxOptions {
  /** A taken-over request older than this is not carried out; its sender is told. Default 60 s. */
  freshMs?: number;
  heartbeatEveryMs?: number;
  heartbeatTtlMs?: number;
  now?: () => number;
}

export class Inbox {
  readonly processId = `p${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  private readonly redis: ScriptedRedis;
  /** Entries this process is done with but could not remove (Redis was away): removed later. */
  private readonly leftovers = new Set<string>();
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly freshMs: number;
  private readonly heartbeatEveryMs: number;
  private readonly heartbeatTtlMs: number;
  private readonly now: () => number;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly logger: Logger,
    options: InboxOptions = {},
  ) {
    this.redis = redis as ScriptedRedis;
    if (!('fdTakeOver' in redis))
      redis.defineCommand('fdTakeOver', { numberOfKeys: 2, lua: TAKE_OVER_SCRIPT });
    this.freshMs = options.freshMs ?? 60_000;
    this.heartbeatEveryMs = options.heartbeatEveryMs ?? 5_000;
    this.heartbeatTtlMs = options.heartbeatTtlMs ?? 15_000;
    this.now = options.now ?? Date.now;
  }

  get key(): string {
    return `${this.prefix}:inbox`;
  }

  private processKey(processId: string): string {
    return `${this.prefix}:process:${processId}`;
  }

  /** Starts this process's heartbeat (its entries are its own while it beats). */
  async start(): Promise<void> {
    await this.beat();
    this.heartbeat = setInterval(() => void this.beat().catch(() => undefined), this.heartbeatEveryMs);
    this.heartbeat.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    await this.redis.del(this.processKey(this.processId)).catch(() => undefined);
  }

  private async beat(): Promise<void> {
    await this.redis.set(this.processKey(this.processId), '1', 'PX', this.heartbeatTtlMs);
  }

  /** Writes a request before it is acknowledged; throws when Redis cannot take it (fail fast). */
  async record(body: Record<string, unknown>): Promise<string> {
    const id = `r${this.now().toString(36)}${randomBytes(4).toString('hex')}`;
    const entry = { body, receivedAt: this.now(), process: this.processId };
    await this.redis.hset(this.key, id, JSON.stringify(entry));
    return id;
  }

  /** The request is carried out (or refused, or failed and its sender told): it leaves the inbox. */
  async done(id: string): Promise<void> {
    try {
      await this.redis.hdel(this.key, id);
    } catch {
      this.leftovers.add(id); // Redis is away; the request was handled — remove it once Redis is back
    }
  }

  /**
   * Takes over what dead processes left, each entry once across all processes: recent ones are handed to
   * `carryOut`, older ones to `tellNotApplied`. Also removes this process's own leftovers.
   */
  async recover(handlers: {
    carryOut: (entry: InboxEntry) => Promise<void>;
    tellNotApplied: (entry: InboxEntry) => Promise<void>;
  }): Promise<void> {
    for (const id of [...this.leftovers]) {
      await this.redis.hdel(this.key, id);
      this.leftovers.delete(id);
    }
    const raw = await this.redis.hgetall(this.key);
    for (const [id, value] of Object.entries(raw)) {
      const entry = { id, ...(JSON.parse(value) as Omit<InboxEntry, 'id'>) };
      if (entry.process === this.processId) continue;
      if ((await this.redis.exists(this.processKey(entry.process))) === 1) continue;
      const mine = JSON.stringify({
        body: entry.body,
        receivedAt: entry.receivedAt,
        process: this.processId,
      });
      const taken = await this.redis.fdTakeOver(this.key, this.processKey(entry.process), id, value, mine);
      if (taken !== 1) continue;
      try {
        const late = this.now() - entry.receivedAt > this.freshMs;
        this.logger.warn(
          { request: id, from: entry.process, ageMs: this.now() - entry.receivedAt, late },
          late
            ? 'a request a dead process left is too old to carry out'
            : 'carrying out a request a dead process left',
        );
        await (late ? handlers.tellNotApplied(entry) : handlers.carryOut(entry));
      } catch (error) {
        this.logger.error({ request: id, err: serializeError(error) }, 'could not recover a request');
      } finally {
        await this.done(id);
      }
    }
  }
}
