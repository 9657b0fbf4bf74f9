import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Change, ChangeListener } from '../deployments/service.js';
import type { DeploymentStore } from '../deployments/store.js';
import type { Logger } from '../observability/logger.js';
import { serializeError } from '../observability/logger.js';
import { queueErrorListener } from '../redis/job-queue.js';

/**
 * The `checks` queue: one small job per requested check run — ids, not objects. The job id names the
 * deployment, item and run, so a request is enqueued once however many processes see it; the engine
 * ignores results for runs that are no longer current, so a duplicate run cannot land twice.
 */

export const CHECKS_QUEUE = 'checks';

export interface CheckJob {
  deploymentId: string;
  itemId: string;
  run: number;
}

export function checkJobId(job: CheckJob): string {
  // BullMQ job ids may not contain ':'; ours never do (see idSchema and newDeploymentId).
  return `${job.deploymentId}.${job.itemId}.${job.run}`;
}

export class CheckQueue implements ChangeListener {
  readonly queue: Queue<CheckJob>;

  constructor(
    private readonly connection: Redis,
    prefix: string,
    private readonly logger: Logger,
  ) {
    this.queue = new Queue<CheckJob>(CHECKS_QUEUE, {
      connection,
      prefix,
      defaultJobOptions: {
        // A check's own retries happen inside the runner; job attempts cover infrastructure failures
        // (Redis unreachable while recording the result), so a run is never silently dropped.
        attempts: 3,
        backoff: { type: 'exponential', delay: 1_000 },
        // Finished jobs are kept only briefly (a few for inspection): results live in the audit stream.
        removeOnComplete: { age: 600, count: 1_000 },
        removeOnFail: { age: 24 * 3_600 },
      },
    });
    this.queue.on('error', queueErrorListener(logger, 'checks queue error'));
  }

  onChange(change: Change): void {
    const jobs: CheckJob[] = [];
    for (const event of change.events) {
      if (event.type === 'check.requested')
        jobs.push({ deploymentId: change.deployment.id, itemId: event.itemId, run: event.run });
    }
    if (jobs.length === 1) void this.request(jobs[0] as CheckJob);
    else if (jobs.length > 1) void this.requestAll(jobs);
  }

  /** A phase's checks, opened together: one round trip to Redis for all of them (same job ids). */
  private async requestAll(jobs: CheckJob[]): Promise<void> {
    try {
      await this.queue.addBulk(
        jobs.map((job) => ({ name: 'check', data: job, opts: { jobId: checkJobId(job) } })),
      );
    } catch (error) {
      // The items stay "queued"; reconcile() enqueues them again on the next start.
      this.logger.error(
        {
          deploymentId: jobs[0]?.deploymentId,
          items: jobs.map((job) => job.itemId),
          err: serializeError(error),
        },
        'could not enqueue checks',
      );
    }
  }

  async request(job: CheckJob): Promise<void> {
    try {
      await this.queue.add('check', job, { jobId: checkJobId(job) });
    } catch (error) {
      // The item stays "queued"; reconcile() enqueues it again on the next start.
      this.logger.error({ ...job, err: serializeError(error) }, 'could not enqueue check');
    }
  }

  /** After a restart: every check the store says is running gets its job (a no-op where it exists). */
  async reconcile(store: DeploymentStore): Promise<number> {
    let requested = 0;
    for (const id of await store.activeIds()) {
      const loaded = await store.load(id);
      if (!loaded) continue;
      for (const [itemId, item] of Object.entries(loaded.state.items)) {
        if (item.status === 'running' && item.run) {
          await this.request({ deploymentId: id, itemId, run: item.run });
          requested++;
        }
      }
    }
    return requested;
  }

  async close(): Promise<void> {
    await this.queue.close();
    // BullMQ leaves a connection it was given open.
    await this.connection.quit().catch(() => this.connection.disconnect());
  }
}
