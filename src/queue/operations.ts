import { type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { OperationOutcome } from '../deployments/engine.js';
import type { Deployment, TrafficState } from '../deployments/model.js';
import type { Catalogue, Change, ChangeListener, DeploymentService } from '../deployments/service.js';
import type { DeploymentStore } from '../deployments/store.js';
import type { KubeClients } from '../kube/client.js';
import type { Logger } from '../observability/logger.js';
import { serializeError } from '../observability/logger.js';
import { createStrategy, TrafficError, type TrafficOptions } from '../traffic/index.js';
import { queueErrorListener } from './connection.js';

/**
 * Traffic shifts and rollbacks on the cluster: the engine decides (one numbered operation at a time), a
 * job per operation carries it out through the service's traffic strategy, and the read-back result goes
 * back through the engine. The job id names the deployment and operation run, so it runs once.
 */

export const OPERATIONS_QUEUE = 'operations';

export interface OperationJob {
  deploymentId: string;
  run: number;
  kind: 'traffic' | 'rollback';
}

export class OperationQueue implements ChangeListener {
  readonly queue: Queue<OperationJob>;

  constructor(
    private readonly connection: Redis,
    prefix: string,
    private readonly logger: Logger,
  ) {
    this.queue = new Queue<OperationJob>(OPERATIONS_QUEUE, {
      connection,
      prefix,
      defaultJobOptions: {
        // The strategy retries 409s itself; job attempts cover a worker or Redis failing mid-way.
        attempts: 3,
        backoff: { type: 'exponential', delay: 500 },
        removeOnComplete: { count: 1_000 },
        removeOnFail: { age: 24 * 3_600 },
      },
    });
    this.queue.on('error', queueErrorListener(logger, 'operations queue error'));
  }

  onChange(change: Change): void {
    for (const event of change.events) {
      if (event.type === 'traffic.requested' || event.type === 'rollback.requested') {
        const kind = event.type === 'traffic.requested' ? 'traffic' : 'rollback';
        void this.request({ deploymentId: change.deployment.id, run: event.run, kind });
      }
    }
  }

  async request(job: OperationJob): Promise<void> {
    try {
      await this.queue.add(job.kind, job, { jobId: `${job.deploymentId}.op.${job.run}` });
    } catch (error) {
      this.logger.error({ ...job, err: serializeError(error) }, 'could not enqueue traffic operation');
    }
  }

  /** After a restart: an operation the store says is in flight has its job (a no-op where it exists). */
  async reconcile(store: DeploymentStore): Promise<void> {
    for (const id of await store.activeIds()) {
      const operation = (await store.load(id))?.state.operation;
      if (operation) await this.request({ deploymentId: id, run: operation.run, kind: operation.kind });
    }
  }

  async close(): Promise<void> {
    await this.queue.close();
    await this.connection.quit().catch(() => this.connection.disconnect());
  }
}

export interface OperationWorkerOptions {
  connection: Redis;
  prefix: string;
  store: DeploymentStore;
  deployments: DeploymentService;
  catalogue: Catalogue;
  kube: () => Promise<KubeClients>;
  logger: Logger;
  traffic?: TrafficOptions;
  /** The clock a result is stamped with (tests pin it); Date.now by default. */
  now?: () => number;
}

export class OperationWorker {
  readonly worker: Worker<OperationJob>;

  constructor(private readonly options: OperationWorkerOptions) {
    this.worker = new Worker<OperationJob>(OPERATIONS_QUEUE, (job) => this.perform(job), {
      connection: options.connection,
      prefix: options.prefix,
      concurrency: 8,
    });
    this.worker.on('error', queueErrorListener(options.logger, 'operation worker error'));
  }

  private async perform(job: Job<OperationJob>): Promise<void> {
    const { store, deployments, logger } = this.options;
    const { deploymentId, run, kind } = job.data;
    const loaded = await store.load(deploymentId);
    const operation = loaded?.state.operation;
    if (!loaded || operation?.run !== run || operation.kind !== kind) return; // superseded or done
    const outcome = await this.carryOut(loaded.state, kind);
    const now = (this.options.now ?? Date.now)();
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
        `${kind} failed`,
      );
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

  async close(): Promise<void> {
    await this.worker.close();
    await this.options.connection.quit().catch(() => this.options.connection.disconnect());
  }
}
