import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checklistSchema } from '../../../src/checklists/schema.js';
import { CheckQueue, checkJobId } from '../../../src/checks/queue.js';
import { serviceSchema } from '../../../src/config/schema.js';
import { DeploymentService } from '../../../src/deployments/service.js';
import { DeploymentStore, type LoadedDeployment } from '../../../src/deployments/store.js';
import { Sweeper } from '../../../src/deployments/sweep.js';
import { TimerQueue } from '../../../src/deployments/timers.js';
import { NoPager } from '../../../src/escalations/none.js';
import { PagingQueue } from '../../../src/escalations/paging.js';
import { createLogger } from '../../../src/observability/logger.js';
import { queuePrefix } from '../../../src/redis/job-queue.js';
import { RollbackTriggerQueue } from '../../../src/rollback-triggers/queue.js';
import { OperationQueue } from '../../../src/traffic/operations.js';
import { testConnections, uniquePrefix } from '../../support/redis.js';

/**
 * The periodic sweep (flightdeck.ts, deployments/sweep.ts) re-derives every effect's jobs from the stored
 * state. A round loads each open deployment once and hands it to all five effects — not once per effect.
 */

/** A real store that counts how often a deployment is loaded from Redis. */
class CountingStore extends DeploymentStore {
  loads = 0;
  override async load(id: string): Promise<LoadedDeployment | undefined> {
    this.loads++;
    return super.load(id);
  }
}

const checklist = checklistSchema.parse({
  id: 'checked',
  title: 'Checked release',
  phases: [
    {
      id: 'verify',
      title: 'Verify',
      items: [
        {
          id: 'port-open',
          kind: 'check',
          title: 'Port open',
          check: { type: 'tcp', host: '127.0.0.1', port: 9 },
        },
      ],
    },
  ],
  rollback: {
    triggers: [
      {
        id: 'errors',
        title: 'Errors',
        condition: { type: 'prometheus', query: 'x', comparator: '>', threshold: 0.05 },
        for: '1m',
      },
    ],
  },
});

const SERVICES = ['alpha', 'bravo', 'charlie'];

const connections = testConnections();
const connection = connections.open;

describe('the sweep', () => {
  const prefix = uniquePrefix('sweep');
  const logger = createLogger({ level: 'silent' });
  let store: CountingStore;
  let ids: string[];
  let effects: {
    checks: CheckQueue;
    operations: OperationQueue;
    timers: TimerQueue;
    triggers: RollbackTriggerQueue;
    paging: PagingQueue;
  };

  beforeAll(async () => {
    store = new CountingStore(connection(), prefix);
    const catalogue = {
      services: Object.fromEntries(
        SERVICES.map((name) => [
          name,
          serviceSchema.parse({ checklist: 'checked', channel: 'C0TEST', namespace: name, deployers: ['d'] }),
        ]),
      ),
      checklists: new Map([['checked', checklist]]),
    };
    // No effect listens to the changes: every job is missing, as if each add had failed.
    const deployments = new DeploymentService(store, catalogue);
    ids = [];
    for (const service of SERVICES) {
      const started = await deployments.start({ service, version: '1.0.0', actor: 'U0D' });
      if (!started.ok) throw new Error(started.message);
      ids.push(started.deployment.id);
    }
    const options = () => ({ connection: connection(), prefix: queuePrefix(prefix), logger });
    effects = {
      checks: new CheckQueue(options()),
      operations: new OperationQueue(options()),
      timers: new TimerQueue(options()),
      triggers: new RollbackTriggerQueue(options()),
      paging: new PagingQueue({ ...options(), pager: new NoPager() }),
    };
  });

  afterAll(async () => {
    await Promise.all(Object.values(effects ?? {}).map((effect) => effect.close()));
    await connections.closeAll();
  });

  it('loads each open deployment once per round, however many effects it serves', async () => {
    const sweeper = new Sweeper(store, Object.values(effects), logger);
    store.loads = 0;
    const round = await sweeper.round();
    expect(round?.active.map((loaded) => loaded.state.id).sort()).toEqual([...ids].sort());
    expect(store.loads).toBe(SERVICES.length); // five effects, one load each

    // A second round: again one load each, and the jobs it asks for again already exist.
    store.loads = 0;
    await sweeper.round();
    expect(store.loads).toBe(SERVICES.length);
  });

  it('re-derives a job that went missing', async () => {
    const job = { deploymentId: ids[0] as string, itemId: 'port-open', run: 1 };
    await effects.checks.queue.remove(checkJobId(job));
    expect(await effects.checks.queue.getJob(checkJobId(job))).toBeUndefined();
    await new Sweeper(store, Object.values(effects), logger).round();
    expect((await effects.checks.queue.getJob(checkJobId(job)))?.data).toEqual(job);
    // One job per running check, not one per round.
    expect(await effects.checks.queue.getJobCounts('waiting')).toEqual({ waiting: SERVICES.length });
  });
});
