import { type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { walkedPhases } from '../checklists/schema.js';
import type { Logger } from '../observability/logger.js';
import { serializeError } from '../observability/logger.js';
import { queueErrorListener } from '../redis/job-queue.js';
import type { Deployment } from './model.js';
import type { Change, ChangeListener, DeploymentService } from './service.js';
import type { DeploymentStore } from './store.js';

/**
 * Timers as BullMQ delayed jobs, so they survive restarts of bots and workers: a watch window's end, a
 * follow-up phase coming due, an escalation level. The job id names what it is for (deployment, item or
 * phase or cause, run or chain and level), so a timer is set once however many processes see the change,
 * and a timer that fires for something no longer current changes nothing (the engine checks).
 */

export const TIMERS_QUEUE = 'timers';

export type TimerJob =
  | { kind: 'wait'; deploymentId: string; itemId: string; run: number }
  /** A follow-up phase is due. */
  | { kind: 'follow-up'; deploymentId: string; phaseId: string }
  /** An escalation level is due, counted from the chain's start (`startedAt`, moved on by a pause). */
  | {
      kind: 'escalate';
      deploymentId: string;
      key: string;
      chain: number;
      level: number;
      startedAt?: number;
    };

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

/**
 * Cause keys have ':' (`phase:<id>`), which BullMQ job ids may not contain. The chain's start is part of
 * the id: after a pause moves it on, the level gets a new timer instead of the one already spent.
 */
export function escalationJobId(
  deploymentId: string,
  key: string,
  chain: number,
  level: number,
  startedAt?: number,
): string {
  const from = startedAt === undefined ? '' : `.${startedAt}`;
  return `${deploymentId}.escalate.${key.replaceAll(':', '~')}.${chain}.${level}${from}`;
}

/** The timer a running chain needs next (the level after the one it is at), if it still climbs. */
export function nextEscalationTimer(
  deployment: Deployment,
  key: string,
): { job: TimerJob; at: number } | undefined {
  const escalation = deployment.escalations?.[key];
  if (!escalation || escalation.resolvedAt !== undefined || escalation.acknowledgedBy) return undefined;
  // Held while paused: resume sets it again.
  if (deployment.status === 'paused') return undefined;
  const next = deployment.escalationLevels?.[escalation.level];
  if (!next) return undefined;
  return {
    job: {
      kind: 'escalate',
      deploymentId: deployment.id,
      key,
      chain: escalation.chain,
      level: escalation.level + 1,
      startedAt: escalation.startedAt,
    },
    // As the engine times them: every level from the chain's start, unscaled.
    at: escalation.startedAt + next.after,
  };
}

export class TimerQueue implements ChangeListener {
  readonly queue: Queue<TimerJob>;

  constructor(
    private readonly connection: Redis,
    prefix: string,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.queue = new Queue<TimerJob>(TIMERS_QUEUE, {
      connection,
      prefix,
      defaultJobOptions: {
        attempts: 5,
        backoff: { type: 'exponential', delay: 1_000 },
        removeOnComplete: { count: 1_000 },
        removeOnFail: { age: 24 * 3_600 },
      },
    });
    this.queue.on('error', queueErrorListener(logger, 'timers queue error'));
  }

  onChange(change: Change): void {
    const deploymentId = change.deployment.id;
    for (const event of change.events) {
      switch (event.type) {
        case 'wait.started':
          void this.set({ kind: 'wait', deploymentId, itemId: event.itemId, run: event.run }, event.until);
          break;
        case 'phase.scheduled':
          void this.set({ kind: 'follow-up', deploymentId, phaseId: event.phaseId }, event.dueAt);
          break;
        case 'escalation.started':
          void this.set(
            {
              kind: 'escalate',
              deploymentId,
              key: event.key,
              chain: event.chain,
              level: 1,
              startedAt: event.startedAt,
            },
            event.firstAt,
          );
          break;
        case 'escalation.level':
        case 'escalation.resumed': {
          const next = nextEscalationTimer(change.deployment, event.key);
          if (next && next.job.kind === 'escalate' && next.job.chain === event.chain)
            void this.set(next.job, next.at);
          break;
        }
        case 'escalation.acknowledged':
        case 'escalation.resolved':
          // The chain is over: its remaining levels need not wait in Redis (the engine would ignore them).
          void this.cancelEscalation(
            deploymentId,
            event.key,
            event.chain,
            change.deployment.escalationLevels?.length ?? 0,
            change.deployment.escalations?.[event.key]?.startedAt,
          );
          break;
      }
    }
  }

  private async cancelEscalation(
    deploymentId: string,
    key: string,
    chain: number,
    levels: number,
    startedAt: number | undefined,
  ): Promise<void> {
    for (let level = 1; level <= levels; level++) {
      await this.queue.remove(escalationJobId(deploymentId, key, chain, level, startedAt)).catch(() => 0);
    }
  }

  async set(job: TimerJob, at: number): Promise<void> {
    try {
      await this.queue.add(job.kind, job, {
        jobId: timerJobId(job),
        delay: Math.max(0, at - this.now()),
      });
    } catch (error) {
      // The watch window stays open; reconcile() sets the timer again on the next start.
      this.logger.error({ ...job, err: serializeError(error) }, 'could not set timer');
    }
  }

  /**
   * After a restart: every running watch window, climbing escalation chain and scheduled follow-up has
   * its timer (a no-op where it exists). A process that died between committing a change and setting the
   * timer it called for (they are not one write) would otherwise leave the chain or phase stuck.
   */
  async reconcile(store: DeploymentStore): Promise<void> {
    for (const id of await store.activeIds()) {
      const loaded = await store.load(id);
      if (!loaded) continue;
      const scale = loaded.state.timeScale ?? 1;
      for (const phase of walkedPhases(loaded.checklist)) {
        for (const item of phase.items) {
          const state = loaded.state.items[item.id];
          if (item.kind !== 'wait' || state?.status !== 'running' || !state.run) continue;
          const until = (state.at ?? this.now()) + Math.round(item.wait.duration * scale);
          await this.set({ kind: 'wait', deploymentId: id, itemId: item.id, run: state.run }, until);
        }
      }
      for (const key of Object.keys(loaded.state.escalations ?? {})) {
        const next = nextEscalationTimer(loaded.state, key);
        if (next) await this.set(next.job, next.at);
      }
    }
    // Completed deployments keep their follow-ups: the index lists every one still to open.
    for (const due of await store.followUpsDue(10_000)) {
      await this.set({ kind: 'follow-up', deploymentId: due.deploymentId, phaseId: due.phaseId }, due.dueAt);
    }
  }

  async close(): Promise<void> {
    await this.queue.close();
    await this.connection.quit().catch(() => this.connection.disconnect());
  }
}

/** Fires timers: each becomes a command through the engine, which ignores the ones no longer current. */
export class TimerWorker {
  readonly worker: Worker<TimerJob>;

  constructor(
    private readonly connection: Redis,
    prefix: string,
    private readonly deployments: DeploymentService,
    private readonly logger: Logger,
    /** Where the next escalation level is set before this one's job completes (see fire()). */
    private readonly timers?: TimerQueue,
  ) {
    this.worker = new Worker<TimerJob>(TIMERS_QUEUE, (job) => this.fire(job), {
      connection,
      prefix,
      concurrency: 8,
    });
    this.worker.on('error', queueErrorListener(logger, 'timer worker error'));
  }

  private async fire(job: Job<TimerJob>): Promise<void> {
    const timer = job.data;
    const at = Date.now();
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
    const outcome = await this.deployments.execute(timer.deploymentId, command);
    if (!outcome.ok && outcome.code !== 'unchanged' && outcome.code !== 'not_active') {
      this.logger.warn({ ...timer, code: outcome.code }, 'timer not applied');
    }
    if (timer.kind === 'escalate' && this.timers) {
      // The change's listeners set the next level too, but without waiting; setting it here before the
      // job completes means a worker that dies now leaves this job to be retried, and the retry (which
      // the engine answers "unchanged") still sets it. Same job id, so it is set once either way.
      const loaded = await this.deployments.load(timer.deploymentId);
      const next = loaded && nextEscalationTimer(loaded.state, timer.key);
      if (next && next.job.kind === 'escalate' && next.job.chain === timer.chain)
        await this.timers.set(next.job, next.at);
    }
  }

  async close(): Promise<void> {
    await this.worker.close();
    await this.connection.quit().catch(() => this.connection.disconnect());
  }
}
