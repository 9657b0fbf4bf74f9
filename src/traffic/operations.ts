import type { Job } from 'bullmq';
import { isUnknownOutcome, type OperationOutcome, withoutTemplate } from '../deployments/engine.js';
import {
  type Deployment,
  isTerminal,
  type Operation,
  type OutcomeUnknown,
  type TrafficState,
} from '../deployments/model.js';
import type { Catalogue, Change, DeploymentService } from '../deployments/service.js';
import type { DeploymentStore, LoadedDeployment } from '../deployments/store.js';
import type { KubeClients } from '../kube/client.js';
import {
  JobQueue,
  type JobQueueOptions,
  JobWorker,
  type JobWorkerOptions,
  type PlannedJob,
} from '../redis/job-queue.js';
import {
  createStrategy,
  DEFAULT_TRAFFIC_OPTIONS,
  showsTarget,
  TrafficError,
  type TrafficOptions,
  type TrafficStrategy,
} from './index.js';

/**
 * Traffic shifts and rollbacks on the cluster: the engine decides (one numbered operation at a time), a
 * job per operation carries it out through the service's traffic strategy, and the read-back result goes
 * back through the engine. The job id names the deployment and operation run, so it runs once.
 *
 * When a write's outcome is unknown (it may have been applied, and nothing could be read since), the
 * write is never sent again: delayed jobs read the cluster, 1 s, 2 s, 4 s … apart (at most 30 s), until
 * a read shows whether the operation took. They are BullMQ jobs, so the reading goes on after a restart.
 */

export const OPERATIONS_QUEUE = 'operations';

export interface OperationJob {
  deploymentId: string;
  run: number;
  kind: 'traffic' | 'rollback';
  /** Set on a job that only reads, after the outcome went unknown: which read of this run it is. */
  reread?: number;
}

function operationJobId(job: OperationJob): string {
  return job.reread === undefined
    ? `${job.deploymentId}.op.${job.run}`
    : `${job.deploymentId}.reread.${job.run}.${job.reread}`;
}

const operation = (data: OperationJob, at?: number): PlannedJob<OperationJob> => ({
  name: data.reread === undefined ? data.kind : 'reread',
  data,
  ...(at !== undefined ? { at } : {}),
});

export class OperationQueue extends JobQueue<OperationJob> {
  protected readonly couldNotAdd = 'could not enqueue traffic operation';

  constructor(options: JobQueueOptions) {
    super(OPERATIONS_QUEUE, options, {
      // The strategy retries 409s itself; job attempts cover a worker or Redis failing mid-way.
      attempts: 3,
      backoff: { type: 'exponential', delay: 500 },
      removeOnComplete: { count: 1_000 },
      removeOnFail: { age: 24 * 3_600 },
    });
  }

  protected jobId(job: OperationJob): string {
    return operationJobId(job);
  }

  protected jobsForChange(change: Change): Array<PlannedJob<OperationJob>> {
    const deploymentId = change.deployment.id;
    return change.events.flatMap((event) => {
      if (event.type === 'traffic.requested' || event.type === 'rollback.requested') {
        const kind = event.type === 'traffic.requested' ? 'traffic' : 'rollback';
        return [operation({ deploymentId, run: event.run, kind })];
      }
      if (event.type === 'traffic.unknown' || event.type === 'rollback.unknown') {
        const kind = event.type === 'traffic.unknown' ? 'traffic' : 'rollback';
        return [operation({ deploymentId, run: event.run, kind, reread: event.reads + 1 }, event.nextAt)];
      }
      return [];
    });
  }

  /** An operation in flight has its job, or its next read when its outcome is unknown. */
  protected jobsForDeployment({ state }: LoadedDeployment): Array<PlannedJob<OperationJob>> {
    const inFlight = state.operation;
    if (!inFlight) return [];
    const job = { deploymentId: state.id, run: inFlight.run, kind: inFlight.kind };
    const uncertain = inFlight.uncertain;
    return [
      uncertain ? operation({ ...job, reread: uncertain.reads + 1 }, uncertain.nextAt) : operation(job),
    ];
  }
}

export interface OperationWorkerOptions extends JobWorkerOptions {
  store: DeploymentStore;
  deployments: DeploymentService;
  catalogue: Catalogue;
  kube: () => Promise<KubeClients>;
  traffic?: TrafficOptions;
}

export class OperationWorker extends JobWorker<OperationJob> {
  constructor(private readonly options: OperationWorkerOptions) {
    super(OPERATIONS_QUEUE, options, { concurrency: 8 });
  }

  protected async process(job: Job<OperationJob>): Promise<void> {
    const { store, deployments, logger } = this.options;
    const { deploymentId, run, kind, reread } = job.data;
    const loaded = await store.load(deploymentId);
    const operation = loaded?.state.operation;
    if (!loaded || operation?.run !== run || operation.kind !== kind) return; // superseded or done
    const uncertain = operation.uncertain;
    let outcome: OperationOutcome;
    if (reread === undefined) {
      // Its write went out once and may have landed: only reads follow (a retried job must not write again).
      if (uncertain) return;
      outcome = await this.carryOut(loaded.state, kind);
    } else {
      // Settled, or read by a duplicate of this job. An ended deployment is still told where traffic is
      // when it was aborted with a shift in doubt (the engine records that read and nothing else).
      if (uncertain?.reads !== reread - 1) return;
      if (isTerminal(loaded.state) && !(loaded.state.status === 'aborted' && kind === 'traffic')) return;
      outcome = await this.readAgain(loaded.state, operation, uncertain);
    }
    const now = this.now();
    const result = await deployments.execute(
      deploymentId,
      kind === 'traffic'
        ? { type: 'traffic-result', run, at: now, outcome }
        : { type: 'rollback-result', run, at: now, outcome },
    );
    if (!result.ok && result.code !== 'unchanged')
      logger.warn({ deploymentId, run, kind, code: result.code }, 'operation result not recorded');
    if (!outcome.ok)
      logger.warn(
        { deploymentId, run, kind, code: outcome.code, message: outcome.message },
        isUnknownOutcome(outcome) ? `${kind} outcome unknown; reading again` : `${kind} failed`,
      );
  }

  /** When to read again after `reads` failed reads: 1 s, 2 s, 4 s … at most 30 s (by default). */
  private rereadAt(reads: number): number {
    const first = this.options.traffic?.rereadMs ?? DEFAULT_TRAFFIC_OPTIONS.rereadMs;
    const most = this.options.traffic?.rereadMaxMs ?? DEFAULT_TRAFFIC_OPTIONS.rereadMaxMs;
    return this.now() + Math.min(most, first * 2 ** (reads - 1));
  }

  /**
   * One read of the cluster after a write whose outcome is unknown: it shows the target (done — a
   * rollback is then verified as a retry would, which writes nothing since it is there), or something
   * else (not applied: this read is what serves users), or it fails too (still unknown).
   */
  private async readAgain(
    state: Deployment,
    operation: Operation,
    uncertain: OutcomeUnknown,
  ): Promise<OperationOutcome> {
    const service = this.options.catalogue.services[state.service];
    const wanted = operation.kind === 'traffic' ? operation.target : operation.to;
    // Only a strategy's write can be uncertain, and it had a target.
    if (!service?.traffic || !wanted)
      return { ok: false, code: 'invalid', message: `${state.service} has no traffic strategy to read` };
    const signal = AbortSignal.timeout(15 * 60_000);
    let strategy: TrafficStrategy;
    let live: TrafficState;
    try {
      strategy = createStrategy(
        service.traffic,
        await this.options.kube(),
        { namespace: service.namespace },
        this.options.traffic,
      );
      live = await strategy.live(signal);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { ok: false, code: 'unknown', message, rereadAt: this.rereadAt(uncertain.reads + 1) };
    }
    const read = withoutTemplate(live);
    if (!showsTarget(live, wanted))
      return {
        ok: false,
        code: 'not_applied',
        message: `not applied: a read-back shows ${read.description}`,
        state: read,
      };
    // What Flightdeck last read before this operation: the write that went unanswered came after it.
    const before = state.traffic?.current ?? read;
    if (operation.kind === 'traffic')
      return { ok: true, before, after: read, attempts: 1, durationMs: this.now() - operation.requestedAt };
    try {
      const change = await strategy.rollback(signal, { to: wanted, key: state.id });
      return { ...change, ok: true, before, attempts: 1 + change.attempts };
    } catch (error) {
      return this.failure(error, uncertain.reads + 1);
    }
  }

  private async carryOut(state: Deployment, kind: OperationJob['kind']): Promise<OperationOutcome> {
    const service = this.options.catalogue.services[state.service];
    const config = service?.traffic;
    if (!config) {
      if (kind === 'traffic') {
        return {
          ok: false,
          code: 'invalid',
          message: `${state.service} has no traffic strategy in flightdeck.yaml; shift by hand.`,
        };
      }
      // Nothing Flightdeck can switch back: the rollback is the team's, guided by the rollback steps.
      const manual: TrafficState = { description: 'no traffic strategy configured: rolled back by hand' };
      return {
        ok: true,
        before: state.traffic?.current ?? manual,
        after: manual,
        attempts: 0,
        durationMs: 0,
      };
    }
    try {
      const strategy = createStrategy(
        config,
        await this.options.kube(),
        { namespace: service.namespace },
        this.options.traffic,
      );
      const signal = AbortSignal.timeout(15 * 60_000);
      if (kind === 'traffic') {
        const target = state.operation?.target;
        if (!target) return { ok: false, code: 'invalid', message: 'no traffic target' };
        const change = await strategy.shift(target, signal);
        return { ok: true, ...change };
      }
      // Back to what was live when this deployment started, as the engine recorded it; the key makes a
      // retry of this deployment's rollback finish the same rollback rather than undo it.
      const to = state.operation?.to;
      if (!to)
        return {
          ok: false,
          code: 'invalid',
          message: `no record of what was live when ${state.service} ${state.version} started: roll back by hand`,
        };
      const change = await strategy.rollback(signal, { to, key: state.id });
      return { ok: true, ...change };
    } catch (error) {
      return this.failure(error, 1);
    }
  }

  /** A strategy's error as an outcome; `reads` counts the failed reads should its outcome be unknown. */
  private failure(error: unknown, reads: number): OperationOutcome {
    if (error instanceof TrafficError && error.code === 'unknown')
      return { ok: false, code: 'unknown', message: error.message, rereadAt: this.rereadAt(reads) };
    if (error instanceof TrafficError) {
      return {
        ok: false,
        code: error.code,
        message: error.message,
        ...(error.state ? { state: error.state } : {}),
      };
    }
    return { ok: false, code: 'unavailable', message: (error as Error).message };
  }
}
