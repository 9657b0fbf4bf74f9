import type { Job } from 'bullmq';
import type { Change } from '../deployments/service.js';
import type { DeploymentStore, LoadedDeployment } from '../deployments/store.js';
import type { Logger } from '../observability/logger.js';
import { serializeError } from '../observability/logger.js';
import {
  JobQueue,
  type JobQueueOptions,
  JobWorker,
  type JobWorkerOptions,
  type PlannedJob,
} from '../redis/job-queue.js';
import { describeEscalation } from './describe.js';
import type { PageAction, Pager } from './pager.js';

/**
 * Pages as BullMQ jobs: one per escalation chain, level and action, so a page goes out once per level
 * (the job id dedupes across processes and retries), and the matching acknowledge/resolve follows.
 */

export const PAGING_QUEUE = 'paging';

export interface PageJob {
  deploymentId: string;
  key: string;
  chain: number;
  action: PageAction;
  level?: number;
}

function pageJobId(job: PageJob): string {
  return `${job.deploymentId}.page.${job.key.replaceAll(':', '~')}.${job.chain}.${job.action}${job.level ? `.${job.level}` : ''}`;
}

const page = (data: PageJob): PlannedJob<PageJob> => ({ name: data.action, data });

export interface PagingQueueOptions extends JobQueueOptions {
  /** Where the pages go: with NoPager (no `paging:` in flightdeck.yaml) nothing is queued. */
  pager: Pager;
}

export class PagingQueue extends JobQueue<PageJob> {
  protected readonly couldNotAdd = 'could not enqueue page';
  private readonly pages: boolean;

  constructor(options: PagingQueueOptions) {
    super(PAGING_QUEUE, options, {
      attempts: 5,
      backoff: { type: 'exponential', delay: 2_000 },
      // Kept a week: a job id still present is what stops reconcile() from paging a level again.
      removeOnComplete: { age: 7 * 24 * 3_600, count: 10_000 },
      removeOnFail: { age: 7 * 24 * 3_600 },
    });
    this.pages = options.pager.pages;
  }

  protected jobId(job: PageJob): string {
    return pageJobId(job);
  }

  protected jobsForChange(change: Change): Array<PlannedJob<PageJob>> {
    if (!this.pages) return [];
    const deploymentId = change.deployment.id;
    return change.events.flatMap((event) => {
      if (event.type === 'escalation.level' && event.page)
        return [
          page({ deploymentId, key: event.key, chain: event.chain, action: 'trigger', level: event.level }),
        ];
      if (event.type === 'escalation.acknowledged' && event.paged)
        return [page({ deploymentId, key: event.key, chain: event.chain, action: 'acknowledge' })];
      if (event.type === 'escalation.resolved' && event.paged)
        return [page({ deploymentId, key: event.key, chain: event.chain, action: 'resolve' })];
      return [];
    });
  }

  /**
   * The pages live chains called for (a no-op for those already queued or sent): a process that died
   * between committing a level and queueing its page would otherwise never send it.
   */
  protected jobsForDeployment({ state }: LoadedDeployment): Array<PlannedJob<PageJob>> {
    if (!this.pages) return [];
    const deploymentId = state.id;
    const levels = state.escalationLevels ?? [];
    const jobs: Array<PlannedJob<PageJob>> = [];
    for (const [key, escalation] of Object.entries(state.escalations ?? {})) {
      const { chain } = escalation;
      for (let level = 1; level <= escalation.level; level++) {
        if (levels[level - 1]?.page) jobs.push(page({ deploymentId, key, chain, action: 'trigger', level }));
      }
      if (!escalation.paged) continue;
      if (escalation.acknowledgedBy) jobs.push(page({ deploymentId, key, chain, action: 'acknowledge' }));
      if (escalation.resolvedAt !== undefined)
        jobs.push(page({ deploymentId, key, chain, action: 'resolve' }));
    }
    return jobs;
  }
}

export interface PagingWorkerOptions extends JobWorkerOptions {
  store: DeploymentStore;
  pager: Pager;
}

export class PagingWorker extends JobWorker<PageJob> {
  private readonly store: DeploymentStore;
  private readonly pager: Pager;
  private readonly logger: Logger;

  constructor(options: PagingWorkerOptions) {
    super(PAGING_QUEUE, options, { concurrency: 4 });
    this.store = options.store;
    this.pager = options.pager;
    this.logger = options.logger;
    this.worker.on('failed', (job, error) =>
      options.logger.error({ job: job?.id, err: serializeError(error) }, 'page not sent'),
    );
  }

  protected async process(job: Job<PageJob>): Promise<void> {
    const { deploymentId, key, chain, action, level } = job.data;
    const loaded = await this.store.load(deploymentId);
    if (!loaded) return;
    const { state, checklist } = loaded;
    const escalation = state.escalations?.[key];
    if (action === 'trigger' && (escalation?.chain !== chain || escalation.resolvedAt !== undefined)) {
      // Its cause went away while this trigger waited (or was being retried): the resolve is sent, or
      // will be; a trigger arriving after it would open an incident nothing ever resolves.
      this.logger.info({ deploymentId, key, chain, level }, 'trigger dropped: escalation already resolved');
      return;
    }
    const what = describeEscalation(checklist, state, key);
    await this.pager.send({
      action,
      dedupKey: `flightdeck/${deploymentId}/${key}/${chain}`,
      summary: `${state.service} ${state.version}: ${what}${level ? ` (escalation level ${level})` : ''}`,
      source: `${state.service} (${state.environment})`,
      // `guard:<id>`: the stored escalation key of a rollback trigger (deployments/engine/escalations.ts).
      severity: key.startsWith('guard:') ? 'critical' : 'error',
      details: {
        deployment: deploymentId,
        service: state.service,
        version: state.version,
        cause: key,
        level,
        requested_by: state.requestedBy,
      },
    });
    this.logger.info({ deploymentId, key, chain, action, level }, 'page sent');
  }
}
