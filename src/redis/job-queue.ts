import { type DefaultJobOptions, type Job, Queue, Worker, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Change, ChangeListener } from '../deployments/service.js';
import type { LoadedDeployment } from '../deployments/store.js';
import type { SweepRound } from '../deployments/sweep.js';
import type { Logger } from '../observability/logger.js';
import { serializeError } from '../observability/logger.js';
import {
  closeRedis,
  isConnectionError,
  type RedisHealth,
  type RedisSettings,
  redisClient,
} from './connection.js';

/**
 * What every effect of a decision (a check to run, a traffic operation, a timer, a trigger schedule, a
 * page) shares as BullMQ jobs: the connection, the key prefix, job defaults, adding the jobs a change or a
 * stored deployment calls for, and closing. In the spirit of BullMQ's own QueueBase, so each effect says
 * only *which* jobs it needs; the job id names what a job is for, so however many processes see a change
 * (or the sweep re-derives it, see deployments/sweep.ts), a job is added once.
 *
 * Workers block on Redis, so BullMQ wants `maxRetriesPerRequest: null`; queues and workers each get their
 * own connection. Keys live under `<prefix>:q` (BullMQ's own `prefix` option, not ioredis keyPrefix, which
 * BullMQ does not support).
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

/** A job an effect calls for: when it is due (now when not given), or how often it repeats. */
export interface PlannedJob<T> {
  name: string;
  data: T;
  at?: number;
  /** A job scheduler rather than one job: runs every this many ms until removed. */
  every?: number;
}

export interface JobQueueOptions {
  /** Its own connection (closed with the queue: BullMQ leaves a connection it was given open). */
  connection: Redis;
  prefix: string;
  logger: Logger;
  /** The clock delays are counted from; Date.now by default (as the engine takes time). */
  now?: () => number;
}

export abstract class JobQueue<T> implements ChangeListener {
  readonly queue: Queue<T>;
  protected readonly logger: Logger;
  protected readonly now: () => number;
  private readonly connection: Redis;

  /**
   * `name` is the queue's name in Redis: keep it when code moves, or jobs already waiting there (delayed
   * timers, schedules) would be orphaned by an upgrade.
   */
  protected constructor(name: string, options: JobQueueOptions, defaultJobOptions: DefaultJobOptions) {
    this.connection = options.connection;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.queue = new Queue<T>(name, {
      connection: options.connection,
      prefix: options.prefix,
      defaultJobOptions,
    });
    this.queue.on('error', queueErrorListener(options.logger, `${name} queue error`));
  }

  /** The job's id: names what it is for (BullMQ job ids may not contain ':'). */
  protected abstract jobId(job: T): string;

  /** The jobs a committed change calls for. */
  protected abstract jobsForChange(change: Change): Array<PlannedJob<T>>;

  /** The jobs a stored deployment calls for (after a restart, and every sweep). */
  protected abstract jobsForDeployment(loaded: LoadedDeployment, round: SweepRound): Array<PlannedJob<T>>;

  /** Logged when jobs could not be added; the sweep adds them again. */
  protected abstract readonly couldNotAdd: string;

  onChange(change: Change): void {
    const jobs = this.jobsForChange(change);
    if (jobs.length > 0) void this.add(jobs);
  }

  /** The stored deployments this effect re-derives its jobs from: the open ones, unless it says otherwise. */
  protected reconciled(round: SweepRound): readonly LoadedDeployment[] {
    return round.active;
  }

  /**
   * Adds every job the round's deployments call for (a no-op for those that exist): a process that died
   * between committing a change and adding its job, or a Redis error there, would otherwise leave it
   * undone until a restart. Returns how many jobs it asked for.
   */
  async reconcile(round: SweepRound): Promise<number> {
    let asked = 0;
    for (const loaded of this.reconciled(round)) {
      const jobs = this.jobsForDeployment(loaded, round);
      asked += jobs.length;
      if (jobs.length > 0) await this.add(jobs);
    }
    return asked;
  }

  /** Adds the jobs: several in one round trip to Redis (a phase's checks open together). Never throws. */
  protected async add(jobs: Array<PlannedJob<T>>): Promise<void> {
    try {
      const once = jobs.filter((job) => job.every === undefined);
      for (const job of jobs) {
        if (job.every !== undefined)
          await this.queue.upsertJobScheduler(this.jobId(job.data) as never, { every: job.every }, {
            name: job.name,
            data: job.data,
          } as never);
      }
      if (once.length === 1) {
        const [job] = once as [PlannedJob<T>];
        await this.queue.add(job.name as never, job.data as never, this.jobOptions(job));
      } else if (once.length > 1) {
        await this.queue.addBulk(
          once.map((job) => ({ name: job.name, data: job.data, opts: this.jobOptions(job) })) as never,
        );
      }
    } catch (error) {
      const about =
        jobs.length === 1
          ? { ...(jobs[0]?.data as object) }
          : { jobs: jobs.map((job) => this.jobId(job.data)) };
      this.logger.error({ ...about, err: serializeError(error) }, this.couldNotAdd);
    }
  }

  private jobOptions(job: PlannedJob<T>): { jobId: string; delay?: number } {
    return {
      jobId: this.jobId(job.data),
      ...(job.at !== undefined ? { delay: Math.max(0, job.at - this.now()) } : {}),
    };
  }

  async close(): Promise<void> {
    await this.queue.close();
    // BullMQ leaves a connection it was given open.
    await closeRedis(this.connection);
  }
}

export interface JobWorkerOptions {
  /** Its own connection (closed with the worker). */
  connection: Redis;
  prefix: string;
  logger: Logger;
  /** The clock commands are stamped with; Date.now by default (as the engine takes time). */
  now?: () => number;
}

/** Takes a queue's jobs: one connection, BullMQ's error listener, and closing. */
export abstract class JobWorker<T> {
  readonly worker: Worker<T>;
  protected readonly now: () => number;
  private readonly connection: Redis;

  protected constructor(
    name: string,
    options: JobWorkerOptions,
    settings: Omit<WorkerOptions, 'connection' | 'prefix'>,
  ) {
    this.connection = options.connection;
    this.now = options.now ?? Date.now;
    this.worker = new Worker<T>(name, (job) => this.process(job), {
      ...settings,
      connection: options.connection,
      prefix: options.prefix,
    });
    this.worker.on('error', queueErrorListener(options.logger, `${name} worker error`));
  }

  protected abstract process(job: Job<T>): Promise<void>;

  async close(): Promise<void> {
    try {
      await this.worker.close();
    } finally {
      await closeRedis(this.connection);
    }
  }
}
