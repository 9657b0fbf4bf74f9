import type { Job } from 'bullmq';
import { walkedPhases } from '../checklists/phases.js';
import {
  type EscalationTimer,
  endedEscalationTimers,
  escalationJobId,
  escalationTimersFor,
  escalationTimersOf,
  nextEscalationTimer,
} from '../escalations/timers.js';
import type { Logger } from '../observability/logger.js';
import {
  JobQueue,
  type JobQueueOptions,
  JobWorker,
  type JobWorkerOptions,
  type PlannedJob,
} from '../redis/job-queue.js';
import type { Change, DeploymentService } from './service.js';
import type { LoadedDeployment } from './store.js';
import type { SweepRound } from './sweep.js';

/**
 * Timers as BullMQ delayed jobs, so they survive restarts of bots and workers: a watch window's end, a
 * follow-up phase coming due, an escalation level (when a level is due: escalations/timers.ts). The job id
 * names what it is for (deployment, item or phase or cause, run or chain and level), so a timer is set once
 * however many processes see the change, and a timer that fires for something no longer current changes
 * nothing (the engine checks).
 *
 * One queue for all three, kept here beside the deployment lifecycle they drive: each timer fires as one
 * engine command (wait-elapsed, open-follow-up, escalate), so one worker serves them all; and the delayed
 * jobs already waiting in Redis under `timers` must still fire after an upgrade.
 */

export const TIMERS_QUEUE = 'timers';

export type TimerJob =
  | { kind: 'wait'; deploymentId: string; itemId: string; run: number }
  /** A follow-up phase is due. */
  | { kind: 'follow-up'; deploymentId: string; phaseId: string }
  | EscalationTimer;

function timerJobId(job: TimerJob): string {
  switch (job.kind) {
    case 'wait':
      return `${job.deploymentId}.wait.${job.itemId}.${job.run}`;
    case 'follow-up':
      return `${job.deploymentId}.follow-up.${job.phaseId}`;
    case 'escalate':
      return escalationJobId(job.deploymentId, job.key, job.chain, job.level, job.startedAt);
  }
}

const timer = (data: TimerJob, at: number): PlannedJob<TimerJob> => ({ name: data.kind, data, at });

export class TimerQueue extends JobQueue<TimerJob> {
  protected readonly couldNotAdd = 'could not set timer';

  constructor(options: JobQueueOptions) {
    super(TIMERS_QUEUE, options, {
      attempts: 5,
      backoff: { type: 'exponential', delay: 1_000 },
      removeOnComplete: { count: 1_000 },
      removeOnFail: { age: 24 * 3_600 },
    });
  }

  protected jobId(job: TimerJob): string {
    return timerJobId(job);
  }

  protected jobsForChange(change: Change): Array<PlannedJob<TimerJob>> {
    const deploymentId = change.deployment.id;
    const jobs = change.events.flatMap((event) => {
      if (event.type === 'wait.started')
        return [timer({ kind: 'wait', deploymentId, itemId: event.itemId, run: event.run }, event.until)];
      if (event.type === 'phase.scheduled')
        return [timer({ kind: 'follow-up', deploymentId, phaseId: event.phaseId }, event.dueAt)];
      return [];
    });
    return [...jobs, ...escalationTimersFor(change).map((next) => timer(next.job, next.at))];
  }

  override onChange(change: Change): void {
    super.onChange(change);
    // A chain that is over: its remaining levels need not wait in Redis (the engine would ignore them).
    for (const jobId of endedEscalationTimers(change)) void this.queue.remove(jobId).catch(() => 0);
  }

  /** Sets one timer, to fire at `at`. */
  set(job: TimerJob, at: number): Promise<void> {
    return this.add([timer(job, at)]);
  }

  /**
   * Every running watch window and climbing escalation chain has its timer. A process that died between
   * committing a change and setting the timer it called for (they are not one write) would otherwise leave
   * the chain or phase stuck.
   */
  protected jobsForDeployment(
    { state, checklist }: LoadedDeployment,
    round: SweepRound,
  ): Array<PlannedJob<TimerJob>> {
    const scale = state.timeScale ?? 1;
    const jobs: Array<PlannedJob<TimerJob>> = [];
    for (const phase of walkedPhases(checklist)) {
      for (const item of phase.items) {
        const running = state.items[item.id];
        if (item.kind !== 'wait' || running?.status !== 'running' || !running.run) continue;
        const until = (running.at ?? round.now) + Math.round(item.wait.duration * scale);
        jobs.push(timer({ kind: 'wait', deploymentId: state.id, itemId: item.id, run: running.run }, until));
      }
    }
    return [...jobs, ...escalationTimersOf(state).map((next) => timer(next.job, next.at))];
  }

  /** Completed deployments keep their follow-ups too: the round lists every one still to open. */
  override async reconcile(round: SweepRound): Promise<number> {
    const asked = await super.reconcile(round);
    const followUps = round.followUpsDue.map((due) =>
      timer({ kind: 'follow-up', deploymentId: due.deploymentId, phaseId: due.phaseId }, due.dueAt),
    );
    if (followUps.length > 0) await this.add(followUps);
    return asked + followUps.length;
  }
}

export interface TimerWorkerOptions extends JobWorkerOptions {
  deployments: DeploymentService;
  /** Where the next escalation level is set before this one's job completes (see process()). */
  timers?: TimerQueue;
}

/** Fires timers: each becomes a command through the engine, which ignores the ones no longer current. */
export class TimerWorker extends JobWorker<TimerJob> {
  private readonly logger: Logger;

  constructor(private readonly options: TimerWorkerOptions) {
    super(TIMERS_QUEUE, options, { concurrency: 8 });
    this.logger = options.logger;
  }

  protected async process(job: Job<TimerJob>): Promise<void> {
    const timer = job.data;
    const at = this.now();
    const command =
      timer.kind === 'wait'
        ? ({ type: 'wait-elapsed', itemId: timer.itemId, run: timer.run, at } as const)
        : timer.kind === 'follow-up'
          ? ({ type: 'open-follow-up', phaseId: timer.phaseId, at } as const)
          : ({
              type: 'escalate',
              key: timer.key,
              chain: timer.chain,
              level: timer.level,
              ...(timer.startedAt !== undefined ? { startedAt: timer.startedAt } : {}),
              at,
            } as const);
    const { deployments, timers } = this.options;
    const outcome = await deployments.execute(timer.deploymentId, command);
    if (!outcome.ok && outcome.code !== 'unchanged' && outcome.code !== 'not_active') {
      this.logger.warn({ ...timer, code: outcome.code }, 'timer not applied');
    }
    if (timer.kind === 'escalate' && timers) {
      // The change's listeners set the next level too, but without waiting; setting it here before the
      // job completes means a worker that dies now leaves this job to be retried, and the retry (which
      // the engine answers "unchanged") still sets it. Same job id, so it is set once either way.
      const loaded = await deployments.load(timer.deploymentId);
      const next = loaded && nextEscalationTimer(loaded.state, timer.key);
      if (next && next.job.chain === timer.chain) await timers.set(next.job, next.at);
    }
  }
}
