import { type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Change, ChangeListener } from '../deployments/service.js';
import type { DeploymentStore } from '../deployments/store.js';
import type { Logger } from '../observability/logger.js';
import { serializeError } from '../observability/logger.js';
import { queueErrorListener } from '../redis/job-queue.js';
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

export class PagingQueue implements ChangeListener {
  readonly queue: Queue<PageJob>;

  constructor(
    private readonly connection: Redis,
    prefix: string,
    private readonly logger: Logger,
  ) {
    this.queue = new Queue<PageJob>(PAGING_QUEUE, {
      connection,
      prefix,
      defaultJobOptions: {
        attempts: 5,
        backoff: { type: 'exponential', delay: 2_000 },
        // Kept a week: a job id still present is what stops reconcile() from paging a level again.
        removeOnComplete: { age: 7 * 24 * 3_600, count: 10_000 },
        removeOnFail: { age: 7 * 24 * 3_600 },
      },
    });
    this.queue.on('error', queueErrorListener(logger, 'paging queue error'));
  }

  onChange(change: Change): void {
    const deploymentId = change.deployment.id;
    for (const event of change.events) {
      if (event.type === 'escalation.level' && event.page) {
        void this.page({
          deploymentId,
          key: event.key,
          chain: event.chain,
          action: 'trigger',
          level: event.level,
        });
      } else if (event.type === 'escalation.acknowledged' && event.paged) {
        void this.page({ deploymentId, key: event.key, chain: event.chain, action: 'acknowledge' });
      } else if (event.type === 'escalation.resolved' && event.paged) {
        void this.page({ deploymentId, key: event.key, chain: event.chain, action: 'resolve' });
      }
    }
  }

  /**
   * After a restart: the pages live chains called for (a no-op for those already queued or sent). A
   * process that died between committing a level and queueing its page would otherwise never send it.
   */
  async reconcile(store: DeploymentStore): Promise<void> {
    for (const deploymentId of await store.activeIds()) {
      const loaded = await store.load(deploymentId);
      if (!loaded) continue;
      const levels = loaded.state.escalationLevels ?? [];
      for (const [key, escalation] of Object.entries(loaded.state.escalations ?? {})) {
        const { chain } = escalation;
        for (let level = 1; level <= escalation.level; level++) {
          if (levels[level - 1]?.page)
            await this.page({ deploymentId, key, chain, action: 'trigger', level });
        }
        if (!escalation.paged) continue;
        if (escalation.acknowledgedBy) await this.page({ deploymentId, key, chain, action: 'acknowledge' });
        if (escalation.resolvedAt !== undefined)
          await this.page({ deploymentId, key, chain, action: 'resolve' });
      }
    }
  }

  private async page(job: PageJob): Promise<void> {
    const id = `${job.deploymentId}.page.${job.key.replaceAll(':', '~')}.${job.chain}.${job.action}${job.level ? `.${job.level}` : ''}`;
    await this.queue.add(job.action, job, { jobId: id }).catch((error: unknown) => {
      this.logger.error({ ...job, err: serializeError(error) }, 'could not enqueue page');
    });
  }

  async close(): Promise<void> {
    await this.queue.close();
    await this.connection.quit().catch(() => this.connection.disconnect());
  }
}

export class PagingWorker {
  readonly worker: Worker<PageJob>;

  constructor(
    private readonly connection: Redis,
    prefix: string,
    private readonly store: DeploymentStore,
    private readonly pager: Pager,
    private readonly logger: Logger,
  ) {
    this.worker = new Worker<PageJob>(PAGING_QUEUE, (job) => this.send(job), {
      connection,
      prefix,
      concurrency: 4,
    });
    this.worker.on('failed', (job, error) =>
      logger.error({ job: job?.id, err: serializeError(error) }, 'page not sent'),
    );
    this.worker.on('error', queueErrorListener(logger, 'paging worker error'));
  }

  private async send(job: Job<PageJob>): Promise<void> {
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

  async close(): Promise<void> {
    await this.worker.close();
    await this.connection.quit().catch(() => this.connection.disconnect());
  }
}
