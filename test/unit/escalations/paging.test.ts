import { afterAll, describe, expect, it } from 'vitest';
import { checklistSchema } from '../../../src/checklists/schema.js';
import { serviceSchema } from '../../../src/config/schema.js';
import { DeploymentService } from '../../../src/deployments/service.js';
import { DeploymentStore } from '../../../src/deployments/store.js';
import { TimerQueue, TimerWorker } from '../../../src/deployments/timers.js';
import { NoPager } from '../../../src/escalations/none.js';
import type { Page, Pager } from '../../../src/escalations/pager.js';
import { PagingQueue, PagingWorker } from '../../../src/escalations/paging.js';
import { createLogger } from '../../../src/observability/logger.js';
import { queuePrefix } from '../../../src/redis/job-queue.js';
import { testConnections, uniquePrefix } from '../../support/redis.js';

/**
 * Escalation levels and their pages on a real Redis, without Slack: the timers climb a chain level by
 * level, a paging level queues one page, and the paging worker sends it through the pager — or, with
 * NoPager (no `paging:` in flightdeck.yaml), nothing is queued at all. (test/e2e/escalations.test.ts
 * covers the thread, PagerDuty and the webhook end to end.)
 */

const checklist = checklistSchema.parse({
  id: 'waiting',
  title: 'Waits for people',
  phases: [{ id: 'prep', title: 'Prep', items: [{ id: 'backup', kind: 'manual', title: 'Backup' }] }],
});

/** A pager that keeps what it was asked to send. */
class RecordingPager implements Pager {
  readonly pages = true;
  readonly sent: Page[] = [];
  async send(page: Page): Promise<void> {
    this.sent.push(page);
  }
}

const connections = testConnections();
const closing: Array<{ close(): Promise<void> }> = [];
afterAll(async () => {
  await Promise.all(closing.map((each) => each.close()));
  await connections.closeAll();
});

/** One process's worth: store, engine, timers and paging, on a prefix of its own. */
function start(pager: Pager) {
  const prefix = uniquePrefix('paging');
  const logger = createLogger({ level: 'silent' });
  const connection = connections.open;
  const store = new DeploymentStore(connection(), prefix);
  const deployments = new DeploymentService(store, {
    services: {
      db: serviceSchema.parse({ checklist: 'waiting', channel: 'C0T', namespace: 'db', deployers: ['d'] }),
    },
    checklists: new Map([['waiting', checklist]]),
    escalation: {
      levels: [
        { after: 100, notify: 'owner', page: false },
        { after: 300, notify: 'on-call', page: true },
      ],
    },
  });
  const options = () => ({ connection: connection(), prefix: queuePrefix(prefix), logger });
  const timers = new TimerQueue(options());
  const paging = new PagingQueue({ ...options(), pager });
  deployments.subscribe(timers);
  deployments.subscribe(paging);
  closing.push(
    new TimerWorker({ ...options(), deployments, timers }),
    new PagingWorker({ ...options(), store, pager }),
    timers,
    paging,
  );
  return { store, deployments, paging };
}

describe('PagingQueue and PagingWorker', () => {
  it('page once at the paging level, about the chain, through the pager', async () => {
    const pager = new RecordingPager();
    const { store, deployments, paging } = start(pager);
    const started = await deployments.start({ service: 'db', version: '2.0.0', actor: 'U0D' });
    if (!started.ok) throw new Error(started.message);
    const id = started.deployment.id;
    await expect.poll(() => pager.sent.length, { timeout: 5_000 }).toBe(1);
    expect(pager.sent[0]).toMatchObject({
      action: 'trigger',
      dedupKey: `flightdeck/${id}/phase:prep/1`,
      summary: 'db 2.0.0: “Prep” waits for “Backup” (escalation level 2)',
      source: 'db (production)',
      severity: 'error',
    });
    expect((await store.load(id))?.state.escalations?.['phase:prep']).toMatchObject({
      level: 2,
      paged: true,
    });
    expect(await paging.queue.getJobCounts('completed', 'failed')).toEqual({ completed: 1, failed: 0 });
  });

  it('queue nothing with NoPager: the chain climbs in Slack alone', async () => {
    const { store, deployments, paging } = start(new NoPager());
    const started = await deployments.start({ service: 'db', version: '2.0.0', actor: 'U0D' });
    if (!started.ok) throw new Error(started.message);
    const id = started.deployment.id;
    await expect
      .poll(async () => (await store.load(id))?.state.escalations?.['phase:prep']?.level, { timeout: 5_000 })
      .toBe(2);
    expect(await paging.queue.count()).toBe(0);
    expect(await paging.queue.getJobCounts('completed', 'failed')).toEqual({ completed: 0, failed: 0 });
  });
});
