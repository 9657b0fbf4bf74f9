import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceSchema } from '../../../src/config/schema.js';
import { DeploymentService } from '../../../src/deployments/service.js';
import { DeploymentStore } from '../../../src/deployments/store.js';
import { createLogger } from '../../../src/observability/logger.js';
import { queuePrefix } from '../../../src/redis/job-queue.js';
import { OperationQueue, OperationWorker } from '../../../src/traffic/operations.js';
import { smallChecklist } from '../../support/checklists.js';
import { testConnections, uniquePrefix } from '../../support/redis.js';

/**
 * The traffic operations' queue and worker on a real Redis: the engine asks for a rollback, a job carries
 * it out through the service's traffic strategy and the result goes back through the engine, stamped with
 * the worker's clock. Here the service has no strategy, so the rollback is the team's, by hand.
 * (test/e2e/traffic.test.ts covers strategies against a fake cluster.)
 */

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);

describe('OperationQueue and OperationWorker', () => {
  const prefix = uniquePrefix('operations');
  const logger = createLogger({ level: 'silent' });
  const connections = testConnections();
  const connection = connections.open;
  let clock = T0;
  const now = () => clock;
  let store: DeploymentStore;
  let deployments: DeploymentService;
  let queue: OperationQueue;
  let worker: OperationWorker;

  beforeAll(() => {
    store = new DeploymentStore(connection(), prefix);
    const catalogue = {
      services: {
        web: serviceSchema.parse({
          checklist: 'small',
          channel: 'C0T',
          namespace: 'web',
          deployers: ['deployer'],
        }),
      },
      checklists: new Map([['small', smallChecklist()]]),
    };
    deployments = new DeploymentService(store, catalogue, now);
    const options = () => ({ connection: connection(), prefix: queuePrefix(prefix), logger, now });
    queue = new OperationQueue(options());
    deployments.subscribe(queue);
    worker = new OperationWorker({
      ...options(),
      store,
      deployments,
      catalogue,
      kube: () => Promise.reject(new Error('no cluster in this test')),
    });
  });

  afterAll(async () => {
    await worker?.close();
    await queue?.close();
    await connections.closeAll();
  });

  it('carries out a rollback without a traffic strategy as one done by hand, stamped with its clock', async () => {
    const started = await deployments.start({ service: 'web', version: '1.0.0', actor: 'U0D' });
    if (!started.ok) throw new Error(started.message);
    const id = started.deployment.id;
    const requested = await deployments.execute(id, {
      type: 'request-rollback',
      actor: 'U0D',
      actorRoles: ['deployer'],
      reason: 'smoke tests fail',
      at: T0,
    });
    expect(requested.ok).toBe(true);
    clock = T0 + 1_000;
    await expect
      .poll(async () => (await store.load(id))?.state.rollback?.completedAt, { timeout: 5_000 })
      .toBe(T0 + 1_000);
    const { state } = (await store.load(id)) ?? {};
    expect(state?.rollback).toMatchObject({
      requestedAt: T0,
      reason: 'smoke tests fail',
      after: { description: 'no traffic strategy configured: rolled back by hand' },
    });
    expect(state?.operation).toBeUndefined();
    expect(await queue.queue.getJobCounts('completed', 'failed')).toEqual({ completed: 1, failed: 0 });
  });
});
