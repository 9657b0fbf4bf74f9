import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checklistSchema } from '../../../src/checklists/schema.js';
import { checkModules } from '../../../src/checks/index.js';
import { CheckQueue } from '../../../src/checks/queue.js';
import type { CheckModules } from '../../../src/checks/runner.js';
import { CheckWorker } from '../../../src/checks/worker.js';
import { serviceSchema } from '../../../src/config/schema.js';
import { DeploymentService } from '../../../src/deployments/service.js';
import { DeploymentStore } from '../../../src/deployments/store.js';
import { createLogger } from '../../../src/observability/logger.js';
import { queuePrefix } from '../../../src/redis/job-queue.js';
import { testConnections, uniquePrefix } from '../../support/redis.js';

/**
 * The checks' queue and worker on a real Redis, without Slack: a phase's checks are queued as it opens,
 * run through the registry the worker is given, and land through the engine stamped with the worker's
 * clock. (test/e2e/checks.test.ts covers the thread.)
 */

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

const checklist = checklistSchema.parse({
  id: 'checked',
  title: 'Checked release',
  phases: [
    {
      id: 'verify',
      title: 'Verify',
      items: [
        { id: 'up', kind: 'check', title: 'Port open', check: { type: 'tcp', host: '127.0.0.1', port: 9 } },
        {
          id: 'slow',
          kind: 'check',
          title: 'Slow port',
          check: { type: 'tcp', host: '127.0.0.1', port: 10, timeout: '100ms', retries: 1 },
        },
      ],
    },
  ],
});

/** The registry as production has it, with `tcp` answering from the spec's port: 9 opens, 10 hangs. */
const modules: CheckModules = {
  ...checkModules,
  tcp: (spec, context) =>
    spec.port === 9
      ? Promise.resolve({ outcome: 'passed', summary: `${spec.host}:${spec.port} open` })
      : new Promise((_, reject) => context.signal.addEventListener('abort', () => reject(new Error('hung')))),
};

describe('CheckQueue and CheckWorker', () => {
  const prefix = uniquePrefix('checkworker');
  const logger = createLogger({ level: 'silent' });
  const connections = testConnections();
  const connection = connections.open;
  let store: DeploymentStore;
  let deployments: DeploymentService;
  let queue: CheckQueue;
  let worker: CheckWorker;

  beforeAll(() => {
    store = new DeploymentStore(connection(), prefix);
    const catalogue = {
      services: {
        web: serviceSchema.parse({
          checklist: 'checked',
          channel: 'C0T',
          namespace: 'web',
          deployers: ['d'],
        }),
      },
      checklists: new Map([['checked', checklist]]),
    };
    deployments = new DeploymentService(store, catalogue, () => NOW);
    const options = () => ({ connection: connection(), prefix: queuePrefix(prefix), logger, now: () => NOW });
    queue = new CheckQueue(options());
    deployments.subscribe(queue);
    worker = new CheckWorker({
      ...options(),
      store,
      deployments,
      catalogue,
      modules,
      run: { backoffMs: 10 },
    });
  });

  afterAll(async () => {
    await worker?.close(1_000);
    await queue?.close();
    await connections.closeAll();
  });

  it('runs a phase’s checks once each and records their verdicts with the worker’s clock', async () => {
    const started = await deployments.start({ service: 'web', version: '1.0.0', actor: 'U0D' });
    if (!started.ok) throw new Error(started.message);
    const id = started.deployment.id;
    await expect
      .poll(async () => (await store.load(id))?.state.items.slow?.status, { timeout: 5_000 })
      .toBe('error');
    const items = (await store.load(id))?.state.items ?? {};
    expect(items.up).toMatchObject({ status: 'passed', run: 1 });
    expect(items.up?.result).toMatchObject({ outcome: 'passed', attempts: 1, at: NOW, durationMs: 0 });
    // The runner's timeout and the spec's retry apply, as for any check.
    expect(items.slow?.result).toMatchObject({
      outcome: 'error',
      summary: 'timed out after 100ms',
      attempts: 2,
    });
    expect(await queue.queue.getJobCounts('completed', 'failed')).toEqual({ completed: 2, failed: 0 });
  });
});
