import type { Checklist } from '../checklists/schema.js';
import { type Deployment, isTerminal } from '../deployments/model.js';
import type { Change } from '../deployments/service.js';
import type { LoadedDeployment } from '../deployments/store.js';
import type { SweepRound } from '../deployments/sweep.js';
import { serializeError } from '../observability/logger.js';
import { JobQueue, type JobQueueOptions, type PlannedJob } from '../redis/job-queue.js';
import { evaluationInterval } from './evaluate.js';

/**
 * Rollback triggers, evaluated on a schedule while new code takes traffic: one BullMQ job scheduler per
 * deployment (its id names the deployment, so however many bots and workers run, each evaluation happens
 * once), started when the triggers are armed and removed when nothing new takes traffic any more: rolled
 * back, aborted, superseded by a later deployment, or completed and past `watch_after_completion`. The
 * evaluation itself is RollbackTriggerWorker's (worker.ts).
 */

/** The queue's name in Redis (from when triggers were called guards): kept so live schedules survive. */
export const ROLLBACK_TRIGGERS_QUEUE = 'guards';

export interface RollbackTriggerJob {
  deploymentId: string;
}

/** `guard.<id>`: the stored job id of a rollback trigger schedule (from when triggers were called guards), kept. */
export function rollbackTriggerScheduleId(deploymentId: string): string {
  return `guard.${deploymentId}`;
}

/**
 * New code takes traffic: an open deployment, or a completed one within its watch after completion (and
 * not superseded by a later deployment, whose own triggers watch now).
 */
export function stillWatched(deployment: Deployment, now: number): boolean {
  if (!isTerminal(deployment)) return true;
  return (
    deployment.status === 'completed' &&
    deployment.supersededBy === undefined &&
    deployment.watchUntil !== undefined &&
    now < deployment.watchUntil
  );
}

const schedule = (state: Deployment, checklist: Checklist): PlannedJob<RollbackTriggerJob> => ({
  name: 'evaluate',
  data: { deploymentId: state.id },
  every: evaluationInterval(checklist, state.timeScale),
});

export class RollbackTriggerQueue extends JobQueue<RollbackTriggerJob> {
  protected readonly couldNotAdd = 'could not schedule rollback triggers';

  constructor(options: JobQueueOptions) {
    super(ROLLBACK_TRIGGERS_QUEUE, options, {
      attempts: 1,
      removeOnComplete: { count: 200 },
      removeOnFail: { count: 200 },
    });
  }

  protected jobId(job: RollbackTriggerJob): string {
    return rollbackTriggerScheduleId(job.deploymentId);
  }

  protected jobsForChange({ deployment, checklist, events }: Change): Array<PlannedJob<RollbackTriggerJob>> {
    const armed = events.some((event) => event.type === 'guards.armed');
    return armed && (checklist.rollback?.triggers.length ?? 0) > 0 ? [schedule(deployment, checklist)] : [];
  }

  override onChange(change: Change): void {
    super.onChange(change);
    const { deployment } = change;
    if (deployment.guardsArmedAt !== undefined && !stillWatched(deployment, this.now()))
      void this.stop(deployment.id);
  }

  /** Completed deployments still watched keep their schedule too. */
  protected override reconciled(round: SweepRound): readonly LoadedDeployment[] {
    return [...round.active, ...round.watched];
  }

  /** Armed deployments, and completed ones still watched, have their schedule. */
  protected jobsForDeployment(
    loaded: LoadedDeployment,
    round: SweepRound,
  ): Array<PlannedJob<RollbackTriggerJob>> {
    const { state, checklist } = loaded;
    return state.guardsArmedAt !== undefined &&
      stillWatched(state, round.now) &&
      (checklist.rollback?.triggers.length ?? 0) > 0
      ? [schedule(state, checklist)]
      : [];
  }

  async stop(deploymentId: string): Promise<void> {
    await this.queue.removeJobScheduler(rollbackTriggerScheduleId(deploymentId)).catch((error: unknown) => {
      this.logger.warn({ deploymentId, err: serializeError(error) }, 'could not remove trigger schedule');
    });
  }
}
