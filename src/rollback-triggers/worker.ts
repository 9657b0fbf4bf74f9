import { setMaxListeners } from 'node:events';
import type { Job } from 'bullmq';
import type { CheckModules, RunOptions } from '../checks/runner.js';
import { runCheck } from '../checks/runner.js';
import { BOT_ACTOR, isRollingBack } from '../deployments/model.js';
import type { Catalogue, DeploymentService } from '../deployments/service.js';
import type { DeploymentStore } from '../deployments/store.js';
import { JobWorker, type JobWorkerOptions } from '../redis/job-queue.js';
import { evaluateTrigger, type RunCondition, triggerWindow } from './evaluate.js';
import {
  ROLLBACK_TRIGGERS_QUEUE,
  type RollbackTriggerJob,
  type RollbackTriggerQueue,
  stillWatched,
} from './queue.js';

/**
 * Evaluates a deployment's rollback triggers each time its schedule fires (queue.ts). A trigger that holds
 * for its whole window rolls back (`auto: true`, through the engine, which accepts one rollback, after
 * completion too) or is reported once with a Roll back now button; one that recovers is cleared.
 */

export interface RollbackTriggerWorkerOptions extends JobWorkerOptions {
  store: DeploymentStore;
  deployments: DeploymentService;
  catalogue: Catalogue;
  /** Removes the schedule once nothing new takes traffic. */
  queue: RollbackTriggerQueue;
  /** The check registry conditions run through, as checks do (checks/index.ts). */
  modules: CheckModules;
  /** Per attempt, when a condition sets no `timeout`; default 10 s. */
  timeoutMs?: number;
  run?: RunOptions;
}

export class RollbackTriggerWorker extends JobWorker<RollbackTriggerJob> {
  private readonly shutdown = new AbortController();

  constructor(private readonly options: RollbackTriggerWorkerOptions) {
    super(ROLLBACK_TRIGGERS_QUEUE, options, { concurrency: 8 });
    setMaxListeners(0, this.shutdown.signal);
  }

  protected async process(job: Job<RollbackTriggerJob>): Promise<void> {
    const { store, deployments, catalogue, logger } = this.options;
    const { deploymentId } = job.data;
    const loaded = await store.load(deploymentId);
    if (!loaded || !stillWatched(loaded.state, this.now())) {
      await this.options.queue.stop(deploymentId);
      // A completed deployment's watch ran out: say so (its card stops saying the triggers watch).
      if (loaded?.state.watchUntil !== undefined && !loaded.state.supersededBy)
        await deployments.execute(deploymentId, { type: 'end-watch', at: this.now() });
      return;
    }
    const { state, checklist } = loaded;
    const armedAt = state.guardsArmedAt;
    if (armedAt === undefined || isRollingBack(state)) return;
    const service = catalogue.services[state.service];
    const breaches = await store.triggerBreaches(deploymentId);
    const now = this.now();
    const run: RunCondition = (spec) =>
      runCheck(
        this.options.modules,
        spec,
        {
          namespace: service?.namespace ?? 'default',
          ...(service?.prometheus_url ? { prometheusUrl: service.prometheus_url } : {}),
          now: () => now,
        },
        {
          defaultTimeoutMs: this.options.timeoutMs ?? 10_000,
          // Not retried within one evaluation unless the condition asks (`retries:`): the next evaluation,
          // `evaluate_every` later, is the retry, and retrying here would hold up the triggers after it.
          defaultRetries: 0,
          now: this.now,
          ...this.options.run,
          signal: this.shutdown.signal,
        },
      );
    for (const trigger of checklist.rollback?.triggers ?? []) {
      // Judged over its window scaled like the watch windows it covers (see triggerWindow).
      const window = triggerWindow(trigger, checklist, state.timeScale);
      const verdict = await evaluateTrigger({ ...trigger, for: window }, run, now, {
        breachSince: breaches[trigger.id],
      });
      if (this.shutdown.signal.aborted) return; // cancelled mid-evaluation: the next one judges it
      if (verdict.breachSince !== breaches[trigger.id])
        await store.setTriggerBreach(deploymentId, trigger.id, verdict.breachSince);
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

  /** Stop taking evaluations; one under way is cancelled after `graceMs` (the schedule runs it again). */
  override async close(graceMs = 5_000): Promise<void> {
    const timer = setTimeout(() => this.shutdown.abort(), graceMs);
    try {
      await super.close();
    } finally {
      clearTimeout(timer);
    }
  }
}
