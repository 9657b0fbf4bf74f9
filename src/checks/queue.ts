import type { Change } from '../deployments/service.js';
import type { LoadedDeployment } from '../deployments/store.js';
import { JobQueue, type JobQueueOptions, type PlannedJob } from '../redis/job-queue.js';

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

const check = (data: CheckJob): PlannedJob<CheckJob> => ({ name: 'check', data });

export class CheckQueue extends JobQueue<CheckJob> {
  protected readonly couldNotAdd = 'could not enqueue check';

  constructor(options: JobQueueOptions) {
    super(CHECKS_QUEUE, options, {
      // A check's own retries happen inside the runner; job attempts cover infrastructure failures
      // (Redis unreachable while recording the result), so a run is never silently dropped.
      attempts: 3,
      backoff: { type: 'exponential', delay: 1_000 },
      // Finished jobs are kept only briefly (a few for inspection): results live in the audit stream.
      removeOnComplete: { age: 600, count: 1_000 },
      removeOnFail: { age: 24 * 3_600 },
    });
  }

  /** One check run, now (bench:checks's baseline enqueues through here). */
  request(job: CheckJob): Promise<void> {
    return this.add([check(job)]);
  }

  protected jobId(job: CheckJob): string {
    return checkJobId(job);
  }

  /** A phase's checks open together: added in one round trip to Redis. */
  protected jobsForChange(change: Change): Array<PlannedJob<CheckJob>> {
    return change.events.flatMap((event) =>
      event.type === 'check.requested'
        ? [check({ deploymentId: change.deployment.id, itemId: event.itemId, run: event.run })]
        : [],
    );
  }

  /** Every check the store says is running has its job (the item stays "queued" until it runs). */
  protected jobsForDeployment({ state }: LoadedDeployment): Array<PlannedJob<CheckJob>> {
    return Object.entries(state.items).flatMap(([itemId, item]) =>
      item.status === 'running' && item.run ? [check({ deploymentId: state.id, itemId, run: item.run })] : [],
    );
  }
}
