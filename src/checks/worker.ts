import { setMaxListeners } from 'node:events';
import type { Job } from 'bullmq';
import { findItem } from '../deployments/engine.js';
import type { Catalogue, DeploymentService } from '../deployments/service.js';
import type { DeploymentStore, LoadedDeployment } from '../deployments/store.js';
import { serializeError } from '../observability/logger.js';
import { JobWorker, type JobWorkerOptions } from '../redis/job-queue.js';
import { CHECKS_QUEUE, type CheckJob } from './queue.js';
import { type CheckModules, type RunOptions, runCheck } from './runner.js';
import type { CheckContext } from './types.js';

/**
 * Runs checks from the `checks` queue: load the deployment, skip a run that is no longer current, run it
 * (saying it is running once it takes longer than a moment), and hand the verdict to the engine like any
 * other command. A worker killed mid-check loses its lock; BullMQ's stalled-job recovery gives the job to
 * another worker, and the engine accepts only the first result for a run, so it lands once.
 */

/** Shorter than the thread's update interval (1 s per message), so any check a reader could see running
 * is shown running. */
const STARTED_MARK_AFTER_MS = 250;

/** Verdicts of one deployment that land within this long are recorded in one write (a phase's checks
 * finish together); far below anything a reader of the thread could notice. */
const VERDICT_GATHER_MS = 5;

export interface CheckWorkerOptions extends JobWorkerOptions {
  store: DeploymentStore;
  deployments: DeploymentService;
  catalogue: Catalogue;
  modules: CheckModules;
  kube?: CheckContext['kube'];
  concurrency?: number;
  /** How long a job's lock lasts without renewal; a dead worker's job is recovered after about this long. */
  lockDurationMs?: number;
  run?: RunOptions;
  /** Told when a run has been running for STARTED_MARK_AFTER_MS, so the thread can show "running" (the
   * presenter); with the deployment as loaded before the run, so the listener need not load it again. */
  onStarted?: (job: CheckJob, loaded: LoadedDeployment) => void;
}

export class CheckWorker extends JobWorker<CheckJob> {
  private readonly shutdown = new AbortController();

  constructor(private readonly options: CheckWorkerOptions) {
    const lockDuration = options.lockDurationMs ?? 30_000;
    super(CHECKS_QUEUE, options, {
      concurrency: options.concurrency ?? 16,
      lockDuration,
      stalledInterval: Math.max(500, Math.floor(lockDuration / 2)),
      maxStalledCount: 2,
    });
    // Every running check listens for shutdown: as many listeners as the concurrency, which is fine.
    setMaxListeners(0, this.shutdown.signal);
    this.worker.on('failed', (job, error) => {
      options.logger.error({ job: job?.id, err: serializeError(error) }, 'check job failed');
    });
  }

  protected async process(job: Job<CheckJob>): Promise<void> {
    const { deploymentId, itemId, run } = job.data;
    const { store, deployments, catalogue, logger } = this.options;
    // What this process last saw usually already says the run is current (it committed the request), so
    // Redis is asked only when it does not. A run superseded since on another replica then still runs; its
    // verdict is refused as stale by the engine, like one that lands after a re-run.
    const isCurrent = (candidate: LoadedDeployment | undefined) => {
      const current = candidate?.state.items[itemId];
      return current?.status === 'running' && current.run === run;
    };
    const cached = store.cached(deploymentId);
    const loaded = isCurrent(cached) ? cached : await store.load(deploymentId);
    const found = loaded && findItem(loaded.checklist, itemId);
    if (!loaded || !found || found.item.kind !== 'check' || !isCurrent(loaded)) {
      return; // superseded (re-run, override, abort) while it waited: nothing to do
    }
    // Say "running" only for a check still running after a moment: the thread is updated at most once a
    // second per message, so a quicker check goes from queued to its verdict anyway, and skipping the
    // mark spares a Redis write per check (bench:checks). Sent on the store's connection, the mark still
    // lands before anything later on it (the thread's next render, the result's commit).
    let marking: Promise<unknown> | undefined;
    const markTimer = setTimeout(() => {
      marking = store.markCheckStarted(deploymentId, itemId, run).then(
        () => undefined,
        (error: unknown) => error ?? new Error('could not mark the check started'),
      );
      this.options.onStarted?.(job.data, loaded);
    }, STARTED_MARK_AFTER_MS);

    const service = catalogue.services[loaded.state.service];
    const result = await runCheck(
      this.options.modules,
      found.item.check,
      {
        namespace: service?.namespace ?? 'default',
        ...(service?.prometheus_url ? { prometheusUrl: service.prometheus_url } : {}),
        ...(service?.manifests_dir ? { manifestsDir: service.manifests_dir } : {}),
        ...(this.options.kube ? { kube: this.options.kube } : {}),
        now: this.now,
      },
      { now: this.now, ...this.options.run, signal: this.shutdown.signal },
    ).finally(() => clearTimeout(markTimer));
    if (this.shutdown.signal.aborted) {
      // Shutting down mid-check: give the job back rather than record a verdict we did not reach.
      throw new Error('worker shut down before the check finished');
    }
    const markFailed = await marking;
    if (markFailed) throw markFailed;
    const outcome = await deployments.execute(
      deploymentId,
      { type: 'check-result', itemId, run, result },
      { gatherMs: VERDICT_GATHER_MS },
    );
    // The commit that records the verdict also clears the run's started mark (DeploymentStore.commit).
    if (!outcome.ok && outcome.code !== 'unchanged') {
      logger.warn({ deploymentId, itemId, run, code: outcome.code }, 'check result not recorded');
    }
  }

  /** Stop taking jobs; let running checks finish (or, past `graceMs`, cancel them so their jobs are retried). */
  override async close(graceMs = 10_000): Promise<void> {
    const timer = setTimeout(() => this.shutdown.abort(), graceMs);
    try {
      await super.close();
    } finally {
      clearTimeout(timer);
    }
  }
}
