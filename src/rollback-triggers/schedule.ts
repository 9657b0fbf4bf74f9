import { type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CheckContext } from '../checks/types.js';
import { BOT_ACTOR, type Deployment, isRollingBack, isTerminal } from '../deployments/model.js';
import type { Catalogue, Change, ChangeListener, DeploymentService } from '../deployments/service.js';
import type { DeploymentStore } from '../deployments/store.js';
import type { Logger } from '../observability/logger.js';
import { serializeError } from '../observability/logger.js';
import { queueErrorListener } from '../redis/job-queue.js';
import { evaluateTrigger, evaluationInterval, triggerWindow } from './evaluate.js';

/**
 * Rollback triggers, evaluated on a schedule while new code takes traffic: one BullMQ job scheduler per
 * deployment (its id names the deployment, so however many bots and workers run, each evaluation happens
 * once), started when the guards are armed and removed when nothing new takes traffic any more: rolled
 * back, aborted, superseded by a later deployment, or completed and past `watch_after_completion`. A
 * trigger that holds for its whole window rolls back (`auto: true`, through the engine, which accepts one
 * rollback, after completion too) or is reported once with a Roll back now button.
 */

export const GUARDS_QUEUE = 'guards';

export interface GuardJob {
  deploymentId: string;
}

export function guardSchedulerId(deploymentId: string): string {
  return `guard.${deploymentId}`;
}

export class GuardQueue implements ChangeListener {
  readonly queue: Queue<GuardJob>;

  constructor(
    private readonly connection: Redis,
    prefix: string,
    private readonly logger: Logger,
  ) {
    this.queue = new Queue<GuardJob>(GUARDS_QUEUE, {
      connection,
      prefix,
      defaultJobOptions: { attempts: 1, removeOnComplete: { count: 200 }, removeOnFail: { count: 200 } },
    });
    this.queue.on('error', queueErrorListener(logger, 'guards queue error'));
  }

  onChange(change: Change): void {
    const { deployment, checklist } = change;
    for (const event of change.events) {
      if (event.type === 'guards.armed' && (checklist.rollback?.triggers.length ?? 0) > 0) {
        void this.start(deployment.id, evaluationInterval(checklist, deployment.timeScale));
      }
    }
    if (deployment.guardsArmedAt !== undefined && !stillWatched(deployment, Date.now()))
      void this.stop(deployment.id);
  }

  async start(deploymentId: string, everyMs: number): Promise<void> {
    try {
      await this.queue.upsertJobScheduler(
        guardSchedulerId(deploymentId),
        { every: everyMs },
        { name: 'evaluate', data: { deploymentId } },
      );
    } catch (error) {
      this.logger.error({ deploymentId, err: serializeError(error) }, 'could not schedule rollback triggers');
    }
  }

  async stop(deploymentId: string): Promise<void> {
    await this.queue.removeJobScheduler(guardSchedulerId(deploymentId)).catch((error: unknown) => {
      this.logger.warn({ deploymentId, err: serializeError(error) }, 'could not remove trigger schedule');
    });
  }

  /** After a restart: armed deployments, and completed ones still watched, have their schedule. */
  async reconcile(store: DeploymentStore): Promise<void> {
    const now = Date.now();
    const watched = (await store.watching()).filter((entry) => entry.until > now).map((entry) => entry.id);
    for (const id of new Set([...(await store.activeIds()), ...watched])) {
      const loaded = await store.load(id);
      if (
        loaded?.state.guardsArmedAt !== undefined &&
        stillWatched(loaded.state, now) &&
        (loaded.checklist.rollback?.triggers.length ?? 0) > 0
      ) {
        await this.start(id, evaluationInterval(loaded.checklist, loaded.state.timeScale));
      }
    }
  }

  async close(): Promise<void> {
    await this.queue.close();
    await this.connection.quit().catch(() => this.connection.disconnect());
  }
}

export interface GuardWorkerOptions {
  connection: Redis;
  prefix: string;
  store: DeploymentStore;
  deployments: DeploymentService;
  catalogue: Catalogue;
  queue: GuardQueue;
  logger: Logger;
  timeoutMs?: number;
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

export class GuardWorker {
  readonly worker: Worker<GuardJob>;

  constructor(private readonly options: GuardWorkerOptions) {
    this.worker = new Worker<GuardJob>(GUARDS_QUEUE, (job) => this.evaluate(job), {
      connection: options.connection,
      prefix: options.prefix,
      concurrency: 8,
    });
    this.worker.on('error', queueErrorListener(options.logger, 'guard worker error'));
  }

  private async evaluate(job: Job<GuardJob>): Promise<void> {
    const { store, deployments, catalogue, logger } = this.options;
    const { deploymentId } = job.data;
    const loaded = await store.load(deploymentId);
    if (!loaded || !stillWatched(loaded.state, Date.now())) {
      await this.options.queue.stop(deploymentId);
      // A completed deployment's watch ran out: say so (its card stops saying the triggers watch).
      if (loaded?.state.watchUntil !== undefined && !loaded.state.supersededBy)
        await deployments.execute(deploymentId, { type: 'end-watch', at: Date.now() });
      return;
    }
    const { state, checklist } = loaded;
    const armedAt = state.guardsArmedAt;
    if (armedAt === undefined || isRollingBack(state)) return;
    const service = catalogue.services[state.service];
    const breaches = await store.guardBreaches(deploymentId);
    const now = Date.now();
    for (const trigger of checklist.rollback?.triggers ?? []) {
      const context: CheckContext = {
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
        namespace: service?.namespace ?? 'default',
        ...(service?.prometheus_url ? { prometheusUrl: service.prometheus_url } : {}),
        now: () => now,
      };
      // Judged over its window scaled like the watch windows it guards (see triggerWindow).
      const window = triggerWindow(trigger, checklist, state.timeScale);
      const verdict = await evaluateTrigger({ ...trigger, for: window }, context, {
        breachSince: breaches[trigger.id],
      });
      if (verdict.breachSince !== breaches[trigger.id])
        await store.setGuardBreach(deploymentId, trigger.id, verdict.breachSince);
      if (verdict.unevaluated)
        logger.warn(
          { deploymentId, trigger: trigger.id, measured: verdict.measured },
          'rollback trigger not evaluated',
        );
      // Only a window spent entirely under the new code counts.
      const firing = verdict.firing && now - armedAt >= window;
      if (firing && trigger.auto) {
        const outcome = await deployments.execute(deploymentId, {
          type: 'request-rollback',
          actor: BOT_ACTOR,
          actorRoles: [],
          reason: `${trigger.title} (automatic rollback)`,
          trigger: { id: trigger.id, title: trigger.title, measured: verdict.measured },
          at: now,
        });
        if (outcome.ok)
          logger.warn(
            { deploymentId, trigger: trigger.id, measured: verdict.measured },
            'rollback trigger fired: rolling back',
          );
        return; // one rollback is enough; the next evaluation sees it in progress
      }
      if (firing) {
        await deployments.execute(deploymentId, {
          type: 'guard-fired',
          triggerId: trigger.id,
          measured: verdict.measured,
          at: now,
        });
      } else if (state.firedGuards?.[trigger.id] !== undefined && !verdict.unevaluated) {
        await deployments.execute(deploymentId, { type: 'guard-cleared', triggerId: trigger.id, at: now });
      }
    }
  }

  async close(): Promise<void> {
    await this.worker.close();
    await this.options.connection.quit().catch(() => this.options.connection.disconnect());
  }
}
